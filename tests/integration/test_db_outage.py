"""PostgreSQL going away under a running daemon: its backends killed, then the server stopped for 10 s.

On a server of the test's own (tests/pg_server.py), never the shared one. While the database is
away the API answers 503 with a JSON detail (never 500) and ``service.health.database`` is not ok;
once it is back, /api/events and /api/<camera>/recordings answer 200 within a few seconds, the
recording maintainer moves segments again, health is ok again, and every event announced on MQTT
(``new``) has its row: nothing was lost.
"""

from __future__ import annotations

import json
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.broker import Subscriber, unique_prefix
from tests.integration.daemon import Daemon, demo_config
from tests.integration.test_mqtt_daemon import _events, _mqtt
from tests.pg_server import PrivatePostgres

pytestmark = pytest.mark.slow

RECORD_ARGS = "-f segment -segment_time 2 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c:v copy -an"
OUTAGE_S = 10.0
RECOVERY_S = 5.0  # the brief's bound: everything resumes within this of the database's return
ENDPOINTS = ("/api/events", "/api/demo/recordings")
# every read of the database, checked while it is away: 503 with a detail, never 500 (or a 404 for an event)
WHILE_AWAY = (*ENDPOINTS, "/api/events/summary", "/api/events/1700000000.0-nosuch/thumbnail.jpg")


@pytest.fixture
def pg() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.close()


def status_of(daemon: Daemon, path: str) -> tuple[int, Any]:
    """(HTTP status, JSON body) of a GET, errors included."""
    try:
        return 200, json.loads(daemon.get(path, timeout=15))
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, body.decode(errors="replace")


def db_health(daemon: Daemon) -> dict[str, Any]:
    return dict(daemon.get_json("/api/stats")["service"]["health"]["database"])


def recording_rows(pg: PrivatePostgres) -> int:
    return int(pg.query("SELECT count(*) FROM recordings")[0][0])  # type: ignore[call-overload]


def all_answer(daemon: Daemon) -> bool:
    return all(status_of(daemon, path)[0] == 200 for path in ENDPOINTS)


def test_postgres_killed_and_stopped_under_the_daemon(tmp_path: Path, pg: PrivatePostgres) -> None:
    prefix = unique_prefix("dbout")
    cfg = demo_config(tmp_path, loop=True, fps=5)
    cfg["database"] = {"url": pg.url, "path": str(tmp_path / "unused.db")}
    cfg["mqtt"] = _mqtt(prefix, 1883)
    cam = cfg["cameras"]["demo"]
    cam["ffmpeg"]["inputs"][0]["roles"] = ["detect", "clips", "record"]
    cam["ffmpeg"]["output_args"] = {"record": RECORD_ARGS}
    cam["record"] = {"enabled": True}
    daemon = Daemon(tmp_path, cfg)
    with Subscriber(prefix) as sub:
        daemon.start()
        try:
            daemon.wait_for(lambda: recording_rows(pg) >= 2, 40, what="the first recordings")
            assert all_answer(daemon) and db_health(daemon)["ok"]

            # 1. every backend of the daemon killed: the next statement of each thread reconnects
            assert pg.terminate_backends() >= 1
            killed_at = time.monotonic()
            daemon.wait_for(lambda: all_answer(daemon), RECOVERY_S, 0.2, "the API after pg_terminate_backend")
            rows = recording_rows(pg)
            daemon.wait_for(lambda: recording_rows(pg) > rows, 15, what="segments moved after the kill")
            assert db_health(daemon)["ok"], db_health(daemon)
            assert time.monotonic() - killed_at < 20

            # 2. the server stopped for OUTAGE_S: 503 with a detail, health not ok, never a 500
            rows = recording_rows(pg)
            pg.stop()
            stopped_at = time.monotonic()
            health_down = None
            while time.monotonic() - stopped_at < OUTAGE_S:
                for path in WHILE_AWAY:
                    status, body = status_of(daemon, path)
                    assert status == 503, (path, status, body)
                    assert isinstance(body, dict) and "database" in body["detail"], body
                health = db_health(daemon)
                if not health["ok"]:
                    health_down = health
                time.sleep(0.5)
            assert health_down is not None and "database" in str(health_down["error"]), health_down
            assert not db_health(daemon)["ok"]

            # 3. back: the API, health and the maintainer resume by themselves within RECOVERY_S
            pg.start()
            back_at = time.monotonic()
            daemon.wait_for(lambda: all_answer(daemon), RECOVERY_S, 0.2, "the API after the server's return")
            api_back = time.monotonic() - back_at
            daemon.wait_for(lambda: db_health(daemon)["ok"], RECOVERY_S, 0.2, "health ok after the return")
            # segments closed during the outage waited in the cache and now land
            daemon.wait_for(lambda: recording_rows(pg) > rows + 2, RECOVERY_S + 5, 0.5, "the cached segments")
            assert api_back < RECOVERY_S
            print(f"API back {api_back:.2f} s after PostgreSQL started")  # noqa: T201 - the figure, in -s runs

            # 4. no event lost: every MQTT ``new`` has its row (queued writes land within the backlog's retry)
            def same_events() -> bool:
                news = {e["after"]["id"] for e in _events(sub.snapshot()) if e["type"] == "new"}
                stored = {str(row[0]) for row in pg.query("SELECT id FROM event")}
                return bool(news) and news == stored

            daemon.wait_for(same_events, 15, what="MQTT new ids == database rows")
        finally:
            code, _ = daemon.terminate()
    log = daemon.log()
    assert code == 0, log[-3000:]
    assert "recording retention failed" not in log and "recording maintenance failed" not in log, log[-3000:]
    assert "connection already closed" not in log.split("answers again")[-1], log[-3000:]
