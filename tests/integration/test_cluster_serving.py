"""Two real daemons on one PostgreSQL database, each answering for the other's files and live pictures.

Both load the same two cameras (the looped person footage): ``demo`` may run only on node ``a`` and
``yard`` only on node ``b`` (``cameras.<name>.nodes``), so the real placement puts one on each. The
heartbeats, leases and ``node_id`` of the rows are the daemons' own; the test writes rows only for a
node that does not exist. Every request goes over real HTTP.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg2
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from frigate_like.api import ApiServices, create_app
from frigate_like.api.server import HttpServer
from frigate_like.cluster.directory import ClusterDirectory
from frigate_like.db import queries
from frigate_like.db.database import close_database, open_database
from frigate_like.events.live import LiveView
from frigate_like.media.locate import PROXIED_HEADER, MediaLocator
from frigate_like.migrations import MIGRATIONS_DIR
from tests.broker import retained, unique_prefix
from tests.conftest import PG_DSN, pg_schema
from tests.integration.browser import Page, chromium_browser
from tests.integration.daemon import Daemon, demo_config
from tests.integration.http_support import first_jpeg

LEASE_S = 600  # the rows this test writes (a node that does not exist) stay valid for the whole test
DAEMON_LEASE_S = 4


PREFIX = unique_prefix("cluster-serving")


def _node_config(tmp: Path, pg_url: str, node_id: str) -> dict[str, Any]:
    cfg = demo_config(tmp, loop=True, fps=5)
    cfg["database"] = {"url": pg_url}
    # one Frigate on the broker: one prefix and, as a shared config has it, one client_id
    cfg["mqtt"] = {"enabled": True, "host": "127.0.0.1", "port": 1883, "topic_prefix": PREFIX, "client_id": "frigate"}
    cfg["cameras"]["demo"]["ffmpeg"]["inputs"][0]["roles"] = ["detect", "clips", "record"]
    cfg["cameras"]["yard"] = json.loads(json.dumps(cfg["cameras"]["demo"]))
    cfg["cameras"]["demo"]["nodes"], cfg["cameras"]["yard"]["nodes"] = ["a"], ["b"]
    cfg["record"] = {"enabled": True, "retain_days": 1}
    port = cfg["http"]["port"]
    cfg["cluster"] = {"node_id": node_id, "url": f"http://127.0.0.1:{port}", "lease_seconds": DAEMON_LEASE_S}
    return cfg


class Rows:
    """The cluster rows, written as the core's heartbeat and placement would (database clock)."""

    def __init__(self, pg_url: str) -> None:
        schema = pg_url.split("search_path%3D", 1)[1]
        self.conn = psycopg2.connect(PG_DSN, options=f"-csearch_path={schema}")
        self.conn.autocommit = True

    def sql(self, statement: str, *args: Any) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(statement, args)
            return list(cur.fetchall()) if cur.description else []

    def node(self, node_id: str, url: str, stats: dict[str, Any] | None = None) -> None:
        self.sql(
            "INSERT INTO cluster_node (node_id, url, instance, started_at, heartbeat_at, stats)"
            " VALUES (%s, %s, %s, EXTRACT(EPOCH FROM clock_timestamp()), EXTRACT(EPOCH FROM clock_timestamp()), %s)"
            " ON CONFLICT (node_id) DO UPDATE SET url = EXCLUDED.url, stats = EXCLUDED.stats,"
            " heartbeat_at = EXCLUDED.heartbeat_at",
            node_id, url, node_id, json.dumps(stats or {}),
        )  # fmt: skip

    def lease(self, camera: str, node_id: str) -> None:
        self.sql(
            "INSERT INTO camera_lease (camera, node_id, acquired_at, expires_at)"
            " VALUES (%s, %s, EXTRACT(EPOCH FROM clock_timestamp()), EXTRACT(EPOCH FROM clock_timestamp()) + %s)",
            camera, node_id, LEASE_S,
        )  # fmt: skip



@pytest.fixture(scope="module")
def module_pg_url() -> Iterator[str]:
    """The two daemons' own schema of the test database (tests/conftest.py's pg_url, for the module)."""
    with pg_schema() as url:
        yield url


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, module_pg_url: str) -> Iterator[tuple[Daemon, Daemon, Rows]]:
    tmp_a, tmp_b = tmp_path_factory.mktemp("node_a"), tmp_path_factory.mktemp("node_b")
    a = Daemon(tmp_a, _node_config(tmp_a, module_pg_url, "a"))
    b = Daemon(tmp_b, _node_config(tmp_b, module_pg_url, "b"))
    a.start()
    b.start()
    rows = Rows(module_pg_url)
    try:

        def placed() -> bool:
            nodes = {n["id"]: n["cameras"] for n in b.get_json("/api/cluster")["nodes"]}
            return nodes.get("a") == ["demo"] and nodes.get("b") == ["yard"]

        b.wait_for(placed, 60, what="demo on a and yard on b")
        for node, camera in ((a, "demo"), (b, "yard")):
            fps = lambda n=node, c=camera: n.get_json("/api/stats").get(c, {}).get("process_fps")  # noqa: E731
            node.wait_for(fps, 60, what=f"frames of {camera}")
        yield a, b, rows
    finally:
        rows.conn.close()
        codes = [node.terminate()[0] for node in (a, b)]
        assert codes == [0, 0], a.log()[-2000:] + b.log()[-2000:]


def _get(node: Daemon, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{node.port}{path}", timeout=kwargs.pop("timeout", 20), **kwargs)


@pytest.fixture(scope="module")
def ended(cluster: tuple[Daemon, Daemon, Rows]) -> dict[str, Any]:
    """An ended event of node a's camera with its clip and snapshot written (on a's disk only)."""
    a, _, rows = cluster

    def find() -> dict[str, Any] | None:
        for event in a.get_json("/api/events?camera=demo&has_clip=1&include_thumbnails=0"):
            if event["end_time"] is not None and event["has_snapshot"]:
                return dict(event)
        return None

    event = dict(a.wait_for(find, timeout=240, interval=1.0, what="an ended event with a clip"))
    assert rows.sql("SELECT node_id FROM event WHERE id = %s", event["id"]) == [("a",)]  # its writer's id
    return event


def test_every_node_serves_every_clip_snapshot_and_thumbnail(
    cluster: tuple[Daemon, Daemon, Rows], ended: dict[str, Any]
) -> None:
    a, b, _ = cluster
    name = f"demo-{ended['id']}"
    assert ended["id"] in [e["id"] for e in b.get_json("/api/events?camera=demo&include_thumbnails=0")]
    # the clip is cut on a when first asked for (record/deferred.py): here, by b's relayed request
    whole = _get(b, f"/clips/{name}.mp4")
    clip = (a.clips_dir / f"{name}.mp4").read_bytes()
    assert not (b.clips_dir / f"{name}.mp4").exists()
    assert whole.status_code == 200 and whole.content == clip
    assert whole.headers["Content-Type"] == "video/mp4" and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Content-Length"] == str(len(clip))
    part = _get(b, f"/clips/{name}.mp4", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == clip[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(clip)}"
    unchanged = _get(b, f"/clips/{name}.mp4", headers={"If-None-Match": whole.headers["ETag"]})
    assert unchanged.status_code == 304
    snapshot = (a.clips_dir / f"{name}.jpg").read_bytes()
    assert _get(b, f"/api/events/{ended['id']}/snapshot.jpg").content == snapshot
    assert _get(b, f"/clips/{name}.jpg").content == snapshot
    thumb = _get(b, f"/api/events/{ended['id']}/thumbnail.jpg?format=android")
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    # b has no such file and a forwarded request is answered from b's own disk: 404, no loop
    marked = _get(b, f"/clips/{name}.mp4", headers={PROXIED_HEADER: "a"})
    assert marked.status_code == 404 and marked.json()["detail"]


def test_recordings_of_another_node(cluster: tuple[Daemon, Daemon, Rows]) -> None:
    a, b, rows = cluster
    root = Path(a.cfg["paths"]["media_dir"]) / "recordings"

    def segment() -> Path | None:
        found = [p for p in root.rglob("*.mp4") if "/demo/" in str(p)] if root.exists() else []
        return found[0] if found and rows.sql("SELECT 1 FROM recordings WHERE node_id = 'a'") else None

    path = a.wait_for(segment, timeout=150, interval=2.0, what="a recorded segment of demo")
    relative = path.relative_to(root).as_posix()
    data = path.read_bytes()
    response = _get(b, f"/recordings/{relative}", headers={"Range": "bytes=0-99"})
    assert response.status_code == 206 and response.content == data[:100], response.text[:200]
    parts = relative.split("/")
    listed = _get(b, "/recordings/" + "/".join(parts[:4]) + "/")  # b's browser lists a's footage too
    assert listed.status_code == 200 and parts[4] in [entry["name"] for entry in listed.json()]
    ((start, end),) = rows.sql("SELECT start_time, end_time FROM recordings WHERE node_id = 'a' LIMIT 1")
    export = _get(b, f"/api/demo/recordings/{start + 1:.3f}/{end - 1:.3f}.mp4", timeout=60)  # cut on a
    assert export.status_code == 200 and export.headers["Content-Type"] == "video/mp4", export.text[:200]
    assert b"ftyp" in export.content[:64]


def test_live_pictures_of_a_camera_run_elsewhere(cluster: tuple[Daemon, Daemon, Rows]) -> None:
    a, b, _ = cluster
    latest = _get(b, "/api/demo/latest.jpg?h=120")
    assert latest.status_code == 200 and latest.headers["Content-Type"] == "image/jpeg"
    assert latest.content.startswith(b"\xff\xd8")
    assert _get(a, "/api/yard/latest.jpg").status_code == 200  # and the other way round
    with requests.get(f"http://127.0.0.1:{b.port}/api/demo?fps=5&h=120", stream=True, timeout=20) as stream:
        assert stream.status_code == 200
        assert stream.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        frames = [first_jpeg(stream.raw) for _ in range(3)]
    assert all(frame.startswith(b"\xff\xd8") for frame in frames)
    with requests.get(f"http://127.0.0.1:{b.port}/api/demo/live.mp4", stream=True, timeout=20) as live:
        assert live.status_code == 200 and live.headers["Content-Type"].startswith("video/mp4")
        head = b""
        for chunk in live.iter_content(4096):
            head += chunk
            if b"moof" in head:
                break
    assert head[4:8] == b"ftyp" and b"moov" in head, head[:64]  # a's own stream, relayed from its start
    assert _get(b, "/api/nowhere/latest.jpg").status_code == 404  # no node runs it


def test_a_node_that_does_not_answer_is_a_502_naming_it(cluster: tuple[Daemon, Daemon, Rows]) -> None:
    _, b, rows = cluster
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    rows.node("c", closed)
    rows.lease("ghost", "c")
    response = _get(b, "/api/ghost/latest.jpg")
    assert response.status_code == 502 and response.headers["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith(f"node c ({closed}) does not answer")


def test_stats_of_the_whole_cluster_and_metrics_per_node(cluster: tuple[Daemon, Daemon, Rows]) -> None:
    a, b, _ = cluster
    # a's row, as its heartbeat writes it, reaches b's merged document
    merged = b.wait_for(
        lambda: (doc := b.get_json("/api/stats")).get("demo", {}).get("camera_fps", 0) > 0 and doc, 30,
        what="a's camera in b's stats",
    )  # fmt: skip
    assert merged["demo"]["node_id"] == "a" and merged["demo"]["camera_fps"] > 0
    assert merged["yard"]["node_id"] == "b"
    assert {"a:cpu", "b:cpu"} <= set(merged["detectors"])
    assert merged["service"]["node_id"] == "b" and merged["service"]["nodes"]["a"]["alive"] is True
    metrics = _get(a, "/metrics")
    assert metrics.status_code == 200
    samples = [s for f in text_string_to_metric_families(metrics.text) for s in f.samples]
    fps = [s for s in samples if s.name == "frigate_like_camera_fps"]
    assert [(s.labels["node"], s.labels["camera"]) for s in fps] == [("a", "demo")]
    leases = [s.value for s in samples if s.name == "frigate_like_leases_held"]
    assert leases == [1.0]
    assert [s.value for s in samples if s.name == "frigate_like_database_up"] == [1.0]
    events = [s for s in samples if s.name == "frigate_like_events" and s.labels["camera"] == "demo"]
    assert events and sum(s.value for s in events) >= 1  # a's rows (node_id set above)


def test_the_web_grid_shows_a_camera_another_node_runs(
    cluster: tuple[Daemon, Daemon, Rows], module_pg_url: str, tmp_path: Path
) -> None:
    """A third node in this process that runs no camera: its grid shows a's camera (its lease) from latest.jpg."""
    db = open_database(SimpleNamespace(url=module_pg_url, path=None), MIGRATIONS_DIR)
    server = HttpServer(
        create_app(
            ApiServices(
                config=None, stats=dict, public_config=lambda: {"cameras": {"demo": {}}}, events=queries,
                live=LiveView(), locator=MediaLocator("web", ClusterDirectory(db, LEASE_S)),
            )
        ),
        "127.0.0.1", 0,
    )  # fmt: skip
    server.start()
    try:
        with chromium_browser(tmp_path) as browser:
            page = Page(browser, f"http://127.0.0.1:{server.port}/#/live")
            try:
                page.wait_for("(window.__live?.frames?.demo || 0) >= 3", 60, "three pictures of demo")
            except AssertionError as exc:
                raise AssertionError(f"{exc}: {page.evaluate('document.body.innerText')!r}") from None
            caption = page.evaluate("document.querySelector('.tile[data-camera=demo] .caption').innerText")
            assert "from its node" in caption and "768×432" not in caption  # h=270: a smaller picture
            note = page.evaluate("document.querySelector('.toolbar p').innerText")
            assert "1 run by other nodes" in note
    finally:
        server.stop()
        close_database(db)


def test_one_frigate_on_mqtt(cluster: tuple[Daemon, Daemon, Rows]) -> None:
    a, b, _ = cluster
    for node in (a, b):  # one client_id in the config, yet both stay connected
        health = node.get_json("/api/stats")["service"]["health"]["mqtt"]
        assert health["ok"], health
    assert retained(PREFIX, "available") == "online"
    assert retained(PREFIX, "node/a/available") == "online" and retained(PREFIX, "node/b/available") == "online"
    assert retained(PREFIX, "demo/detect/state") == "ON" and retained(PREFIX, "yard/detect/state") == "ON"
    code, _ = a.terminate()  # b lives on: the shared topic stays online, a's own goes offline
    assert code == 0
    assert retained(PREFIX, "node/a/available") == "offline"
    assert retained(PREFIX, "available") == "online"
