"""A crash while the database refuses writes: no event lost, none damaged, every one ended on MQTT.

The daemon runs on the person video (looped, real time) with SQLite held under ``BEGIN EXCLUSIVE``
by the test (or its PostgreSQL ``event`` table under ``LOCK TABLE``, in a schema of the test's own
on the test server); events start and end meanwhile (the ended ones cut their clip and snapshot); then
the main process is killed with SIGKILL (its children follow), the lock is released and the
daemon started again. Afterwards every ``new`` MQTT heard is a database row, every one has an
``end`` (those open at the kill from the next run), and the events that had ended before the kill
keep the clip and snapshot they had.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extras
import pytest

from tests.broker import Received, Subscriber, unique_prefix
from tests.integration.checks import clip_duration, db_events, event_clip, is_gone
from tests.integration.daemon import Daemon
from tests.integration.test_faults import GAP_S, check_aftermath, fault_config, open_on_mqtt
from tests.integration.test_mqtt_daemon import _events

pytestmark = pytest.mark.slow


def _kinds(messages: list[Received], kind: str, after: float = 0.0) -> list[dict[str, Any]]:
    """``kind`` events messages received at ``after`` (``time.monotonic()``) or later."""
    return [e for e in _events([m for m in messages if m.at >= after]) if e["type"] == kind]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Database:
    """The daemon's database as the test sees it: its event rows, and a lock that keeps the daemon from writing."""

    def __init__(self, sqlite_path: Path, url: str | None) -> None:
        self.sqlite_path, self.url = sqlite_path, url
        self._holder: Any = None

    def event_rows(self) -> list[dict[str, Any]]:
        if self.url is None:
            return db_events(self.sqlite_path)
        with psycopg2.connect(self.url) as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("SELECT * FROM event ORDER BY start_time")
            rows = [dict(row) for row in cur.fetchall()]
        conn.close()
        return rows

    def hold(self) -> None:
        if self.url is None:
            self._holder = sqlite3.connect(self.sqlite_path, isolation_level=None)
            self._holder.execute("BEGIN EXCLUSIVE")  # longer than the writer's 10 s busy timeout
        else:
            self._holder = psycopg2.connect(self.url)  # in a transaction until commit
            self._holder.cursor().execute("LOCK TABLE event IN ACCESS EXCLUSIVE MODE")

    def release(self) -> None:
        if self.url is None:
            self._holder.execute("COMMIT")
        else:
            self._holder.commit()
        self._holder.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    yield Database(tmp_path / "media" / "frigate.db", url)


def test_a_kill_9_while_the_database_is_held_loses_no_event_and_damages_none(
    tmp_path: Path, database: Database
) -> None:
    prefix = unique_prefix("crashdb")
    cfg = fault_config(tmp_path, prefix)
    cfg["cameras"]["demo"]["ffmpeg"]["inputs"][0]["input_args"] = "-re -stream_loop -1 -fflags +genpts"
    if database.url is not None:
        cfg["database"]["url"] = database.url
    daemon = Daemon(tmp_path, cfg)
    with Subscriber(prefix) as sub:
        daemon.start()
        try:
            first = sub.wait_for(lambda ms: _kinds(ms, "new"), 60, "a person event to start")[0]["after"]["id"]
            daemon.wait_for(lambda: any(r["id"] == first for r in database.event_rows()), 20, what="its row")
            database.hold()
            locked_at, locked_since = time.time(), time.monotonic()
            try:

                def ended_with_media() -> dict[str, tuple[str, float, str]]:
                    """Events ended during the lock whose clip and snapshot are on disk: id → (clip, s, jpg)."""
                    found = {}
                    for end in _kinds(sub.snapshot(), "end", locked_since):
                        clip = event_clip(daemon.clips_dir, "demo", end["after"]["id"])
                        jpg = daemon.clips_dir / f"demo-{end['after']['id']}.jpg"
                        if clip.exists() and jpg.exists():
                            found[end["after"]["id"]] = (_digest(clip), clip_duration(clip), _digest(jpg))
                    return found

                daemon.wait_for(ended_with_media, 90, interval=1, what="an event to end, clip and snapshot written")
                # one more event starts while the database is still held; killed while it is in progress
                seen = {e["after"]["id"] for e in _kinds(sub.snapshot(), "new")}
                sub.wait_for(
                    lambda ms: [e for e in _kinds(ms, "new") if e["after"]["id"] not in seen], 60, "another event"
                )
                ended = ended_with_media()
                stats = daemon.get_json("/api/stats")
                if database.url is None:  # SQLite refuses the writes; PostgreSQL keeps the writer waiting
                    assert not stats["service"]["health"]["events"]["ok"]
                children = [stats["demo"]["pid"], stats["demo"]["capture_pid"], stats["detectors"]["cpu"]["pid"]]
                daemon.kill()
                daemon.wait_for(lambda: all(is_gone(pid) for pid in children if pid), 15, what="the children to exit")
                before_restart = sub.snapshot()
                announced = {e["after"]["id"] for e in _kinds(before_restart, "new")}
                open_at_kill = open_on_mqtt(before_restart)
                assert open_at_kill, "no event was in progress at the kill"
                if database.url is None:  # (PostgreSQL's rows cannot be read under the lock)
                    assert {r["id"] for r in database.event_rows()} < announced  # the rest: in the spill file
            finally:
                database.release()

            restarted_at = time.time()
            daemon.start()
            daemon.wait_for(
                lambda: not open_on_mqtt(sub.snapshot()) & open_at_kill
                and {r["id"] for r in database.event_rows()} >= announced,
                60,
                what="recovery: every announced event in the DB, the ones open at the kill ended on MQTT",
            )
        finally:
            if daemon.proc is not None and daemon.proc.poll() is None:
                code, _ = daemon.terminate()
                assert code == 0
        messages = sub.snapshot()

    rows = {r["id"]: r for r in database.event_rows()}
    assert {e["after"]["id"] for e in _kinds(messages, "new")} == set(rows)  # MQTT new ids = DB rows
    ends = {e["after"]["id"]: e["after"] for e in _kinds(messages, "end")}
    assert set(ends) == set(rows)  # every new has its end
    for event_id in open_at_kill:  # ended by the next run, as stored
        after, row = ends[event_id], rows[event_id]
        assert after["end_time"] == pytest.approx(row["end_time"])
        assert (after["has_clip"], after["has_snapshot"]) == (bool(row["has_clip"]), bool(row["has_snapshot"]))
        assert after["false_positive"] == bool(row["false_positive"])
    assert ended, "no event ended during the lock"
    for event_id, (clip_digest, duration, jpg_digest) in ended.items():  # ended properly: nothing redone
        row = rows[event_id]
        assert row["has_clip"] and row["has_snapshot"], row
        assert row["end_time"] == pytest.approx(ends[event_id]["end_time"])
        clip, jpg = daemon.clips_dir / f"demo-{event_id}.mp4", daemon.clips_dir / f"demo-{event_id}.jpg"
        assert _digest(clip) == clip_digest and clip_duration(clip) == duration and _digest(jpg) == jpg_digest
    assert not (Path(cfg["paths"]["media_dir"]) / "events-backlog.jsonl").exists()  # replayed, then removed
    assert "was left open by a crash" in daemon.log()
    if database.url is None:  # (it reads the SQLite file)
        check_aftermath(daemon, messages, fault=(locked_at - GAP_S, restarted_at + 20), recovered=open_at_kill)
