"""What a stranger's connections may cost the HTTP server: bounded as production servers bound them.

- **Open files.** The soft ``RLIMIT_NOFILE`` is raised to the hard limit at start (systemd's
  default soft limit, 1 024, is a few hundred idle sockets away from a daemon that cannot open
  its own files).
- **Connections.** At most ``total`` open at once (``open files - RESERVED_FILES``: cameras, the
  database, clips and recordings keep theirs), and at most ``per_client`` from one address.
  The machine itself (127.0.0.1 or ::1: the container's health check, a local proxy) has
  ``LOOPBACK_HEADROOM`` more on top of the total, so a stranger filling the server does not lock out its own machine. A
  connection over a bound is answered ``503`` and closed at once: it holds no descriptor.
- **Requests that never come.** A connection must send a complete request head within
  ``header_timeout_s`` of opening (or of its last response): idle sockets and slow-drip headers
  are closed. Once a request is being answered (an MJPEG stream, a download, a WebSocket) the
  timer is off; between requests uvicorn's keep-alive timeout closes an idle connection.
- **Descriptors that still run out.** asyncio stops accepting for a second and reports it on the
  event loop; :class:`AcceptFailures` turns that into one log line per interval and a not-ok
  ``service.health`` entry naming the cause, ok again at the next accepted connection.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from frigate_like.supervise import Health

logger = logging.getLogger(__name__)

RESERVED_FILES = 512  # descriptors the daemon keeps for its own work (pipes, shm, DB, segments, clips)
MIN_CONNECTIONS = 64
MAX_CONNECTIONS = 4096
PER_CLIENT = 128  # a browser with 16 MJPEG streams and the UI needs ~30; behind one proxy, everyone is one address
LOOPBACK_HEADROOM = 32
THIS_MACHINE = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
HEADER_TIMEOUT_S = 10.0
LOG_INTERVAL_S = 60.0
OUT_OF_FILES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_REFUSAL_BODY = json.dumps({"detail": "too many open connections, from this address or in all; retry later"}).encode()
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
    b"Retry-After: 10\r\nContent-Length: %d\r\n\r\n%s" % (len(_REFUSAL_BODY), _REFUSAL_BODY)
)


def raise_open_files_limit() -> int:
    """Raises the soft ``RLIMIT_NOFILE`` to the hard limit; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            logger.warning("could not raise the open files limit from %d to %d: %s", soft, target, exc)
    return soft


@dataclass(frozen=True)
class ConnectionLimits:
    total: int
    per_client: int = PER_CLIENT
    header_timeout_s: float = HEADER_TIMEOUT_S

    @classmethod
    def for_open_files(cls, open_files: int) -> ConnectionLimits:
        total = max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, open_files - RESERVED_FILES))
        return cls(total=total, per_client=min(PER_CLIENT, total))


class ConnectionTable:
    """Open connections by client address. Used on the event loop's thread only; ``stats`` reads sizes."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._by_client: dict[str, set[asyncio.BaseTransport]] = {}
        self._open = 0
        self.refused = 0

    def admit(self, client: str | None, transport: asyncio.BaseTransport) -> bool:
        """Counts ``transport`` in, or returns False when a bound is reached."""
        key = client or "?"
        mine = self._by_client.setdefault(key, set())
        total = self.limits.total + (LOOPBACK_HEADROOM if key in THIS_MACHINE else 0)
        # counted here, not from uvicorn's set: that also holds refused connections not yet gone
        if len(mine) >= self.limits.per_client or self._open >= total:
            self.refused += 1
            if not mine:
                del self._by_client[key]
            return False
        mine.add(transport)
        self._open += 1
        return True

    def leave(self, client: str | None, transport: asyncio.BaseTransport) -> None:
        """``transport`` closed, or became a WebSocket (bounded by the WebSocket hub, not here)."""
        key = client or "?"
        mine = self._by_client.get(key)
        if mine is not None and transport in mine:
            mine.discard(transport)
            self._open -= 1
            if not mine:
                del self._by_client[key]

    def stats(self) -> dict[str, Any]:
        return {
            "connections": self._open,
            "clients": len(self._by_client),
            "max_connections": self.limits.total,
            "max_connections_per_client": self.limits.per_client,
            "refused_connections": self.refused,
        }


def guarded_protocol(table: ConnectionTable, on_accepted: Callable[[], None]) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the bounds of ``table`` and the request-head timeout."""

    class GuardedProtocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None
        _admitted = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            on_accepted()
            if not table.admit(self._host(), transport):
                transport.write(REFUSAL)
                transport.close()
                return
            self._admitted = True
            self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            self._leave()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.transport.get_protocol() is not self:  # a WebSocket now: its protocol has the connection
                self._cancel_head_timer()
                self._leave()
            elif self._answering():
                self._cancel_head_timer()
            elif self._head_timer is None:  # part of a request head: it has the rest of the timeout
                self._arm_head_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_head_timer()  # the next request head, or uvicorn's keep-alive timeout, whichever first

        def _host(self) -> str | None:
            return self.client[0] if self.client else None

        def _leave(self) -> None:
            if self._admitted:
                self._admitted = False
                table.leave(self._host(), self.transport)

        def _answering(self) -> bool:
            return self.cycle is not None and not self.cycle.response_complete

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(table.limits.header_timeout_s, self._head_timed_out)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if not self._answering() and not self.transport.is_closing():
                self.transport.close()

    return GuardedProtocol


class AcceptFailures:
    """asyncio's "accept out of system resource" reports: one log line per interval, and the health entry."""

    def __init__(self, health: Health | None, table: ConnectionTable, interval_s: float = LOG_INTERVAL_S) -> None:
        self.health = health
        self.table = table
        self.interval_s = interval_s
        self._last_logged = float("-inf")
        self._unlogged = 0
        self.failing = False

    def handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if not isinstance(exc, OSError) or exc.errno not in OUT_OF_FILES:
            loop.default_exception_handler(context)
            return
        self.failing = True
        reason = (
            f"cannot accept connections: {exc.strerror or exc} "
            f"({self.table.stats()['connections']} HTTP connections open; open files limit "
            f"{resource.getrlimit(resource.RLIMIT_NOFILE)[0]})"
        )
        if self.health is not None:
            self.health.failed(reason)
        now = time.monotonic()
        if now - self._last_logged < self.interval_s:
            self._unlogged += 1
            return
        more = f"; {self._unlogged} more since the last line" if self._unlogged else ""
        logger.error("%s%s", reason, more)
        self._last_logged, self._unlogged = now, 0

    def accepted(self) -> None:
        if self.failing:
            self.failing = False
            if self.health is not None:
                self.health.ok()
            logger.info("accepting HTTP connections again")
