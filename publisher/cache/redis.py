"""Django's Redis cache backend, reusing one redis-py client per connection pool.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache call, and redis-py
fills a table of about 170 response callbacks each time: measured, that was a quarter of
the cost of serving a page from the page cache. A client is thread-safe (connections come
from its pool), so one per pool is kept and reused.
"""

from typing import Any

import redis
from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[object, redis.Redis] = {}

    def get_client(self, key: object = None, *, write: bool = False) -> redis.Redis:
        # Django's private helpers (typed in no stub): the pool for reads or for writes, and
        # the client class it would build.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: str, params: dict) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
