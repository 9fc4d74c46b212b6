"""Request limits on a real server: body size (413), JSON depth (400), per-client requests (429), stalled viewers."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from flask import Flask, Response
from starlette.types import Message, Receive, Scope, Send

from frigate_like.api import ApiServices, create_app
from frigate_like.api.limits import RequestLimits
from frigate_like.api.server import HttpServer

MAX_BODY = 4096


@pytest.fixture
def app() -> Flask:
    return create_app(ApiServices(config=None, stats=dict, public_config=dict, events=None))


@pytest.fixture
def served(app: Flask) -> Iterator[tuple[str, threading.Event]]:
    ended = threading.Event()

    def endless() -> Response:
        def chunks() -> Iterator[bytes]:
            try:
                while True:
                    yield b"x" * 65536
            finally:
                ended.set()

        return Response(chunks(), mimetype="application/octet-stream")

    app.add_url_rule("/test/endless", view_func=endless)
    server = HttpServer(app, "127.0.0.1", 0, max_body=MAX_BODY, send_timeout=1.0)
    server.start()
    yield f"http://127.0.0.1:{server.port}", ended
    server.stop()


def test_a_body_over_the_limit_is_413_json(served: tuple[str, threading.Event]) -> None:
    base, _ = served
    url = f"{base}/api/login"
    declared = requests.post(url, data=b"{" + b" " * MAX_BODY + b"}", headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and "max_body_bytes" in declared.json()["detail"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(64):
            yield b" " * 1024

    streamed = requests.post(url, data=chunked(), headers={"Content-Type": "application/json"}, timeout=30)
    assert streamed.status_code == 413
    small = requests.post(url, json={"token": "x"}, timeout=30)
    assert small.status_code == 409  # read and handled: no token is configured here


def test_json_nested_too_deeply_is_400_not_500(app: Flask) -> None:
    with app.test_client() as client:
        for deep in ("[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000):
            answer = client.post("/api/login", data=deep, content_type="application/json")
            assert answer.status_code == 400, answer.get_data()[:200]


def test_one_client_may_not_hold_every_worker() -> None:
    release = asyncio.Event()
    entered: list[str] = []

    async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
        entered.append(scope["client"][0])
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    limits = RequestLimits(slow_app, per_client=3)

    async def call(address: str) -> int:
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        scope: Scope = {"type": "http", "client": (address, 40000), "headers": []}
        await limits(scope, receive, send)
        return int(sent[0]["status"])

    async def scenario() -> list[int]:
        held = [asyncio.create_task(call("192.0.2.7")) for _ in range(3)]
        others = [asyncio.create_task(call(a)) for a in ("192.0.2.8", "127.0.0.1", "127.0.0.1", "127.0.0.1")]
        while len(entered) < 7:
            await asyncio.sleep(0.01)
        refused = await call("192.0.2.7")  # the fourth from the same address
        release.set()
        return [refused, *await asyncio.gather(*held, *others), await call("192.0.2.7")]

    statuses = asyncio.run(scenario())
    assert statuses == [429, 200, 200, 200, 200, 200, 200, 200, 200]


def test_a_viewer_that_stops_reading_is_dropped(served: tuple[str, threading.Event]) -> None:
    base, ended = served
    host, port = base.removeprefix("http://").split(":")
    with socket.socket() as stalled:
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect((host, int(port)))
        stalled.sendall(f"GET /test/endless HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        # the socket buffers fill, the next chunk waits longer than send_timeout: the stream ends
        assert ended.wait(60), "the stream of a client that reads nothing was not ended"
        deadline = time.monotonic() + 30
        stalled.settimeout(5)
        closed = False
        while not closed and time.monotonic() < deadline:  # the server closed the connection
            closed = stalled.recv(1 << 20) == b""
        assert closed
    assert requests.get(f"{base}/api/version", timeout=10).status_code == 200  # the server is fine


def test_the_state_change_guards_still_see_the_body_after_the_limit(served: tuple[str, threading.Event]) -> None:
    base, _ = served
    answer = requests.post(f"{base}/api/login", data='{"token": "x"}', headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415


def test_paths_do_not_matter_to_the_limit(served: tuple[str, threading.Event]) -> None:
    base, _ = served
    answer = requests.post(f"{base}/nowhere", data=b"x" * (MAX_BODY + 1), timeout=30)
    assert answer.status_code == 413
