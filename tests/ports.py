"""Free TCP ports for the servers the tests start (daemons, restreams, brokers, nginx)."""

from __future__ import annotations

import socket
import threading

_handed: set[int] = set()
_lock = threading.Lock()


def free_port() -> int:
    """A port nothing listens on now, and never one this process handed out before: two ports asked for one
    config (HTTP and the restream) once came back equal, and the second server could not listen."""
    with _lock:
        while True:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _handed:
                _handed.add(port)
                return port
