"""Issue 19's first attack on the running daemon: a stranger's idle connections under systemd's 1 024 files.

The daemon runs under ``prlimit --nofile=1024:1024`` (its hard limit too, so it cannot raise it). The stranger
opens 1 100 connections that send nothing, from one address and then from eleven; meanwhile the daemon answers
127.0.0.1, keeps detecting and writing events, logs a few lines at most, and the stranger's sockets are closed
by the server within its head timeout.
"""

from __future__ import annotations

import socket
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from frigate_like.api.connections import HEADER_TIMEOUT_S
from tests.integration.daemon import Daemon, demo_config

STRANGER_CONNECTIONS = 1100


def connect_from(source: str, port: int) -> socket.socket | None:
    sock = socket.socket()
    try:
        sock.bind((source, 0))
        sock.settimeout(5)
        sock.connect(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    return sock


def open_sockets(socks: list[socket.socket]) -> int:
    """How many of ``socks`` the server has not closed (a closed one reads as EOF or a 503 then EOF)."""
    alive = 0
    for sock in socks:
        sock.setblocking(False)
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            alive += 1
            continue
        except OSError:
            continue
        if data and not data.startswith(b"HTTP/1.1 503"):
            raise AssertionError(f"unexpected answer to an idle connection: {data[:80]!r}")
    return alive


@pytest.mark.timeout(300)
def test_idle_connections_cannot_take_the_daemon_down(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path, loop=True, fps=3)
    daemon = Daemon(tmp_path, cfg, command=["prlimit", "--nofile=1024:1024", sys.executable, "-m", "frigate_like"])
    daemon.start()
    try:
        daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["camera_fps"] > 0, 90, what="frames")
        http = daemon.get_json("/api/stats")["service"]["http"]
        assert http["open_files_limit"] == 1024 and http["max_connections"] == 512, http
        log_before = len(daemon.log())

        for sources in (["127.0.0.2"], [f"127.0.0.{i}" for i in range(2, 13)]):
            refused_before = daemon.get_json("/api/stats")["service"]["http"]["refused_connections"]
            with ExitStack() as stack:
                socks = []
                for i in range(STRANGER_CONNECTIONS):
                    sock = connect_from(sources[i % len(sources)], daemon.port)
                    if sock is not None:
                        socks.append(stack.enter_context(sock))
                bound = 128 if len(sources) == 1 else 512  # one address: its bound; eleven: the total
                # the server works through its accept queue: every connection over the bound is refused
                enough = refused_before + len(socks) - bound - 5

                def all_over_the_bound_refused(enough: int = enough) -> dict[str, int] | None:
                    http: dict[str, int] = daemon.get_json("/api/stats")["service"]["http"]
                    return http if http["refused_connections"] >= enough else None

                http = daemon.wait_for(all_over_the_bound_refused, 30, what="the connections over the bound refused")
                assert http["connections"] <= bound + 2, http  # + this client's own
                # the allowed client is served while they are open, and the pipeline goes on
                for _ in range(5):
                    stats = daemon.get_json("/api/stats")
                    assert stats["service"]["health"]["http"]["ok"], stats["service"]["health"]["http"]
                    assert stats["service"]["health"]["events"]["ok"]
                    time.sleep(0.2)
                deadline = time.monotonic() + HEADER_TIMEOUT_S + 10
                while open_sockets(socks) and time.monotonic() < deadline:
                    time.sleep(0.5)
                assert open_sockets(socks) == 0, "idle connections outlived the head timeout"
        stats = daemon.get_json("/api/stats")
        assert stats["demo"]["camera_fps"] > 0 and stats["service"]["http"]["refused_connections"] > 0
        grown = len(daemon.log()) - log_before
        assert grown < 20_000, daemon.log()[log_before:][-3000:]  # no traceback per connection
        assert "Too many open files" not in daemon.log() and "Traceback" not in daemon.log()
    finally:
        code, _ = daemon.terminate()
    assert code == 0, daemon.log()[-3000:]
