"""db/reconnect.py: lost PostgreSQL connections re-made on every thread, outages as 503s, the database's health."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import peewee as pw
import psycopg2
import pytest
from flask.testing import FlaskClient

from frigate_like.db import database, queries
from frigate_like.db.database import close_database, open_database
from frigate_like.db.reconnect import DatabaseUnavailable, DatabaseWatch
from frigate_like.errors import Unavailable
from frigate_like.migrations import MIGRATIONS_DIR
from frigate_like.supervise import Health
from tests.conftest import PG_DSN
from tests.pg_server import PrivatePostgres
from tests.test_api import client as client  # noqa: F401 - the fixture
from tests.test_db import DbSettings


def _terminate(pids: list[int]) -> None:
    conn = psycopg2.connect(PG_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        for pid in pids:
            cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    conn.close()


def test_a_killed_connection_is_remade_on_every_thread(pg_url: str, tmp_path: Path) -> None:
    db = open_database(DbSettings(tmp_path / "unused.db", pg_url), MIGRATIONS_DIR)
    health = Health("database")
    DatabaseWatch(db, health, threading.Event())  # feeds health from every statement
    try:
        queries.create_event("front", "person", 1_700_000_000.0, id="1700000000.0-aaaaaa")
        pids: list[int] = []
        results: list[Any] = []
        opened, killed = threading.Barrier(4), threading.Barrier(4)

        def reader() -> None:
            pids.append(db.execute_sql("SELECT pg_backend_pid()").fetchone()[0])  # its own connection
            opened.wait()
            killed.wait()
            try:
                results.append(len(queries.list_events()))
            except Exception as exc:  # the assertion below shows it
                results.append(exc)
            db.close()

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for thread in threads:
            thread.start()
        opened.wait()
        pids.append(db.execute_sql("SELECT pg_backend_pid()").fetchone()[0])
        _terminate(pids)
        killed.wait()
        for thread in threads:
            thread.join(10)
        assert results == [1, 1, 1]
        assert queries.get_event("1700000000.0-aaaaaa") is not None  # this thread too
        assert health.is_ok
    finally:
        close_database(db)


def test_a_transaction_cut_by_a_lost_connection_is_unavailable_and_the_next_statement_works(
    pg_url: str, tmp_path: Path
) -> None:
    db = open_database(DbSettings(tmp_path / "unused.db", pg_url), MIGRATIONS_DIR)
    try:
        queries.create_event("front", "person", 1_700_000_000.0, id="a", end_time=1_700_000_001.0)
        with pytest.raises(DatabaseUnavailable), db.atomic():
            queries.create_event("front", "person", 1_700_000_002.0, id="b", end_time=1_700_000_003.0)
            _terminate([db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]])
            queries.create_event("front", "person", 1_700_000_004.0, id="c", end_time=1_700_000_005.0)
        assert [row["id"] for row in queries.list_events()] == ["a"]  # none of the half transaction
        assert not db.in_transaction()
    finally:
        close_database(db)


@pytest.mark.parametrize("mode", ["fast", "immediate"])  # a restart, a crash
def test_a_stopped_server_is_unavailable_then_back_by_itself(tmp_path: Path, mode: str) -> None:
    server = PrivatePostgres()
    server.start()
    try:
        db = open_database(DbSettings(tmp_path / "unused.db", server.url), MIGRATIONS_DIR)
        health = Health("database")
        watch = DatabaseWatch(db, health, threading.Event())
        try:
            assert queries.list_events() == []
            server.stop(mode)
            with pytest.raises(Unavailable, match="database"):
                queries.list_events()
            with pytest.raises(pw.OperationalError):  # what the event writer's backlog queues on
                queries.create_event("front", "person", 1_700_000_000.0)
            assert not health.is_ok and "database" in str(health.snapshot()["error"])
            assert not watch.probe()
            server.start()
            assert watch.probe() and health.is_ok
            assert queries.list_events() == []
        finally:
            close_database(db)
    finally:
        server.close()


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A locked SQLite file fails in 0.2 s instead of 10 (requested before ``client`` opens the database)."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)
    monkeypatch.setattr(database, "SQLITE_PRAGMAS", {**database.SQLITE_PRAGMAS, "busy_timeout": 200})


def test_sqlite_locked_the_api_answers_503_with_a_detail_never_500(
    short_busy_timeout: None, client: FlaskClient, tmp_path: Path
) -> None:
    path = tmp_path / "frigate.db"  # test_api's client fixture: the real app on a real SQLite file
    queries.create_event("back", "person", 1_700_000_000.0, end_time=1_700_000_001.0)
    assert client.get("/api/events").status_code == 200
    queries.Event._meta.database.close()  # the test client runs on this thread: let the holder take the file
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")  # another program holds the file: nobody else may read
    holder.execute("BEGIN EXCLUSIVE")
    try:
        health = Health("database")
        watch = DatabaseWatch(queries.Event._meta.database, health, threading.Event())
        for path_ in ("/api/events", "/api/events/summary"):
            response = client.get(path_)
            assert response.status_code == 503, response.get_data(as_text=True)
            assert response.headers["Retry-After"] == "5"
            assert "database" in response.get_json()["detail"]
        assert not watch.probe() and not health.is_ok
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert client.get("/api/events").status_code == 200
    assert watch.probe() and health.is_ok
