"""First-party counting: what happens around each report, day by day, with no reader named
(but for one number a team licence's buyer sees: how many reports each seat holder read
through the seat each month, `SeatMonthReads`).

A report page carries a same-origin image (the reading mark, `marks.py`) whose address says
which report it is and how the access rule served it. The browser fetches it on every view,
whoever answered the page: Django, the page cache, the WSGI front, nginx or a CDN. Its view
(`views.py`) counts the view into Redis (`store.py`) in one round trip and writes nothing to
the database; `folding.py` moves the counts into `ReportDayCount` rows periodically.
Checkouts started from a paywall and the subscriptions paid from them arrive through
`accounts`' signals (`receivers.py`).
"""
