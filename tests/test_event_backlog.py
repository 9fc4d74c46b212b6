"""Event writes while the database refuses them: queued (spilled to disk past a bound), then landed, none lost.

Real SQLite held under ``BEGIN EXCLUSIVE`` by another connection, and the real PostgreSQL with
the writer's connection killed by the server.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import peewee as pw
import psycopg2
import pytest

from frigate_like.cameras.subscribers import EventsSubscriber
from frigate_like.config import CameraConfig, config_from_dict
from frigate_like.db import database, queries
from frigate_like.db.database import close_database, open_database
from frigate_like.events import backlog as backlog_module
from frigate_like.events.backlog import WriteBacklog
from frigate_like.events.processor import EventProcessor
from frigate_like.events.tracked import ObjectState
from frigate_like.messages import TrackedObject
from frigate_like.migrations import MIGRATIONS_DIR
from frigate_like.supervise import Supervisor
from tests.conftest import PG_DSN
from tests.registry_support import registry_with


@dataclass(frozen=True)
class DbSettings:
    path: Path
    url: str | None = None


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A locked SQLite answers "database is locked" after 0.2 s instead of 10 s; retries every 0.2 s."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)
    monkeypatch.setitem(database.SQLITE_PRAGMAS, "busy_timeout", 200)
    monkeypatch.setattr(backlog_module, "RETRY_INTERVAL", 0.2)


@pytest.fixture
def on_this_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes applied on the caller's thread: what the database holds is known when a call returns."""
    monkeypatch.setattr(backlog_module, "DRAIN_IN_BACKGROUND", False)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "frigate.db"
    db = open_database(DbSettings(path), MIGRATIONS_DIR)
    yield path
    close_database(db)


def camera(tmp_path: Path, model_path: Path, labelmap_path: Path) -> CameraConfig:
    cfg = config_from_dict(
        {
            "database": {"path": str(tmp_path / "unused.db")},
            "model": {"path": str(model_path), "labelmap_path": str(labelmap_path)},
            "objects": {"track": ["person"]},
            "cameras": {
                "front": {
                    "ffmpeg": {"inputs": [{"path": "rtsp://cam/x", "roles": ["detect"]}]},
                    "width": 640,
                    "height": 360,
                    "fps": 5,
                    "snapshots": {"enabled": False},
                }
            },
        }
    )
    return cfg.cameras["front"]


def person(start: float, n: int) -> ObjectState:
    box = (10, 10, 110, 210)
    tracked = TrackedObject(f"t{n}", "person", 0.9, box, 20000, (0, 0, 300, 300), (60, 110), start, True, 0)
    state = ObjectState(id=f"{start}-ev{n:04d}", camera="front", label="person", start_time=start, current=tracked)
    state.top_score, state.computed_score, state.false_positive = 0.9, 0.9, False
    return state


def wait_until(predicate: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def visit(processor: EventProcessor, start: float, n: int) -> ObjectState:
    state = person(start, n)
    processor.object_started(state)
    state.top_score = 0.95
    processor.object_updated(state, "frame")
    state.end_time = start + 3
    processor.object_ended(state)
    return state


def test_a_locked_sqlite_queues_events_and_they_land_when_it_is_released(
    sqlite_db: Path, tmp_path: Path, model_path: Path, labelmap_path: Path
) -> None:
    stop = threading.Event()
    supervisor = Supervisor(stop)
    health = supervisor.health("events")
    cam = camera(tmp_path, model_path, labelmap_path)
    spill = tmp_path / "spill.jsonl"
    processor = EventProcessor(tmp_path, queries, stop, spill_path=spill, health=health)
    registry_with([EventsSubscriber(processor, lambda _: None)], [cam])  # no clips role: no clip cache
    supervisor.health("events", processor.backlog)
    supervisor.spawn("events", processor.run)
    states = [visit(processor, 1_700_000_000.0, 0)]
    wait_until(lambda: (queries.get_event(states[0].id) or {}).get("end_time"), "event 0")

    holder = sqlite3.connect(sqlite_db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        states += [visit(processor, 1_700_000_100.0 + n, n) for n in range(1, 6)]
        wait_until(lambda: supervisor.stats()["events"]["backlog"], "a backlog")
        wait_until(lambda: not supervisor.stats()["events"]["ok"], "the events subsystem to report the refusal")
        stats = supervisor.stats()["events"]
        assert "database is locked" in stats["error"] and stats["restarts"] == 0  # refused, not crashed
        assert holder.execute("SELECT COUNT(*) FROM event").fetchone()[0] == 1
    finally:
        holder.execute("COMMIT")
        holder.close()
    wait_until(lambda: supervisor.stats()["events"]["backlog"] == 0, "the backlog to drain")
    wait_until(lambda: supervisor.stats()["events"]["ok"], "the events subsystem to be ok again")
    rows = {row["id"]: row for row in queries.list_events(limit=None)}
    assert set(rows) == {s.id for s in states}
    assert all(row["end_time"] == pytest.approx(s.start_time + 3) for s in states for row in [rows[s.id]])
    assert all(row["top_score"] == pytest.approx(0.95) for row in rows.values())
    stop.set()
    supervisor.join(5.0)
    assert supervisor.stats()["events"]["restarts"] == 0


@pytest.mark.usefixtures("on_this_thread")
def test_writes_past_the_bound_spill_to_disk_and_survive_a_restart(sqlite_db: Path, tmp_path: Path) -> None:
    spill = tmp_path / "spill.jsonl"
    holder = sqlite3.connect(sqlite_db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    writes = WriteBacklog(queries, spill, memory_limit=2)
    ids = [f"1700000000.{n}-abcdef" for n in range(5)]
    for n, event_id in enumerate(ids):
        writes.create(event_id, camera="front", label="person", start_time=1_700_000_000.0 + n, has_clip=False)
    writes.update(ids[4], end_time=1_700_000_010.0)
    assert len(writes) == 6
    assert len(spill.read_text().splitlines()) == 6  # every write on disk as it came; 2 of them in memory too
    writes.close(timeout=0)  # still locked at shutdown: the spill file has them all already
    assert len(spill.read_text().splitlines()) == 6
    holder.execute("COMMIT")
    holder.close()

    after_restart = WriteBacklog(queries, spill, memory_limit=2)
    assert len(after_restart) == 6
    assert after_restart.retry(force=True)
    assert not spill.exists()
    rows = queries.list_events(limit=None)
    assert sorted(row["id"] for row in rows) == ids
    assert [row["end_time"] for row in rows if row["id"] == ids[4]] == [1_700_000_010.0]


@pytest.mark.usefixtures("on_this_thread")
def test_postgres_dropping_the_connection_does_not_lose_or_delay_writes(pg_url: str, tmp_path: Path) -> None:
    db = open_database(DbSettings(tmp_path / "unused.db", pg_url), MIGRATIONS_DIR)
    try:
        writes = WriteBacklog(queries, tmp_path / "spill.jsonl")
        writes.create("1700000000.0-aaaaaa", camera="front", label="person", start_time=1_700_000_000.0)
        backend = db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
        with psycopg2.connect(PG_DSN) as admin, admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (backend,))
        admin.close()
        writes.update("1700000000.0-aaaaaa", end_time=1_700_000_005.0)
        assert len(writes) == 0  # the database re-made the killed connection and ran the write on it
        row = queries.get_event("1700000000.0-aaaaaa")
        assert row is not None and row["end_time"] == 1_700_000_005.0
    finally:
        close_database(db)


@pytest.mark.usefixtures("on_this_thread")
def test_a_write_that_can_never_succeed_is_dropped_not_retried_forever(sqlite_db: Path, tmp_path: Path) -> None:
    writes = WriteBacklog(queries, tmp_path / "spill.jsonl")
    writes.update("no-such-event", colour="red")  # a bug, not a refusal: ValueError
    assert len(writes) == 0
    with pytest.raises(pw.DoesNotExist):
        queries.Event.get_by_id("no-such-event")


def test_each_write_is_on_disk_when_the_call_returns_and_a_line_cut_by_a_crash_is_dropped(
    sqlite_db: Path, tmp_path: Path
) -> None:
    spill = tmp_path / "spill.jsonl"
    holder = sqlite3.connect(sqlite_db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        writes = WriteBacklog(queries, spill)  # its drain thread meets the lock
        writes.create("1700000000.0-aaaaaa", camera="front", label="person", start_time=1_700_000_000.0)
        writes.update("1700000000.0-aaaaaa", end_time=1_700_000_004.0)
        assert [json.loads(line)["op"] for line in spill.read_text().splitlines()] == ["create", "update"]
        assert [w.op for w in writes.pending()] == ["create", "update"]
        writes.close(timeout=0)  # nothing of a shutdown is needed: a kill here would leave the same file
        with spill.open("a") as torn:
            torn.write('{"op": "create", "id": "1700000009.0-cut')  # the crash cut the last line short
        after_crash = WriteBacklog(queries, spill)
        assert len(after_crash) == 2
        after_crash.create("1700000010.0-bbbbbb", camera="front", label="person", start_time=1_700_000_010.0)
        assert len(spill.read_text().splitlines()) == 3  # appended on a line of its own
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert after_crash.wait_drained(10)
    assert not spill.exists()
    rows = {row["id"]: row for row in queries.list_events(limit=None)}
    assert set(rows) == {"1700000000.0-aaaaaa", "1700000010.0-bbbbbb"}
    assert rows["1700000000.0-aaaaaa"]["end_time"] == 1_700_000_004.0
    after_crash.close()
