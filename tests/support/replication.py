"""A real PostgreSQL primary and its streaming replica on loopback, for the replica's tests.

`replica_pair` (one per session) makes a fresh primary cluster with the machine's `initdb`,
migrates a template database on it (`manage.py migrate`), then makes a standby of it with
`pg_basebackup -R`, so the standby starts with the schema, and waits until the primary lists
it as streaming.

`replicated` (per test) gives the test a database made afresh from that template, waits
until the standby has replayed it, and points Django's `default` alias at the primary and a
`replica` alias at the standby, with the router installed, as `DATABASE_REPLICA_URL` would
in production. The test's writes commit (replication only ships committed transactions);
the next test's database is a new copy, so none leaks into another. It also undoes what a
test did to the standby (replay paused, the server stopped).
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import psycopg
import pytest
from django.db import connections

from publisher.replica import REPLICA_ALIAS, replica_health_forget
from tests.support.integration_fixtures import ROOT, PrivatePostgres
from tests.support.waiting import wait_until

DATABASE = "publisher"
TEMPLATE = "publisher_template"


@dataclass
class ReplicaPair:
    primary: PrivatePostgres
    standby: PrivatePostgres

    def sql(self, server: PrivatePostgres, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(server.url(), autocommit=True, connect_timeout=5) as connection:
            cursor = connection.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def streaming(self) -> bool:
        rows = self.sql(self.primary, "SELECT count(*) FROM pg_stat_replication WHERE state = %s",
                        ("streaming",))  # fmt: skip
        return rows[0][0] > 0

    def wait_streaming(self) -> None:
        wait_until(self.streaming, timeout=60, message="the standby to stream from the primary")

    def replayed(self) -> bool:
        """Whether the standby has replayed everything the primary has written so far."""
        (position,) = self.sql(self.primary, "SELECT pg_current_wal_insert_lsn()::text")[0]
        rows = self.sql(self.standby, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (position,))
        return bool(rows[0][0])

    def wait_replayed(self) -> None:
        wait_until(self.replayed, timeout=30, message="the standby to replay the primary's writes")

    def pause_replay(self) -> None:
        self.sql(self.standby, "SELECT pg_wal_replay_pause()")
        wait_until(
            lambda: (
                self.sql(self.standby, "SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused"
            ),
            timeout=30,
            message="the standby's replay to pause",
        )

    def resume_replay(self) -> None:
        self.sql(self.standby, "SELECT pg_wal_replay_resume()")

    def standby_running(self) -> bool:
        try:
            self.sql(self.standby, "SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def fresh_database(self) -> None:
        """Undo what the last test did to the standby, then a new copy of the template."""
        if not self.standby_running():
            self.standby.start()
        self.resume_replay()
        self.wait_streaming()
        self.sql(self.primary, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        self.sql(self.primary, f"CREATE DATABASE {DATABASE} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")
        self.wait_replayed()


def _migrate_template(primary: PrivatePostgres) -> None:
    """The schema (and the rows migrations write) in the primary's template database, by
    the project's own migrations: Django's test runner makes its test databases on the
    suite's server, never here."""
    ReplicaPair(primary, primary).sql(primary, f"CREATE DATABASE {TEMPLATE}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "publisher.settings_test",
            "DATABASE_URL": primary.url(TEMPLATE),
        },
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def replica_pair() -> Iterator[ReplicaPair]:
    primary = PrivatePostgres()
    standby: PrivatePostgres | None = None
    try:
        primary.start()
        _migrate_template(primary)
        standby = PrivatePostgres(standby_of=primary)
        standby.start()
        pair = ReplicaPair(primary, standby)
        pair.wait_streaming()
        yield pair
    finally:
        if standby is not None:
            standby.destroy()
        primary.destroy()


@contextmanager
def _aliases_on(pair: ReplicaPair) -> Iterator[None]:
    """`default` on the pair's primary and `replica` on its standby, then back."""
    saved = connections.settings["default"]
    on_primary = {**saved, "HOST": "127.0.0.1", "PORT": pair.primary.port, "NAME": DATABASE,
                  "USER": "postgres", "PASSWORD": ""}  # fmt: skip
    on_standby = {**on_primary, "PORT": pair.standby.port,
                  "OPTIONS": {**saved.get("OPTIONS", {}), "connect_timeout": 2},
                  "TEST": {**saved["TEST"], "MIRROR": "default"}}  # fmt: skip

    def reconnect() -> None:
        for alias in ("default", REPLICA_ALIAS):
            with suppress(AttributeError):
                with suppress(Exception):
                    connections[alias].close()
                del connections[alias]

    reconnect()
    connections.settings["default"] = on_primary
    connections.settings[REPLICA_ALIAS] = on_standby
    try:
        yield
    finally:
        reconnect()
        connections.settings["default"] = saved
        del connections.settings[REPLICA_ALIAS]


@pytest.fixture
def replicated(replica_pair, django_db_blocker, settings) -> Iterator[ReplicaPair]:
    replica_pair.fresh_database()
    settings.DATABASE_ROUTERS = ["publisher.replica.ReplicaRouter"]
    replica_health_forget()
    try:
        with django_db_blocker.unblock(), _aliases_on(replica_pair):
            yield replica_pair
    finally:
        replica_health_forget()
