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
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from frigate_like.api.bridge import SlowClient
from frigate_like.api.errors import raw_error
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
REFUSAL = raw_error(503, "too many open connections, from this address or in all; retry later", [("Retry-After", "10")])


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
        self._by_client: dict[str, set[GuardedConnection]] = {}
        self._by_peer: dict[tuple[str, int], GuardedConnection] = {}  # what an ASGI scope's "client" names
        self._open = 0
        self.refused = 0

    def admit(self, connection: GuardedConnection) -> bool:
        """Counts ``connection`` in, or returns False when a bound is reached."""
        key = connection.client[0] if connection.client else "?"
        mine = self._by_client.setdefault(key, set())
        total = self.limits.total + (LOOPBACK_HEADROOM if key in THIS_MACHINE else 0)
        # counted here, not from uvicorn's set: that also holds refused connections not yet gone
        if len(mine) >= self.limits.per_client or self._open >= total:
            self.refused += 1
            if not mine:
                del self._by_client[key]
            return False
        mine.add(connection)
        if connection.client is not None:
            self._by_peer[connection.client] = connection
        self._open += 1
        return True

    def leave(self, connection: GuardedConnection) -> None:
        """``connection`` closed, or became a WebSocket (bounded by the WebSocket hub, not here)."""
        key = connection.client[0] if connection.client else "?"
        mine = self._by_client.get(key)
        if mine is not None and connection in mine:
            mine.discard(connection)
            if connection.client is not None:
                self._by_peer.pop(connection.client, None)
            self._open -= 1
            if not mine:
                del self._by_client[key]

    def connection_of(self, client: object) -> GuardedConnection | None:
        """The open connection an ASGI scope's ``client`` (host, port) names."""
        if not isinstance(client, (tuple, list)) or len(client) != 2:
            return None
        return self._by_peer.get((str(client[0]), int(client[1])))

    def stats(self) -> dict[str, Any]:
        return {
            "connections": self._open,
            "clients": len(self._by_client),
            "max_connections": self.limits.total,
            "max_connections_per_client": self.limits.per_client,
            "refused_connections": self.refused,
        }


class GuardedConnection(asyncio.Protocol):
    """One accepted connection: admitted by ``table`` or refused, and timed until its request head is complete.

    A composition around the HTTP protocol uvicorn would use (``inner``): every ``asyncio.Protocol``
    method is handed on, nothing of ``inner`` but that public interface is used. What the guard
    cannot see from the bytes — whether a request is being answered — the ASGI layer tells it
    (:class:`AnsweringTracker`); the upgrade to a WebSocket shows as the transport's new protocol.
    """

    def __init__(self, inner: asyncio.Protocol, table: ConnectionTable, on_accepted: Callable[[], None]) -> None:
        self.inner, self.table, self.on_accepted = inner, table, on_accepted
        self.transport: asyncio.Transport | None = None
        self.client: tuple[str, int] | None = None
        self.admitted = False
        self.answering = False
        self._head_timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol -----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # a stream server's transport
        self.transport = transport
        self.on_accepted()
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.client = (str(peer[0]), int(peer[1]))
        if not self.table.admit(self):
            transport.write(REFUSAL)
            transport.close()
            return
        self.admitted = True
        self.inner.connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self.admitted:
            self._leave()
            self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self.admitted:
            return
        self.inner.data_received(data)
        if self.transport is not None and self.transport.get_protocol() is not self:
            # a WebSocket now: its protocol has the connection (bounded by the WebSocket hub, not here)
            self._cancel_head_timer()
            self._leave()
        elif not self.answering and self._head_timer is None:  # part of a request head: it has the rest
            self._arm_head_timer()

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.admitted else None

    def pause_writing(self) -> None:
        if self.admitted:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.admitted:
            self.inner.resume_writing()

    # -- told by the ASGI layer -----------------------------------------------------------------------
    def request_started(self) -> None:
        self.answering = True
        self._cancel_head_timer()

    def request_finished(self) -> None:
        self.answering = False
        if self.transport is not None and not self.transport.is_closing():
            self._arm_head_timer()  # the next request head, or uvicorn's keep-alive timeout, whichever first

    def abort(self) -> None:
        """Closes the connection now, dropping whatever is still buffered for it."""
        if self.transport is not None:
            self.transport.abort()

    # -----------------------------------------------------------------------------------------------
    def _leave(self) -> None:
        if self.admitted:
            self.admitted = False
            self.table.leave(self)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        loop = asyncio.get_running_loop()
        self._head_timer = loop.call_later(self.table.limits.header_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.answering and self.transport is not None and not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(table: ConnectionTable, on_accepted: Callable[[], None]) -> type[asyncio.Protocol]:
    """What ``uvicorn.Config(http=...)`` takes: uvicorn's h11 protocol inside a :class:`GuardedConnection`."""

    class GuardedH11(GuardedConnection):
        def __init__(self, **uvicorn_args: Any) -> None:  # handed on untouched: config, server state, loop
            super().__init__(H11Protocol(**uvicorn_args), table, on_accepted)

    return GuardedH11


class AnsweringTracker:
    """ASGI middleware, outermost: tells each request's connection that it is being answered, then that it was."""

    def __init__(self, app: ASGIApp, table: ConnectionTable) -> None:
        self.app, self.table = app, table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection = self.table.connection_of(scope.get("client")) if scope["type"] == "http" else None
        if connection is None:
            await self.app(scope, receive, send)
            return
        connection.request_started()
        try:
            await self.app(scope, receive, send)
        except SlowClient:
            # what is buffered for a client that stopped reading would never go: a close would wait on it
            connection.abort()
            raise
        finally:
            connection.request_finished()


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
