"""Absurdly long paths are refused with 414 before anything reads them
(publisher/url_length.py); every address of the site stays far below the limit."""

import pytest

from publisher.url_length import MAX_PATH_LENGTH
from tests.support.factories import ReportFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "prefix", ["/gift/", "/team/join/", "/newsletter/confirm/", "/newsletter/unsubscribe/"]
)
def test_a_token_longer_than_the_limit_answers_414_with_a_page(client, prefix):
    response = client.get(prefix + "t" * MAX_PATH_LENGTH + "/")
    assert response.status_code == 414
    assert b"Address too long" in response.content
    assert "no-store" in response["Cache-Control"]


def test_the_limit_counts_the_path_as_sent_percent_encoded(client):
    # 700 characters of three UTF-8 bytes each: 6,300 characters once percent-encoded.
    response = client.get("/gift/" + "€" * 700 + "/")
    assert response.status_code == 414


def test_a_path_just_under_the_limit_is_answered_as_usual(client):
    path = "/team/join/" + "t" * (MAX_PATH_LENGTH - len("/team/join//")) + "/"
    assert len(path) == MAX_PATH_LENGTH
    response = client.get(path)
    assert response.status_code == 400  # the invitation page, refusing a token it cannot read
    assert b"This invitation link is not valid." in response.content


def test_a_long_search_is_answered_by_the_search_form_not_refused(client):
    response = client.get("/search/", {"q": "w" * 5000})
    assert response.status_code == 200
    assert b"Please keep searches under" in response.content


def test_the_sites_own_addresses_are_not_refused(client):
    report = ReportFactory(slug="s" * 120)  # the longest slug a report may have
    assert client.get(f"/reports/{report.slug}/").status_code == 200
    assert client.get("/search/", {"q": "inverter efficiency " * 10}).status_code == 200
