"""The HTTP server: Flask through the ASGI bridge on a real uvicorn, streaming, auth, health and shutdown."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, Response

from frigate_like.api import ApiServices, create_app
from frigate_like.api.bridge import client_disconnected
from frigate_like.api.server import HttpServer
from frigate_like.config import config_from_dict, to_public_dict
from frigate_like.db import queries
from frigate_like.devices import DeviceDiscovery
from frigate_like.errors import Unavailable
from tests.asgi_client import StackClient, stack_client

TOKEN = "s3cret-token"


def make_app(model_path: Path, labelmap_path: Path, token: str | None = None, **services: Any) -> Flask:
    cfg = config_from_dict(
        {
            "http": {"api_token": token},
            "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
            "cameras": {"back": {"ffmpeg": {"inputs": [{"path": "rtsp://cam/back", "roles": ["detect"]}]},
                                 "width": 640, "height": 480}},
        }
    )  # fmt: skip
    stats = {"back": {"camera_fps": 5.0}, "detection_fps": 0.0}
    return create_app(
        ApiServices(
            config=cfg, stats=lambda: stats, public_config=lambda: to_public_dict(cfg), events=queries, **services
        )
    )


class Stream:
    """A generator view whose pace the test controls."""

    def __init__(self) -> None:
        self.go, self.ended = threading.Event(), threading.Event()

    def view(self) -> Response:
        def chunks() -> Iterator[bytes]:
            try:
                yield b"first\n"
                self.go.wait(10)
                while not client_disconnected():  # a view may ask; the bridge also ends it unasked
                    yield b"x" * 1024
                    time.sleep(0.05)
            finally:
                self.ended.set()

        return Response(chunks(), mimetype="text/plain")


@pytest.fixture
def served(model_path: Path, labelmap_path: Path) -> Iterator[tuple[str, Stream, list[str]]]:
    calls: list[str] = []
    app = make_app(model_path, labelmap_path, shutdown=lambda: calls.append("shutdown"))
    stream = Stream()
    app.add_url_rule("/test/stream", view_func=stream.view)
    server = HttpServer(app, "127.0.0.1", 0)
    server.start()
    yield f"http://127.0.0.1:{server.port}", stream, calls
    server.stop()


def test_the_flask_api_answers_through_the_bridge(served: tuple[str, Stream, list[str]]) -> None:
    base, _, _ = served
    assert requests.get(f"{base}/api/stats", timeout=10).json()["back"]["camera_fps"] == 5.0
    assert requests.get(f"{base}/api/version", timeout=10).headers["content-type"].startswith("text/plain")
    missing = requests.get(f"{base}/nothing/here", timeout=10)
    assert missing.status_code == 404 and "detail" in missing.json()


def test_a_generator_response_streams_and_ends_when_its_client_leaves(served: tuple[str, Stream, list[str]]) -> None:
    base, stream, _ = served
    with requests.get(f"{base}/test/stream", stream=True, timeout=10) as response:
        # the first chunk arrives while the generator still waits: the response is streamed
        assert response.raw.read(6) == b"first\n"
        assert not stream.ended.is_set()
        stream.go.set()
        assert len(response.raw.read(4096)) == 4096
    assert stream.ended.wait(10), "the generator kept running after its client left"


def test_health_and_shutdown_from_loopback(served: tuple[str, Stream, list[str]]) -> None:
    base, _, calls = served
    health = requests.get(f"{base}/health", timeout=10)
    assert health.status_code == 200 and health.content == '"Hello👋"'.encode()
    assert health.json() == "Hello👋"
    cross_site = {"Sec-Fetch-Site": "cross-site"}  # what a link or an <img> of another site sends
    assert requests.get(f"{base}/shutdown", headers=cross_site, timeout=10).status_code == 403
    answer = requests.get(f"{base}/shutdown", timeout=10)  # seed 000: a plain GET
    assert answer.json() == {"status": "shutdown_initiated", "message": "Server shutting down. Goodbye!"}
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.02)
    assert calls == ["shutdown"]


@pytest.fixture
def guarded(model_path: Path, labelmap_path: Path) -> Iterator[tuple[StackClient, list[str]]]:
    calls: list[str] = []
    app = make_app(model_path, labelmap_path, token=TOKEN, shutdown=lambda: calls.append("shutdown"))
    with stack_client(app) as client:
        yield client, calls


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/shutdown"),
        ("POST", "/skellycam/camera/group/apply"),
        ("GET", "/skellycam/camera/group/all/pause_unpause"),
        ("DELETE", "/skellycam/camera/group/close/all"),
    ],
)
def test_with_a_token_configured_a_request_without_it_gets_401(
    guarded: tuple[StackClient, list[str]], method: str, path: str
) -> None:
    client, calls = guarded
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        answer = client.open(path, method=method, headers=headers, json={})
        assert answer.status_code == 401, headers
        assert "API token" in answer.get_json()["detail"]
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert calls == []


def test_with_the_token_shutdown_is_accepted(guarded: tuple[StackClient, list[str]]) -> None:
    client, calls = guarded
    answer = client.get("/shutdown", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.get_json()["status"] == "shutdown_initiated"
    answer.close()
    assert calls == ["shutdown"]


def test_without_a_token_only_loopback_clients_may_shut_down(model_path: Path, labelmap_path: Path) -> None:
    calls: list[str] = []
    app = make_app(model_path, labelmap_path, shutdown=lambda: calls.append("shutdown"))
    with stack_client(app) as client:
        answer = client.get("/shutdown", environ_base={"REMOTE_ADDR": "192.0.2.7"})
        assert answer.status_code == 401 and "loopback" in answer.get_json()["detail"]
    assert calls == []


def test_device_endpoints_use_the_discovery_roots(model_path: Path, labelmap_path: Path, tmp_path: Path) -> None:
    app = make_app(model_path, labelmap_path, devices=DeviceDiscovery(tmp_path, tmp_path, tmp_path))
    with app.test_client() as client:
        assert client.post("/skellycam/camera/detect?filter_virtual=false").get_json() == {"cameras": []}
        bad = client.post("/skellycam/camera/detect?backend_id=1200")
        assert bad.status_code == 400 and bad.get_json()["detail"].startswith("backend_id:")
        assert client.post("/skellycam/camera/detect?filter_virtual=maybe").status_code == 400
        assert client.get("/skellycam/camera/microphone/detect").get_json() == {"microphones": {}}
        assert client.post("/skellycam/camera/group/apply", json={"camera_configs": {}}).status_code == 503


def test_a_port_in_use_is_a_clear_start_error(model_path: Path, labelmap_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = HttpServer(make_app(model_path, labelmap_path), "127.0.0.1", busy.getsockname()[1])
        with pytest.raises(Unavailable, match="cannot serve HTTP"):
            server.start()


def test_stop_ends_every_stream_and_the_process_exits_with_a_stalled_client_connected() -> None:
    """a2wsgi's workers are ordinary threads, joined at exit: stop() must leave none of them streaming."""
    script = textwrap.dedent(
        """
        import logging, socket, sys, threading, time
        from flask import Flask, Response
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        from frigate_like.api.server import HttpServer
        app = Flask("t")

        @app.get("/endless")
        def endless():
            def chunks():
                while True:  # never asks whether its client is there: the bridge ends it
                    yield b"x" * 65536
                    time.sleep(0.01)
            return Response(chunks(), mimetype="application/octet-stream")

        server = HttpServer(app, "127.0.0.1", 0, send_timeout=120.0)
        server.start()
        request = b"GET /endless HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n"
        stalled = socket.create_connection(("127.0.0.1", server.port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(request)  # and never reads
        reader = socket.create_connection(("127.0.0.1", server.port))
        reader.sendall(request)
        def read():
            try:
                while reader.recv(65536):
                    pass
            except OSError:
                pass
        threading.Thread(target=read, daemon=True).start()
        time.sleep(2)  # the stalled connection's buffers are full: its worker waits to hand on a chunk
        started = time.monotonic()
        server.stop()
        print(f"stopped in {time.monotonic() - started:.1f} s", flush=True)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("stopped in"), (proc.stdout, proc.stderr[-2000:])
    # every stream ended when asked to: none had to be cancelled after uvicorn's graceful shutdown time
    assert "timeout graceful shutdown exceeded" not in proc.stderr, proc.stderr[-2000:]
