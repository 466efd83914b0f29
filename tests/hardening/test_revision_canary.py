"""A revised paid report: the paragraph its correction removed and the one it added are
paid text like the rest of its body. The sweep of every URL, feeds and search included,
finds neither for a reader who may not read the body (while the public note of the
correction is there for them), nor in any email; entitled readers see both."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reports.models import Report
from reports.publishing import report_save
from tests.hardening import test_canary_sweep
from tests.hardening.conftest import PAID_BODY, PAID_FRAGMENTS, leaked
from tests.hardening.test_canary_sweep import NON_ENTITLED, _sweep_paths, sweep

OLD_CANARY = "Revision canary 0ld5: the Aurel idled at 14.2 W before the firmware."
NEW_CANARY = "Revision canary n3w9: the Aurel idles at 3.1 W after the firmware."
REVISION_FRAGMENTS = [OLD_CANARY, "0ld5", "14.2 W", NEW_CANARY, "n3w9", "3.1 W"]
NOTE = "Corrected the idle figure after the firmware update."


@pytest.fixture(autouse=True)
def _searches_unlimited(settings):
    """As in the canary sweep: its many searches from one address stay under no limit."""
    settings.SEARCH_LIMIT_PER_MINUTE = settings.SEARCH_LIMIT_PER_HOUR = 0


def _revise(paid: Report) -> Report:
    """A silent edit adding the old paragraph, then a correction replacing it."""
    now = timezone.now()
    paid.body = f"{PAID_BODY}\n{OLD_CANARY}\n"
    report_save(report=paid, now=now + timedelta(seconds=1))
    paid.body = f"{PAID_BODY}\n{NEW_CANARY}\n"
    paid.revision_note = NOTE
    return report_save(report=paid, revised=True, now=now + timedelta(seconds=2))


@pytest.fixture
def revised(world) -> Report:
    return _revise(world.paid)


@pytest.mark.parametrize("persona", NON_ENTITLED)
def test_no_revised_paragraph_reaches_a_reader_without_access(
    world, revised, persona_client, persona, monkeypatch
):
    # A subscriber's visit first fills every server-side cache the page uses (its parts, the
    # body, the rendered changes), so the readers below are served from them.
    assert NEW_CANARY in persona_client("subscriber").get(revised.get_absolute_url()).text
    client = persona_client(persona)
    page = client.get(revised.get_absolute_url()).content.decode()
    assert NOTE in page  # the public part of the update is there...
    assert not leaked(REVISION_FRAGMENTS + PAID_FRAGMENTS, page)  # ...and nothing of the text
    # The sweep of every URL and variant, looking for the revision's canaries as well.
    monkeypatch.setattr(test_canary_sweep, "PAID_FRAGMENTS", PAID_FRAGMENTS + REVISION_FRAGMENTS)

    requests, problems = sweep(client, _sweep_paths(world))

    assert requests > 0 and not problems, "\n".join(problems)


@pytest.mark.parametrize("persona", ["subscriber", "editor"])
def test_the_sweep_would_see_the_revised_paragraphs(world, revised, persona_client, persona):
    """Positive control: entitled readers get both versions of the changed paragraph."""
    page = persona_client(persona).get(revised.get_absolute_url()).content.decode()

    assert OLD_CANARY in page and NEW_CANARY in page and NOTE in page


def test_a_correction_sends_no_email_with_its_paragraphs(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    """Corrections announce nothing by email: everything after the saves' commits runs, and
    no message carries the changed text (new reports' emails: test_canary_sweep.py)."""
    with django_capture_on_commit_callbacks(execute=True):
        _revise(world.paid)

    for message in mailoutbox:
        text = message.message().as_bytes().decode(errors="replace")
        assert not leaked(REVISION_FRAGMENTS, text), message.subject
