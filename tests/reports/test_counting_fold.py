"""Folding moves the counts from Redis into `ReportDayCount` rows by the site's day, adding to
what is there, and never loses or doubles a count: not when two folds run at once, not when
one stops half way, not when the same hash is seen twice."""

import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from reports.counting import folding
from reports.counting.store import FOLDING_PREFIX, counting_client, counts_add, day_key
from reports.models import DayCountFold, ReportDayCount
from tests.support.factories import ReportFactory

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


def _rows() -> dict[tuple[int, date], dict[str, int]]:
    return {
        (row.report_id, row.day): {
            name: getattr(row, name)
            for name in (
                "public_reads",
                "entitled_reads",
                "paywall_views",
                "checkouts_started",
                "subscriptions_paid",
                "gifts_opened",
            )
            if getattr(row, name)
        }
        for row in ReportDayCount.objects.all()
    }


def _paywall_view(report, times: int = 1) -> None:
    for _ in range(times):
        counts_add(report_id=report.pk, counters=("public_reads", "paywall_views"))


def test_counts_fold_into_the_sites_days(counting):
    report = ReportFactory()
    # 23:30 in New York is already the next day in UTC: the count belongs to December 3.
    with time_machine.travel(datetime(2026, 12, 3, 23, 30, tzinfo=NEW_YORK), tick=False):
        _paywall_view(report, 2)
    with time_machine.travel(datetime(2026, 12, 4, 0, 30, tzinfo=NEW_YORK), tick=False):
        counts_add(report_id=report.pk, counters=("entitled_reads",))
        result = counting.fold()

    assert _rows() == {
        (report.pk, date(2026, 12, 3)): {"public_reads": 2, "paywall_views": 2},
        (report.pk, date(2026, 12, 4)): {"entitled_reads": 1},
    }
    assert (result.hashes, result.counts) == (2, 5)
    assert counting.stored() == []


def test_a_fold_adds_to_the_days_row_and_a_second_fold_adds_nothing(counting):
    report = ReportFactory()
    _paywall_view(report, 3)
    counting.fold()
    _paywall_view(report, 2)
    counting.fold()
    counting.fold()

    assert list(_rows().values()) == [{"public_reads": 5, "paywall_views": 5}]


def test_counts_of_a_deleted_report_and_malformed_fields_are_dropped(counting):
    kept, gone = ReportFactory(), ReportFactory()
    _paywall_view(kept)
    _paywall_view(gone)
    gone_id = gone.pk
    gone.delete()
    key = counting.client.scan_iter(match="counting:day:*").__next__()
    counting.client.hset(key, mapping={"garbage": "1", "12:unknown": "3", f"{kept.pk}:x": "y"})

    counting.fold()

    assert [report_id for report_id, _ in _rows()] == [kept.pk]
    assert gone_id not in {row.report_id for row in ReportDayCount.objects.all()}
    assert counting.stored() == []


def test_a_fold_that_stopped_after_claiming_is_finished_by_the_next(counting, monkeypatch):
    report = ReportFactory()
    _paywall_view(report, 4)

    def crash(**kwargs):
        raise RuntimeError("the worker died")

    monkeypatch.setattr(folding, "day_counts_add", crash)
    with pytest.raises(RuntimeError):
        counting.fold()
    assert _rows() == {} and [k for k in counting.stored() if k.startswith(FOLDING_PREFIX)]
    _paywall_view(report)  # views go on meanwhile, into a new hash

    monkeypatch.undo()
    counting.fold()

    assert list(_rows().values()) == [{"public_reads": 5, "paywall_views": 5}]
    assert counting.stored() == []


def test_a_fold_that_stopped_after_committing_is_not_added_again(counting, monkeypatch):
    report = ReportFactory()
    _paywall_view(report, 4)

    def crash(*keys):
        raise ConnectionError("Redis went away before the delete")

    monkeypatch.setattr(counting_client(), "delete", crash)
    with pytest.raises(ConnectionError):
        counting.fold()
    monkeypatch.undo()
    assert list(_rows().values()) == [{"public_reads": 4, "paywall_views": 4}]

    counting.fold()

    assert list(_rows().values()) == [{"public_reads": 4, "paywall_views": 4}]
    assert counting.stored() == []


def test_a_hash_two_folds_claim_is_added_once(counting):
    """Fold A claimed a hash and read it; fold B, running meanwhile, finds the claimed hash
    and folds it; A then carries on with what it read: the record makes its addition fail."""
    report = ReportFactory()
    _paywall_view(report, 3)
    client = counting_client()
    claimed = folding._claim(client, day_key(timezone.localdate()))
    assert claimed is not None
    values = client.hgetall(claimed)

    counting.fold()  # fold B
    client.hset(claimed, mapping=values)  # A still holds what it read
    assert folding.claimed_hash_fold(client, claimed) == 0  # fold A

    assert list(_rows().values()) == [{"public_reads": 3, "paywall_views": 3}]
    assert DayCountFold.objects.filter(key=claimed).count() == 1


@pytest.mark.django_db(transaction=True)
def test_folds_running_at_once_with_views_arriving_lose_and_double_nothing(counting):
    report = ReportFactory()
    views_per_thread, threads = 200, 3
    start = threading.Barrier(threads * 2)

    def count() -> None:
        start.wait(timeout=10)
        _paywall_view(report, views_per_thread)

    def fold() -> None:
        start.wait(timeout=10)
        try:
            for _ in range(5):
                counting.fold()
        finally:
            connection.close()

    workers = [threading.Thread(target=count) for _ in range(threads)]
    workers += [threading.Thread(target=fold) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers)
    counting.fold()

    total = views_per_thread * threads
    assert list(_rows().values()) == [{"public_reads": total, "paywall_views": total}]
    assert counting.stored() == []


def test_old_fold_records_are_pruned(counting):
    with time_machine.travel(datetime(2026, 1, 1, 12, tzinfo=NEW_YORK), tick=False):
        DayCountFold.objects.create(key="counting:folding:2026-01-01:old")
    with time_machine.travel(datetime(2026, 3, 15, 12, tzinfo=NEW_YORK), tick=False):
        DayCountFold.objects.create(key="counting:folding:2026-03-14:recent")
        counting.fold()

    assert list(DayCountFold.objects.values_list("key", flat=True)) == [
        "counting:folding:2026-03-14:recent"
    ]


def test_the_command_folds_on_demand(counting, capsys):
    report = ReportFactory()
    _paywall_view(report, 2)

    call_command("fold_counts")

    assert "Folded 4 count(s) from 1 hash(es)." in capsys.readouterr().out
    assert list(_rows().values()) == [{"public_reads": 2, "paywall_views": 2}]


def test_the_command_says_when_counting_is_off(settings):
    settings.COUNTING_REDIS_URL = ""
    with pytest.raises(CommandError, match="COUNTING_REDIS_URL"):
        call_command("fold_counts")


def test_the_beat_task_folds(counting):
    from reports.tasks import fold_day_counts

    report = ReportFactory()
    _paywall_view(report)

    assert fold_day_counts.delay().get() == {"hashes": 1, "counts": 2}
