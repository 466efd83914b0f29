"""Folding: moving the day's counts from Redis into `ReportDayCount` rows, and seat holders'
reads into their month's `SeatMonthReads` row.

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
one addition (the second waits on the unique key, then finds it taken). A day's seat reads
travel in the same hash, so they are added in the same transaction as its report counts.
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

from accounts.models import OrganisationMember, SeatMonthReads
from publisher.ids import parse_id
from reports.counting.store import (
    COUNTERS,
    DAY_PREFIX,
    FOLDING_PREFIX,
    KEEP_SECONDS,
    SEAT_PREFIX,
    counting_client,
)
from reports.models import DayCountFold, Report, ReportDayCount

logger = logging.getLogger(__name__)

Counts = dict[str, int]
# (organisation id, user id) → reads
SeatReads = dict[tuple[int, int], int]

# Months of seat reads kept, the current one included: what the team's export shows.
SEAT_MONTHS_KEPT = 12


@dataclass
class FoldResult:
    hashes: int = 0
    counts: int = 0


@dataclass
class Parsed:
    reports: dict[int, Counts]
    seats: SeatReads

    @property
    def total(self) -> int:
        return sum(sum(numbers.values()) for numbers in self.reports.values()) + sum(
            self.seats.values()
        )


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


def seat_reads_add(*, month: date, reads: SeatReads) -> None:
    """Add `reads` to the seat holders' rows of `month` (its first day), creating missing
    rows. Only people who hold a seat in that organisation now are counted: a mark kept
    from before their seat ended, or an account gone, adds nothing. One UPSERT per holder,
    as for the day counts."""
    table = connection.ops.quote_name(SeatMonthReads._meta.db_table)
    seats = connection.ops.quote_name(OrganisationMember._meta.db_table)
    sql = (
        f"INSERT INTO {table} (organisation_id, user_id, month, reads) "  # noqa: S608
        f"SELECT organisation_id, user_id, %s, %s FROM {seats} "
        "WHERE organisation_id = %s AND user_id = %s "
        f"ON CONFLICT (organisation_id, user_id, month) DO UPDATE SET reads = {table}.reads + "
        "excluded.reads"
    )
    rows: list[list[date | int]] = [
        [month, number, organisation_id, user_id]
        for (organisation_id, user_id), number in sorted(reads.items())
        if number
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def seat_reads_prune(*, today: date) -> int:
    """Forget seat reads older than the SEAT_MONTHS_KEPT months up to `today`'s."""
    year, month = today.year, today.month - (SEAT_MONTHS_KEPT - 1)
    while month < 1:
        year, month = year - 1, month + 12
    deleted, _ = SeatMonthReads.objects.filter(month__lt=date(year, month, 1)).delete()
    return deleted


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _seat_of(name: str) -> tuple[int, int] | None:
    organisation_text, _, user_text = name.removeprefix(SEAT_PREFIX).partition(":")
    organisation_id, user_id = parse_id(organisation_text), parse_id(user_text)
    if organisation_id is None or user_id is None:
        return None
    return organisation_id, user_id


def _parse(values: dict[bytes | str, bytes | str]) -> Parsed:
    counts: dict[int, Counts] = defaultdict(dict)
    seats: SeatReads = defaultdict(int)
    for raw_field, raw_number in values.items():
        name = _text(raw_field)
        number = parse_id(_text(raw_number))
        if name.startswith(SEAT_PREFIX):
            seat = _seat_of(name)
            if seat is None or not number:
                logger.warning("Skipping a malformed count %r=%r", raw_field, raw_number)
                continue
            seats[seat] += number
            continue
        report_text, _, counter = name.partition(":")
        report_id = parse_id(report_text)
        if report_id is None or counter not in COUNTERS or not number:
            logger.warning("Skipping a malformed count %r=%r", raw_field, raw_number)
            continue
        counts[report_id][counter] = counts[report_id].get(counter, 0) + number
    return Parsed(reports=counts, seats=seats)


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
    parsed = _parse(values) if day is not None else Parsed(reports={}, seats={})
    added = 0
    if day is not None and parsed.total:
        try:
            with transaction.atomic():
                DayCountFold.objects.create(key=key)
                day_counts_add(day=day, counts=parsed.reports)
                seat_reads_add(month=day.replace(day=1), reads=parsed.seats)
            added = parsed.total
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
    seat_reads_prune(today=timezone.localdate())
    return result
