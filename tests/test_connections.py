"""The HTTP server's connection bounds (api/connections.py) on a real uvicorn: idle sockets, slow heads, caps.

Strangers connect from other loopback addresses (127.0.0.2, 127.0.0.3...: all of 127/8 is this machine), so the
per-address bound is tested without a second host; the allowed client is 127.0.0.1.
"""

from __future__ import annotations

import errno
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from flask import Flask, Response

from frigate_like.api.connections import AcceptFailures, ConnectionLimits, ConnectionTable
from frigate_like.api.server import HttpServer
from frigate_like.supervise import Health

LIMITS = ConnectionLimits(total=40, per_client=8, header_timeout_s=1.0)


def tiny_app() -> Flask:
    app = Flask(__name__)

    @app.get("/ping")
    def ping() -> Response:
        return Response("pong", mimetype="text/plain")

    @app.get("/slow-stream")
    def slow_stream() -> Response:
        def chunks() -> Iterator[bytes]:
            for _ in range(6):  # 3 s: longer than the head timeout
                yield b"x" * 100
                time.sleep(0.5)

        return Response(chunks(), mimetype="application/octet-stream")

    return app


@pytest.fixture
def server() -> Iterator[HttpServer]:
    health = Health("http")
    running = HttpServer(tiny_app(), "127.0.0.1", 0, limits=LIMITS, health=health)
    running.start()
    yield running
    running.stop()


def idle(port: int, source: str) -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def closed_by_server(sock: socket.socket, within: float) -> bytes | None:
    """What the server sent before closing ``sock`` within ``within`` s; None when it stayed open."""
    sock.settimeout(within)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received


def test_idle_and_slow_head_connections_are_closed_and_streams_are_not(server: HttpServer) -> None:
    quiet = idle(server.port, "127.0.0.2")
    slow = idle(server.port, "127.0.0.2")
    slow.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
    with quiet, slow:
        assert closed_by_server(quiet, within=10) == b""
        assert closed_by_server(slow, within=10) == b""
    streamed = requests.get(f"http://127.0.0.1:{server.port}/slow-stream", timeout=30)
    assert streamed.status_code == 200 and len(streamed.content) == 600  # outlived the 1 s head timeout
    # a kept-alive connection between requests is closed too, not held open by a client that went quiet
    with idle(server.port, "127.0.0.3") as kept:
        kept.sendall(b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = closed_by_server(kept, within=15)
        assert answer is not None and answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"pong")


def test_a_stream_behind_a_local_proxy_outlives_the_head_timeout(server: HttpServer) -> None:
    # a reverse proxy on this machine names the client: the request's client address is not the connection's
    forwarded = {"X-Forwarded-For": "198.51.100.20"}
    streamed = requests.get(f"http://127.0.0.1:{server.port}/slow-stream", headers=forwarded, timeout=30)
    assert streamed.status_code == 200 and len(streamed.content) == 600


def test_one_address_cannot_take_every_connection(server: HttpServer) -> None:
    with ExitStack() as stack:
        held = [stack.enter_context(idle(server.port, "127.0.0.2")) for _ in range(LIMITS.per_client)]
        time.sleep(0.2)
        over = stack.enter_context(idle(server.port, "127.0.0.2"))
        refusal = closed_by_server(over, within=5)
        assert refusal is not None and refusal.startswith(b"HTTP/1.1 503"), refusal
        assert b'"detail"' in refusal
        # everyone else is served while the stranger's sockets are open
        assert requests.get(f"http://127.0.0.1:{server.port}/ping", timeout=10).text == "pong"
        other = stack.enter_context(idle(server.port, "127.0.0.3"))
        other.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (closed_by_server(other, within=5) or b"").endswith(b"pong")
        stats = server.stats()
        assert stats["refused_connections"] == 1 and stats["max_connections_per_client"] == LIMITS.per_client
        assert len(held) == LIMITS.per_client
    # once they go, the address is served again
    time.sleep(0.3)
    with idle(server.port, "127.0.0.2") as back:
        back.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (closed_by_server(back, within=5) or b"").endswith(b"pong")


def test_the_total_bound_leaves_room_for_loopback_itself(server: HttpServer) -> None:
    with ExitStack() as stack:
        for i in range(LIMITS.total // LIMITS.per_client):  # 5 addresses x 8: the total is reached
            for _ in range(LIMITS.per_client):
                stack.enter_context(idle(server.port, f"127.0.1.{i + 1}"))
        time.sleep(0.3)
        late = stack.enter_context(idle(server.port, "127.0.2.1"))
        assert (closed_by_server(late, within=5) or b"").startswith(b"HTTP/1.1 503")
        # 127.0.0.1 is the machine itself (the health check, a local proxy): it has headroom
        assert requests.get(f"http://127.0.0.1:{server.port}/ping", timeout=10).text == "pong"


def test_limits_follow_the_open_files_limit() -> None:
    assert ConnectionLimits.for_open_files(1024).total == 512
    assert ConnectionLimits.for_open_files(100).total == 64  # never below a usable floor
    assert ConnectionLimits.for_open_files(1 << 20).total == 4096
    assert ConnectionLimits.for_open_files(1024).per_client == 128


def test_running_out_of_descriptors_is_one_log_line_and_health_until_accepts_resume(
    caplog: pytest.LogCaptureFixture,
) -> None:
    health = Health("http")
    failures = AcceptFailures(health, ConnectionTable(LIMITS), interval_s=60)

    class Loop:
        def default_exception_handler(self, context: dict[str, object]) -> None:
            raise AssertionError(f"not ours: {context}")

    for _ in range(500):  # asyncio reports every failed accept (about one a second while it lasts)
        failures.handle(Loop(), {"message": "socket.accept() out of system resource",  # type: ignore[arg-type]
                                 "exception": OSError(errno.EMFILE, "Too many open files")})  # fmt: skip
    lines = [r for r in caplog.records if "cannot accept connections" in r.getMessage()]
    assert len(lines) == 1 and "Too many open files" in lines[0].getMessage()
    assert not health.is_ok and "Too many open files" in str(health.snapshot())
    failures.accepted()
    assert health.is_ok


def test_a_server_out_of_descriptors_logs_little_and_answers_again_when_the_connections_go(tmp_path: Path) -> None:
    """A real EMFILE: a server process with 200 open files; 300 connections from a stranger; then they go."""
    script = textwrap.dedent(
        """
        import logging, resource, sys, time
        from flask import Flask
        from frigate_like.api.connections import ConnectionLimits
        from frigate_like.api.server import HttpServer
        from frigate_like.supervise import Health
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))
        app = Flask("t")
        app.add_url_rule("/ping", "ping", lambda: "pong")
        health = Health("http")
        # bounds above what the descriptors allow: the point is the moment they run out
        server = HttpServer(app, "127.0.0.1", 0, limits=ConnectionLimits(1000, 1000, 60.0), health=health)
        app.add_url_rule("/health-entry", "health", lambda: health.snapshot())
        server.start()
        print(server.port, flush=True)
        time.sleep(120)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        with ExitStack() as stack:
            for _ in range(300):
                stack.enter_context(idle(port, "127.0.0.2"))
            time.sleep(3)  # the accept loop hits EMFILE, retries once a second
            with pytest.raises(requests.RequestException):
                requests.get(f"{base}/ping", timeout=2)
        deadline = time.monotonic() + 20
        while True:  # the stranger's sockets are gone: back without a restart
            try:
                if requests.get(f"{base}/ping", timeout=2).text == "pong":
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the server did not come back"
            time.sleep(0.2)
        assert requests.get(f"{base}/health-entry", timeout=5).json()["ok"] is True
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    failed = [line for line in err.splitlines() if "cannot accept connections" in line]
    assert len(failed) == 1, err[-3000:]  # one line for the whole episode, not one per accept
    assert "accepting HTTP connections again" in err
    assert "Traceback" not in err, err[-3000:]
