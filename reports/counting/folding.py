"""Folding: moving the day's counts from Redis into `ReportDayCount` rows.

No count may be lost or added twice, whatever runs at the same time or stops half way:

1. Claim. Each day's hash is renamed to a name of this fold's own (RENAME is atomic): views
   counted a moment later start a new hash, and two folds can never claim the same one.
2. Add. A claimed hash is added to the rows in one transaction that also records its name
   (`DayCountFold`, unique). A fold that crashed before committing left the hash in Redis
   and nothing in the database; one that crashed after committing left both, and the
   record says it was added.
3. Forget. The hash is deleted.

Every fold also takes up the claimed hashes it finds, its own and those others left, so a
crash is repaired by the next run, and two folds on the same hash end with one record and
one addition (the second waits on the unique key, then finds it taken).
"""

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import redis
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from redis.exceptions import ResponseError

from publisher.ids import parse_id
from reports.counting.store import (
    COUNTERS,
    DAY_PREFIX,
    FOLDING_PREFIX,
    KEEP_SECONDS,
    counting_client,
)
from reports.models import DayCountFold, Report, ReportDayCount

logger = logging.getLogger(__name__)

Counts = dict[str, int]


@dataclass
class FoldResult:
    hashes: int = 0
    counts: int = 0


def day_counts_add(*, day: date, counts: dict[int, Counts]) -> None:
    """Add `counts` (report id → counter → number) to the day's rows, creating missing rows.
    Reports that no longer exist are skipped. One statement per report, an UPSERT that adds
    to the stored numbers, so concurrent additions to the same row all count."""
    table = connection.ops.quote_name(ReportDayCount._meta.db_table)
    reports = connection.ops.quote_name(Report._meta.db_table)
    columns = ", ".join(COUNTERS)
    placeholders = ", ".join(["%s"] * len(COUNTERS))
    additions = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in COUNTERS)
    # The SELECT's WHERE also keeps SQLite from reading ON CONFLICT as part of a join. Only
    # names from the models and COUNTERS go into the text; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (report_id, day, {columns}) "  # noqa: S608
        f"SELECT id, %s, {placeholders} FROM {reports} WHERE id = %s "
        f"ON CONFLICT (report_id, day) DO UPDATE SET {additions}"
    )
    rows: list[list[date | int]] = [
        [day, *(numbers.get(name, 0) for name in COUNTERS), report_id]
        for report_id, numbers in sorted(counts.items())
        if any(numbers.values())
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _parse(values: dict[bytes | str, bytes | str]) -> dict[int, Counts]:
    counts: dict[int, Counts] = defaultdict(dict)
    for raw_field, raw_number in values.items():
        report_text, _, counter = _text(raw_field).partition(":")
        report_id = parse_id(report_text)
        number = parse_id(_text(raw_number))
        if report_id is None or counter not in COUNTERS or not number:
            logger.warning("Skipping a malformed count %r=%r", raw_field, raw_number)
            continue
        counts[report_id][counter] = counts[report_id].get(counter, 0) + number
    return counts


def _day_of(key: str) -> date | None:
    # counting:folding:<day>:<fold>
    try:
        return date.fromisoformat(key.removeprefix(FOLDING_PREFIX).split(":", 1)[0])
    except ValueError:
        return None


def _claim(client: redis.Redis, day_key: str) -> str | None:
    day = day_key.removeprefix(DAY_PREFIX)
    claimed = f"{FOLDING_PREFIX}{day}:{uuid.uuid4().hex}"
    try:
        client.rename(day_key, claimed)
    except ResponseError as error:
        # Another fold renamed it between our SCAN and now: it is that fold's.
        if "no such key" not in str(error).lower():
            raise
        return None
    return claimed


def claimed_hash_fold(client: redis.Redis, key: str) -> int:
    """Add one claimed hash to the database, once, and forget it. Returns the counts added
    (0 when another fold had added it)."""
    day = _day_of(key)
    values = client.hgetall(key)
    counts = _parse(values) if day is not None else {}
    added = 0
    if day is not None and counts:
        try:
            with transaction.atomic():
                DayCountFold.objects.create(key=key)
                day_counts_add(day=day, counts=counts)
            added = sum(sum(numbers.values()) for numbers in counts.values())
        except IntegrityError:
            logger.info("Counts %s were folded before", key)
    client.delete(key)
    return added


def _keys(client: redis.Redis, prefix: str) -> list[str]:
    return sorted(key.decode() for key in client.scan_iter(match=f"{prefix}*", count=500))


def day_counts_fold() -> FoldResult:
    """Fold every counted day into the database (see the module's docstring)."""
    result = FoldResult()
    client = counting_client()
    if client is None:
        return result
    for day_key in _keys(client, DAY_PREFIX):
        _claim(client, day_key)
    for key in _keys(client, FOLDING_PREFIX):
        result.hashes += 1
        result.counts += claimed_hash_fold(client, key)
    # A claimed hash outlives its claim by at most KEEP_SECONDS (its expiry), so records
    # older than twice that can no longer meet their hash.
    DayCountFold.objects.filter(
        folded_at__lt=timezone.now() - timedelta(seconds=2 * KEEP_SECONDS)
    ).delete()
    return result
