"""The prod-like suites: faults and load on the production topology of `make prodlike`
(nginx, gunicorn with the production settings, a Celery worker and beat, an SMTP sink, the
fake Stripe). They take minutes, so `make test` leaves them out (marker `prodlike`);
`make test-prodlike` runs them and `.ci/run` calls it after `make test`.

Every suite builds its own topology (its own ports, database, Redis database and directory
under var/) and stops it afterwards, so they never touch `make prodlike`'s site."""

import pytest

# The topology of the cross-reader and load suites (nginx cache, load), built once a session.
from tests.prodlike.topology import load_topology  # noqa: F401


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/prodlike/" in str(item.path):
            item.add_marker(pytest.mark.prodlike)
