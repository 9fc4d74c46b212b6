"""media/locate.py: a file another node holds is streamed from that node's real HTTP server.

Two API apps on one SQLite database (the shared state): node ``b`` is served by a real werkzeug
server in a thread, node ``a`` answers through Flask's test client and forwards to ``b`` over
real HTTP. The cluster rows stand for what the core's heartbeat and leases write.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import peewee as pw
import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.test import TestResponse

from frigate_like.api import ApiServices, create_app
from frigate_like.cluster.directory import ClusterDirectory, database_now
from frigate_like.comms.switches import Switches
from frigate_like.config import FrigateConfig, config_from_dict, to_public_dict
from frigate_like.db import queries
from frigate_like.db.database import close_database, open_database
from frigate_like.db.models import CameraLease, ClusterNode, Event, Recording
from frigate_like.db.recordings import add_recording
from frigate_like.events.live import LiveView
from frigate_like.events.media import EventMedia
from frigate_like.media.locate import PROXIED_HEADER, MediaLocator
from frigate_like.migrations import MIGRATIONS_DIR

TOKEN = "s3cret-cluster-token"
CLIP_BYTES = 3 * 1024 * 1024 + 17  # several relay chunks, not a multiple of one


def _config(tmp_path: Path, media: Path, model_path: Path, labelmap_path: Path, **http: Any) -> FrigateConfig:
    return config_from_dict(
        {
            "database": {"path": str(tmp_path / "shared.db")},
            "paths": {"media_dir": str(media)},
            "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
            "http": http,
            "cameras": {
                "front": {
                    "ffmpeg": {"inputs": [{"path": "rtsp://10.0.0.2/live", "roles": ["detect"]}]},
                    "width": 640,
                    "height": 480,
                    "fps": 5,
                }
            },
        }
    )


def _app(cfg: FrigateConfig, locator: MediaLocator, switches: Switches | None = None) -> Flask:
    media = Path(cfg.paths.media_dir)
    return create_app(
        ApiServices(
            config=cfg,
            stats=dict,
            public_config=lambda: to_public_dict(cfg),
            events=queries,
            media=EventMedia(LiveView(), queries, media / "clips", {}),
            locator=locator,
            switches=switches,
        )
    )


def _switches(camera: str) -> tuple[Switches, SimpleNamespace]:
    """A node's switches with one camera; returns them and that camera's detect flag."""
    switches = Switches(cluster=True)
    flag = SimpleNamespace(value=True)
    cam = SimpleNamespace(
        name=camera, clips=SimpleNamespace(enabled=False), snapshots=SimpleNamespace(enabled=True),
        input_for=lambda role: None,
    )  # fmt: skip
    switches.add_camera(cam, flag)
    return switches, flag


@dataclass
class Cluster:
    db: pw.Database
    a: FlaskClient
    b_url: str
    b_media: Path
    b_hits: list[dict[str, str]]  # the headers of every request node b received
    b_detect: SimpleNamespace  # node b's camera yard: its detect switch

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        """Node a's answer, read whole and closed (a local file's handle with it)."""
        response = self.a.get(path, **kwargs)
        response.get_data()
        response.close()
        return response

    def node(self, node_id: str, url: str, heartbeat_age: float = 0.0) -> None:
        now = database_now(self.db)
        ClusterNode.insert(
            node_id=node_id, url=url, instance=node_id, started_at=now - 60, heartbeat_at=now - heartbeat_age
        ).on_conflict_replace().execute()

    def clip_on_b(self, data: bytes) -> str:
        """An ended event with a clip that node b wrote; returns the clip's file name."""
        event_id = queries.create_event("front", "person", 1_700_000_000.0, has_clip=True, end_time=1_700_000_010.0)
        Event.update(node_id="b").where(Event.id == event_id).execute()
        name = f"front-{event_id}.mp4"
        (self.b_media / "clips" / name).write_bytes(data)
        return name


def _serve(app: Flask) -> tuple[BaseWSGIServer, threading.Thread]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="node-b", daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def cluster(tmp_path: Path, model_path: Path, labelmap_path: Path) -> Iterator[Cluster]:
    a_media, b_media = tmp_path / "a", tmp_path / "b"
    for media in (a_media, b_media):
        (media / "clips").mkdir(parents=True)
        (media / "recordings").mkdir()
    cfg_a = _config(tmp_path, a_media, model_path, labelmap_path, api_token=TOKEN)
    cfg_b = _config(tmp_path, b_media, model_path, labelmap_path, api_token=TOKEN, auth="required")
    db = open_database(cfg_a.database, MIGRATIONS_DIR)
    directory = ClusterDirectory(db, lease_seconds=10)
    switches_b, b_detect = _switches("yard")
    app_b = _app(cfg_b, MediaLocator("b", directory, token=TOKEN), switches_b)
    hits: list[dict[str, str]] = []
    app_b.before_request(lambda: hits.append(dict(request.headers)) and None)
    server, thread = _serve(app_b)
    b_url = f"http://127.0.0.1:{server.server_port}"
    locator_a = MediaLocator("a", directory, token=TOKEN, connect_timeout=2.0, read_timeout=5.0)
    app_a = _app(cfg_a, locator_a, _switches("front")[0])
    app_a.testing = True
    try:
        with app_a.test_client() as client:
            result = Cluster(db, client, b_url, b_media, hits, b_detect)
            result.node("a", "http://127.0.0.1:9")
            result.node("b", b_url)
            yield result
    finally:
        server.shutdown()
        thread.join(5)
        close_database(db)


def _clip(size: int = CLIP_BYTES) -> bytes:
    block = hashlib.sha256(b"clip").digest()
    return (block * (size // len(block) + 1))[:size]


def test_a_clip_of_another_node_is_streamed_whole_and_by_range(cluster: Cluster) -> None:
    data = _clip()
    name = cluster.clip_on_b(data)
    whole = cluster.get(f"/clips/{name}")
    assert whole.status_code == 200
    assert whole.data == data
    assert whole.headers["Content-Length"] == str(len(data))
    assert whole.headers["Content-Type"] == "video/mp4"
    assert whole.headers["Accept-Ranges"] == "bytes"
    forwarded = cluster.b_hits[-1]
    assert forwarded[PROXIED_HEADER] == "a" and forwarded["Authorization"] == f"Bearer {TOKEN}"

    part = cluster.get(f"/clips/{name}", headers={"Range": "bytes=1000000-1000099"})
    assert part.status_code == 206
    assert part.data == data[1_000_000:1_000_100]
    assert part.headers["Content-Range"] == f"bytes 1000000-1000099/{len(data)}"
    assert part.headers["Content-Length"] == "100"

    tail = cluster.get(f"/clips/{name}", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == data[-10:]

    etag = whole.headers["ETag"]
    cached = cluster.get(f"/clips/{name}", headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.data == b""
    stale = cluster.get(f"/clips/{name}", headers={"Range": "bytes=0-9", "If-Range": '"not-the-etag"'})
    assert stale.status_code == 200 and stale.data == data, "If-Range that does not match: the whole file"


def test_local_files_are_served_without_asking_another_node(cluster: Cluster, tmp_path: Path) -> None:
    event_id = queries.create_event("front", "car", 1_700_000_100.0, has_clip=True, end_time=1_700_000_110.0)
    name = f"front-{event_id}.mp4"
    (tmp_path / "a" / "clips" / name).write_bytes(b"local clip")
    response = cluster.get(f"/clips/{name}")
    assert response.status_code == 200 and response.data == b"local clip"
    assert cluster.b_hits == []
    # a row from before the cluster ('') or of this node, whose file is gone: 404 here, never forwarded
    (tmp_path / "a" / "clips" / name).unlink()
    assert cluster.get(f"/clips/{name}").status_code == 404
    assert cluster.b_hits == []


def test_a_forwarded_request_is_never_forwarded_again(cluster: Cluster) -> None:
    name = cluster.clip_on_b(b"x")
    # node b lost the file; a asks b, b answers 404 from what it has
    (cluster.b_media / "clips" / name).unlink()
    response = cluster.get(f"/clips/{name}")
    assert response.status_code == 404 and "no such file" in response.get_json()["detail"]
    assert len(cluster.b_hits) == 1
    # a request that says it was forwarded is answered from here: no second hop, whatever the row says
    cluster.b_hits.clear()
    (cluster.b_media / "clips" / name).write_bytes(b"x")
    again = cluster.get(f"/clips/{name}", headers={PROXIED_HEADER: "c"})
    assert again.status_code == 404
    assert cluster.b_hits == []


def test_a_dead_or_unreachable_owner_is_a_502_naming_it(cluster: Cluster) -> None:
    name = cluster.clip_on_b(b"x")
    cluster.node("b", cluster.b_url, heartbeat_age=60)  # its heartbeat stopped
    dead = cluster.get(f"/clips/{name}")
    assert dead.status_code == 502
    assert dead.get_json()["detail"].startswith(f"node b ({cluster.b_url}) does not answer")
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    cluster.node("b", closed)
    refused = cluster.get(f"/clips/{name}")
    assert refused.status_code == 502
    assert refused.get_json()["detail"].startswith(f"node b ({closed}) does not answer: ")
    assert cluster.b_hits == []


def test_snapshots_thumbnails_and_recordings_of_another_node(cluster: Cluster) -> None:
    event_id = queries.create_event(
        "front", "person", 1_700_000_200.0, has_snapshot=True, end_time=1_700_000_210.0
    )
    Event.update(node_id="b").where(Event.id == event_id).execute()
    (cluster.b_media / "clips" / f"front-{event_id}.jpg").write_bytes(b"\xff\xd8snapshot")
    snap = cluster.get(f"/api/events/{event_id}/snapshot.jpg")
    assert snap.status_code == 200 and snap.data == b"\xff\xd8snapshot"
    assert snap.headers["Content-Type"] == "image/jpeg"
    # in progress on b with no thumbnail stored yet: b's answer (404 here: no live object) comes back
    assert cluster.get(f"/api/events/{event_id}/thumbnail.jpg").status_code == 404
    assert len(cluster.b_hits) == 2

    relative = "2026-12/07/08/front/05.00.mp4"
    folder = cluster.b_media / "recordings" / "2026-12" / "07" / "08" / "front"
    folder.mkdir(parents=True)
    (folder / "05.00.mp4").write_bytes(_clip(200_000))
    add_recording("front", str(folder / "05.00.mp4"), 1_700_000_300.0, 1_700_000_310.0, 200_000)
    Recording.update(node_id="b").execute()
    segment = cluster.get(f"/recordings/{relative}", headers={"Range": "bytes=10-19"})
    assert segment.status_code == 206 and segment.data == _clip(200_000)[10:20]
    assert cluster.get("/recordings/2026-12/07/08/front/06.00.mp4").status_code == 404


def test_shared_media_reads_the_shared_folder_and_never_forwards(cluster: Cluster, tmp_path: Path) -> None:
    name = cluster.clip_on_b(b"on b")
    locator = MediaLocator("a", ClusterDirectory(cluster.db, 10), shared_media=True)
    cfg = _config(tmp_path, cluster.b_media, *_model_paths(cluster))  # node a mounts b's folder
    app = _app(cfg, locator)
    with app.test_client() as shared:
        response = shared.get(f"/clips/{name}")
        assert response.status_code == 200 and response.data == b"on b"
        response.close()
        (cluster.b_media / "clips" / name).unlink()
        assert shared.get(f"/clips/{name}").status_code == 404
    assert cluster.b_hits == []


def _model_paths(cluster: Cluster) -> tuple[Path, Path]:
    app = cluster.a.application
    cfg = app.config["SERVICES"].config
    return Path(cfg.model.path), Path(cfg.model.labelmap_path)


def test_a_recordings_folder_lists_every_node_s_entries(cluster: Cluster, tmp_path: Path) -> None:
    b_hour = cluster.b_media / "recordings" / "2026-12" / "07" / "08" / "front"
    a_hour = tmp_path / "a" / "recordings" / "2026-12" / "07" / "09" / "front"
    for folder, name in ((b_hour, "05.00.mp4"), (a_hour, "10.00.mp4")):
        folder.mkdir(parents=True)
        (folder / name).write_bytes(b"segment")
    (tmp_path / "a" / "recordings" / "2026-12" / "07" / "08").mkdir()  # an hour both nodes have: listed once
    day = cluster.get("/recordings/2026-12/07/")
    assert day.status_code == 200
    assert [(e["name"], e["type"]) for e in day.get_json()] == [("08", "directory"), ("09", "directory")]
    hour = cluster.get("/recordings/2026-12/07/08/front/")  # only b has it
    assert [(e["name"], e["type"], e["size"]) for e in hour.get_json()] == [("05.00.mp4", "file", 7)]
    assert all(hit[PROXIED_HEADER] == "a" for hit in cluster.b_hits)
    # b answers a forwarded listing with its own entries only
    cluster.b_hits.clear()
    assert cluster.get("/recordings/2026-12/07/09/front/", headers={PROXIED_HEADER: "c"}).get_json()[0]["name"] == (
        "10.00.mp4"
    )
    assert cluster.b_hits == []
    cluster.node("b", cluster.b_url, heartbeat_age=60)  # b down: what a holds is still listed
    assert [e["name"] for e in cluster.get("/recordings/2026-12/07/").get_json()] == ["08", "09"]
    assert cluster.get("/recordings/2026-12/07/08/front/").status_code == 404


def test_switches_of_a_camera_another_node_runs(cluster: Cluster) -> None:
    now = database_now(cluster.db)
    CameraLease.create(camera="yard", node_id="b", acquired_at=now, expires_at=now + 10)
    states = cluster.get("/api/switches").get_json()
    assert set(states) == {"front", "yard"}
    assert states["yard"] == {"detect": True, "clips": False, "snapshots": True}
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    response = cluster.a.post("/api/yard/switches", json={"detect": False}, headers=bearer)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["detect"] is False
    assert cluster.b_detect.value is False, "the node running yard applied it"
    assert cluster.b_hits[-1]["Authorization"] == f"Bearer {TOKEN}"
    response.close()
    unknown = cluster.a.post("/api/nowhere/switches", json={"detect": False}, headers=bearer)
    assert unknown.status_code == 404


def test_the_database_away_while_locating_is_a_503(cluster: Cluster) -> None:
    name = cluster.clip_on_b(b"x")
    cluster.db.execute_sql("ALTER TABLE event RENAME TO event_away")  # every event read fails now
    try:
        response = cluster.get(f"/clips/{name}")
    finally:
        cluster.db.execute_sql("ALTER TABLE event_away RENAME TO event")
    assert response.status_code == 503
    assert "cannot tell which node holds it" in response.get_json()["detail"]
