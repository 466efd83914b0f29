"""Django's Redis cache backend, reusing one redis-py client per connection pool.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache call, and redis-py
fills a table of about 170 response callbacks each time: measured, that was a quarter of
the cost of serving a page from the page cache. A client is thread-safe (connections come
from its pool), so one per pool is kept and reused.
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[object, object] = {}

    def get_client(self, key: object = None, *, write: bool = False) -> object:
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: str, params: dict) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
