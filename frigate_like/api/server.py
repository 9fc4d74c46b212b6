"""The HTTP server: uvicorn in a thread of the daemon, serving WebSockets natively and Flask through a bridge.

One port for everything, one stack of ASGI layers, each configured through public interfaces:

1. :class:`~frigate_like.api.connections.AnsweringTracker` tells the connection guards (uvicorn's h11
   protocol inside :class:`~frigate_like.api.connections.GuardedConnection`) which connection is
   being answered, so its request-head timer is off;
2. :class:`~frigate_like.api.limits.RequestLimits`: per-client requests in flight, the body size;
3. :class:`~frigate_like.api.access.AccessGuard`: the access policy, for HTTP and the WebSocket alike;
4. the Starlette router: the WebSocket path(s) to their endpoints, every other request to the
   Flask app through :class:`~frigate_like.api.bridge.WsgiBridge` (a2wsgi).

uvicorn runs in a thread (``server.run()``); it installs no signal handlers there (they
are only installed from the main thread), so SIGTERM stays the daemon's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import cast

import uvicorn
from flask import Flask
from starlette.applications import Starlette
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from frigate_like.api.access import AccessGuard, WebSocketEndpoint, flask_route_kinds, policy_of
from frigate_like.api.bridge import SEND_TIMEOUT_S, SlowClientLogFilter, WsgiBridge
from frigate_like.api.connections import (
    AcceptFailures,
    AnsweringTracker,
    ConnectionLimits,
    ConnectionTable,
    guarded_protocol,
)
from frigate_like.api.limits import DEFAULT_MAX_BODY, RequestLimits
from frigate_like.errors import Unavailable
from frigate_like.events.live import MAX_STREAMS
from frigate_like.supervise import Health

logger = logging.getLogger(__name__)

MJPEG_STREAMS = MAX_STREAMS  # long-lived streams that must fit at once: each holds one worker thread
WSGI_WORKERS = MJPEG_STREAMS + 16  # + room for ordinary requests while every stream runs
ACCEPT_BACKLOG = 128
FORWARDED_ALLOW_IPS = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")  # uvicorn's default, and its variable
GRACEFUL_SHUTDOWN_S = 3  # then uvicorn cancels what is left (a client that never reads, ...)

LoopListener = Callable[[asyncio.AbstractEventLoop | None], None]


def build_asgi_app(
    bridge: ASGIApp, websockets: Mapping[str, WebSocketEndpoint], on_loop: LoopListener | None = None
) -> Starlette:
    """WebSocket routes first, then everything else to ``bridge``; ``on_loop`` learns the event loop."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if on_loop is not None:
            on_loop(asyncio.get_running_loop())
        try:
            yield
        finally:
            if on_loop is not None:
                on_loop(None)

    async def everything_else(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # an unknown WebSocket path
            await send({"type": "websocket.close", "code": 1008})
            return
        await bridge(scope, receive, send)

    routes: list[BaseRoute] = [WebSocketRoute(path, endpoint) for path, endpoint in websockets.items()]
    app = Starlette(routes=routes, lifespan=lifespan)
    # Not a Mount("/"): its pattern does not match every path (a %0A in it, say), and Starlette's own
    # plain-text 404 would answer. Every HTTP request that is no WebSocket route goes to Flask.
    app.router.default = everything_else
    return app


def _quiet_slow_clients() -> None:
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, SlowClientLogFilter) for f in error_log.filters):
        error_log.addFilter(SlowClientLogFilter())


class HttpServer:
    """``start()`` serves in a thread and returns once listening; ``stop()`` ends streams, then the server."""

    def __init__(
        self,
        wsgi_app: Callable[..., Iterable[bytes]],
        host: str,
        port: int,
        *,
        websockets: Mapping[str, WebSocketEndpoint] | None = None,
        on_loop: LoopListener | None = None,
        workers: int = WSGI_WORKERS,
        max_body: int = DEFAULT_MAX_BODY,
        send_timeout: float = SEND_TIMEOUT_S,
        limits: ConnectionLimits | None = None,
        health: Health | None = None,
    ) -> None:
        """``limits``: the connection bounds (api/connections.py; default: from the open files limit now);
        ``health``: the entry that says when connections cannot be accepted. The access policy is the one
        ``create_app`` gave ``wsgi_app`` (api/access.py); a Flask app without one is served unguarded (tests)."""
        self.host = host
        self.bridge = WsgiBridge(wsgi_app, workers, send_timeout=send_timeout)
        if limits is None:
            limits = ConnectionLimits.for_open_files(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        self.connections = ConnectionTable(limits)
        self._accept_failures = AcceptFailures(health, self.connections)

        def loop_changed(loop: asyncio.AbstractEventLoop | None) -> None:
            if loop is not None:
                loop.set_exception_handler(self._accept_failures.handle)
            if on_loop is not None:
                on_loop(loop)

        app: ASGIApp = build_asgi_app(self.bridge, websockets or {}, loop_changed)
        if isinstance(wsgi_app, Flask) and (policy := policy_of(wsgi_app)) is not None:
            app = AccessGuard(app, policy, flask_route_kinds(wsgi_app))
        # uvicorn's proxy-header middleware (X-Forwarded-For from a proxy on this machine names the client) goes
        # inside the tracker, which finds a request's connection by the address the connection came from
        # (uvicorn types ASGI messages as TypedDicts, Starlette as plain mappings: the same protocol, hence the casts)
        limited = cast(Callable[..., Awaitable[None]], RequestLimits(app, max_body))
        proxied = cast(ASGIApp, ProxyHeadersMiddleware(limited, trusted_hosts=FORWARDED_ALLOW_IPS))
        self.asgi_app: ASGIApp = AnsweringTracker(proxied, self.connections)  # what uvicorn serves
        config = uvicorn.Config(
            self.asgi_app,
            host=host,
            port=port,
            loop="asyncio",
            http=guarded_protocol(self.connections, self._accept_failures.accepted),
            # also how many connections asyncio accepts in one go before any is admitted or refused: at
            # uvicorn's 2 048 a burst of strangers would hold that many descriptors at once
            backlog=ACCEPT_BACKLOG,
            lifespan="on",
            proxy_headers=False,  # applied in self.asgi_app instead
            log_config=None,  # our logging stays as configured: uvicorn's loggers propagate to root
            access_log=False,  # one line per request (MJPEG frame polls, stats) would drown the log
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            ws_max_size=64 * 1024,  # clients only send small JSON requests
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        _quiet_slow_clients()

    def start(self, timeout: float = 15.0) -> None:
        """Raises ``Unavailable`` when the server cannot listen (port taken, bad host)."""
        self._thread = threading.Thread(target=self._run, name="http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise Unavailable(f"cannot serve HTTP on {self.host}:{self._server.config.port} (see the log above)")
            time.sleep(0.02)

    def _run(self) -> None:
        try:
            self._server.run()
        except SystemExit:  # uvicorn exits like this when it cannot bind; start() reports it
            logger.debug("uvicorn exited", exc_info=True)

    def stats(self) -> dict[str, object]:
        """``service.http`` of ``/api/stats``: open connections and their bounds."""
        return {**self.connections.stats(), "open_files_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}

    @property
    def port(self) -> int:
        """The port listened on (the real one when 0 was asked for)."""
        for server in self._server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self._server.config.port)

    def stop(self, timeout: float = 10.0) -> None:
        self.bridge.stop()
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("HTTP server did not stop within %.0f s", timeout)
        self.bridge.close()
