"""/kinds/shootouts/ is what readers type after seeing "Shootouts" in the navigation: every
kind's plural (in any capitalisation) is a permanent redirect to the kind's page."""

import pytest

from reports.models import KIND_PLURALS, Report

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("shootouts", "shootout"),
        ("tests", "test"),
        ("investigations", "investigation"),
        ("guides", "guide"),
        ("shows", "show"),
        ("Shootouts", "shootout"),
        ("TESTS", "test"),
        ("Test", "test"),
        ("News", "news"),
    ],
)
def test_plurals_and_capitals_redirect_permanently_to_the_kind(client, typed, kind):
    response = client.get(f"/kinds/{typed}/")

    assert response.status_code == 301
    assert response["Location"] == f"/kinds/{kind}/"


def test_every_kinds_plural_is_covered(client):
    for kind, plural in KIND_PLURALS.items():
        response = client.get(f"/kinds/{plural.lower()}/")
        if plural.lower() == kind:
            assert response.status_code == 200  # news is its own plural
        else:
            assert response["Location"] == f"/kinds/{kind}/", plural


def test_the_page_number_survives_the_redirect(client):
    response = client.get("/kinds/tests/", {"page": "2", "utm_source": "x"})

    assert response["Location"] == "/kinds/test/?page=2"


def test_the_real_addresses_answer_directly(client):
    for kind in Report.Kind.values:
        assert client.get(f"/kinds/{kind}/").status_code == 200


@pytest.mark.parametrize("typed", ["nope", "testss", "shootout-s", "reports"])
def test_unknown_kinds_are_still_not_found(client, typed):
    assert client.get(f"/kinds/{typed}/").status_code == 404
