"""New-report notifications: recipients, the fan-out in batches, sending, and the sweep.

The fan-out writes one `DeliveryBatch` per SEND_BATCH_SIZE recipients (a range of their ids)
and enqueues a send task for each; that task inserts its range's `Delivery` rows, then
claims and sends them.

Exactly-once, as far as SMTP allows:
- `Delivery` is unique per (report, subscriber), and so is a batch per (report, first id):
  fanning out twice, or running a batch's task twice, inserts nothing new.
- A send task claims rows in a short transaction (`SELECT … FOR UPDATE SKIP LOCKED`, then
  status `sending` with its task id), so two tasks holding the same ids never both send one.
- Each row is marked `sent` right after the server accepted its message. A worker killed
  between those two steps leaves one row `sending` whose message may have gone out: that row,
  and only that row per killed task, can be sent twice. The Message-ID is derived from the
  Delivery id, so such a duplicate carries the same Message-ID (which many mailboxes fold).
  A crash of PostgreSQL itself can lose the last few hundred milliseconds of marks, whose
  messages then go out again (`_marks_without_flush` says why that trade is made).
- Nothing depends on broker messages surviving: `deliveries_requeue_stale` re-enqueues
  fan-outs that never finished, batches whose rows were never inserted, queued rows nobody
  sent, and claims left by dead workers.

Emails carry the teaser only. The report is loaded without its body, so the subscriber-only
text never reaches the template.
"""
