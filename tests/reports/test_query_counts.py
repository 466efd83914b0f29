"""Every reading page costs a fixed number of queries, whatever the amount of data: the
same bound holds for 1 and 200 reports, and for 0 and 50 citations."""

import pytest
from django.urls import reverse

from accounts.organisations.networks import office_organisation_id_for

# (name, persona, url builder, bound), the bounds as measured. A subscriber's pages also
# look up the session, the user and the membership (3 queries). Search sets one planner
# option around its queries and resets it (2; reports/search.py, `_matching_through_the_index`)
# and runs three of its own: the public-text matches, the body matches (which
# ask nothing past the cap), the page's reports with their snippets.
# A logged-in reader's header and newsletter box ask whether they may read every report (the
# membership and the seat, shared with the page's own access checks) and for their newsletter
# row (1): reports/context_processors.py. A report page's header names the reports it cites
# that were updated since it was published (1, reports/revisions/selectors.py). An entitled
# reader's report page and search refresh the reader's card for the shared page's hits that
# follow, which cost none (1: reports/reader_cards.py, reports/entitled_page.py).
PAGES = [
    ("home", "anonymous", lambda t, topic, a: reverse("reports:home"), 3),
    ("home", "free_reader", lambda t, topic, a: reverse("reports:home"), 7),
    ("home", "subscriber", lambda t, topic, a: reverse("reports:home"), 6),
    ("report", "anonymous", lambda t, topic, a: t.get_absolute_url(), 5),
    ("report", "free_reader", lambda t, topic, a: t.get_absolute_url(), 9),
    ("report", "subscriber", lambda t, topic, a: t.get_absolute_url(), 10),
    ("topic", "anonymous", lambda t, topic, a: reverse("reports:topic", args=[topic.slug]), 3),
    ("kind", "anonymous", lambda t, topic, a: reverse("reports:kind", args=[t.kind]), 2),
    ("kind plural", "anonymous", lambda t, topic, a: f"/kinds/{t.kind}s/", 0),  # a redirect
    ("author", "anonymous", lambda t, topic, a: reverse("reports:author", args=[a.slug]), 3),
    ("search", "anonymous", lambda t, topic, a: reverse("reports:search") + "?q=inverter", 6),
    ("search", "subscriber", lambda t, topic, a: reverse("reports:search") + "?q=inverter", 9),
    (
        "search filtered",
        "anonymous",
        lambda t, topic, a: f"{reverse('reports:search')}?q=inverter&kind=test&topic={topic.slug}",
        7,
    ),
    ("rss", "anonymous", lambda t, topic, a: reverse("reports:feed"), 1),
    ("atom", "anonymous", lambda t, topic, a: reverse("reports:atom"), 1),
    (
        "topic rss",
        "anonymous",
        lambda t, topic, a: reverse("reports:topic-feed", args=[topic.slug]),
        2,
    ),
    (
        "topic atom",
        "anonymous",
        lambda t, topic, a: reverse("reports:topic-atom", args=[topic.slug]),
        2,
    ),
    ("kind rss", "anonymous", lambda t, topic, a: reverse("reports:kind-feed", args=[t.kind]), 1),
    ("kind atom", "anonymous", lambda t, topic, a: reverse("reports:kind-atom", args=[t.kind]), 1),
    # The site pages' section (About, Contact…) counts and lists its items: 2 more.
    ("sitemap", "anonymous", lambda t, topic, a: reverse("reports:sitemap"), 9),
    ("robots", "anonymous", lambda t, topic, a: reverse("reports:robots"), 0),
]


@pytest.fixture(autouse=True)
def _office_table_loaded():
    # Each process loads the office ranges' table once (accounts/organisations/networks.py),
    # with whichever request comes first: not a query of the page measured.
    office_organisation_id_for("192.0.2.1")


@pytest.mark.parametrize(("reports", "citations"), [(1, 0), (200, 0), (200, 50)])
@pytest.mark.parametrize(
    ("name", "persona", "url", "bound"), PAGES, ids=[f"{p[0]}-{p[1]}" for p in PAGES]
)
def test_page_queries_are_bounded(
    request, client_for, corpus, django_assert_max_num_queries,
    reports, citations, name, persona, url, bound,
):  # fmt: skip
    target, topic, author = corpus(reports=reports, citations=citations)
    client = client_for(request.getfixturevalue(persona))

    with django_assert_max_num_queries(bound):
        response = client.get(url(target, topic, author))

    assert response.status_code == (301 if name == "kind plural" else 200)
