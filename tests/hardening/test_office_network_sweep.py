"""The canary sweep from an organisation's office network, as gunicorn receives it from
nginx (the client address is the X-Forwarded-For entry nginx appended).

From the licensed range, anonymous and as a free reader, the paid bodies are readable (that
is the licence) but never a comment, a draft or anything that needs an account; from the
neighbouring address, and when a reader there forges the office address in their own
X-Forwarded-For, the sweep finds nothing at all. tests/prodlike/test_office_network.py runs
the same readers through nginx.
"""

import pytest
from django.test import Client

from accounts.organisations.networks import office_networks_forget, organisation_network_add
from tests.hardening.conftest import GIFT_FRAGMENTS, PAID_FRAGMENTS, World
from tests.hardening.test_canary_sweep import _sweep_paths, sweep
from tests.reports.conftest import CANARY
from tests.support.figures import record

OFFICE = "198.51.100.23"
NEIGHBOUR = "198.51.100.24"
MARKER = "Reading through Acme Integrators"


@pytest.fixture(autouse=True)
def _searches_unlimited(settings):
    """As in the canary sweep: more searches than one address may run."""
    settings.SEARCH_LIMIT_PER_MINUTE = settings.SEARCH_LIMIT_PER_HOUR = 0


@pytest.fixture
def office(world: World) -> World:
    office_networks_forget()
    organisation_network_add(organisation=world.organisation, cidr=f"{OFFICE}/32")
    yield world
    office_networks_forget()


def _client(address: str, *, forged: str | None = None, user=None) -> Client:
    chain = f"{forged}, {address}" if forged else address
    client = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=chain)
    client.raise_request_exception = False
    if user is not None:
        client.force_login(user)
    return client


def _readable(problem: str) -> bool:
    """A paid body is what the office licence opens; anything else is still a leak."""
    return any(repr(fragment) in problem for fragment in PAID_FRAGMENTS + GIFT_FRAGMENTS)


@pytest.mark.parametrize("persona", ["anonymous", "free_reader"])
def test_from_the_office_the_paid_reports_read_and_nothing_else(office, request, persona):
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    client = _client(OFFICE, user=user)
    page = client.get(office.paid.get_absolute_url())
    assert CANARY in page.content.decode() and MARKER in page.content.decode()

    requests, problems = sweep(client, _sweep_paths(office))

    unexpected = [problem for problem in problems if not _readable(problem)]
    assert not unexpected, "\n".join(unexpected)
    assert any(_readable(problem) for problem in problems), "the office read no paid body"
    record(
        f"office-network sweep as {persona} from the licensed range: {requests} requests, "
        f"paid bodies readable, 0 comments, drafts or 500s"
    )


@pytest.mark.parametrize(("address", "forged"), [(NEIGHBOUR, None), (NEIGHBOUR, OFFICE)])
def test_from_the_neighbouring_address_the_sweep_finds_nothing(office, address, forged):
    requests, problems = sweep(_client(address, forged=forged), _sweep_paths(office))

    assert not problems, "\n".join(problems)
    how = "forging the office in X-Forwarded-For" if forged else "anonymous"
    record(
        f"office-network sweep from the neighbouring address, {how}: {requests} requests, 0 leaks"
    )
