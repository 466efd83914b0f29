"""Counting against the real Redis of the tests (TEST_REDIS_URL): `counting` points
COUNTING_REDIS_URL at it with none of the counting keys left from anything else, and reads
back what a request counted (`counting.today()`, `counting.fold()`)."""

import os
from dataclasses import dataclass

import pytest
import redis
from django.utils import timezone

from reports.counting.folding import day_counts_fold
from reports.counting.store import DAY_PREFIX, FOLDING_PREFIX, day_key

# A browser's user agent: the test client sends none, and counting ignores requests without.
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@dataclass
class Counting:
    client: redis.Redis

    def today(self) -> dict[str, int]:
        """What is waiting in Redis for today: {"<report id>:<counter>": number}."""
        values = self.client.hgetall(day_key(timezone.localdate()))
        return {name.decode(): int(number) for name, number in values.items()}

    def stored(self) -> list[str]:
        return sorted(
            key.decode()
            for prefix in (DAY_PREFIX, FOLDING_PREFIX)
            for key in self.client.scan_iter(match=f"{prefix}*")
        )

    def fold(self):
        return day_counts_fold()

    def clear(self) -> None:
        for key in self.stored():
            self.client.delete(key)


@pytest.fixture
def counting(settings):
    url = os.environ["TEST_REDIS_URL"]
    settings.COUNTING_REDIS_URL = url
    found = Counting(redis.Redis.from_url(url))
    found.clear()
    yield found
    found.clear()
