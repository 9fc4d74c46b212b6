"""Serves the Flask (WSGI) app inside the ASGI server: streams that end with their client, or at stop.

a2wsgi's public ``WSGIMiddleware(app, workers=..., send_queue_size=...)`` runs each WSGI request on
a worker of its thread pool and hands the body chunks to the event loop. Three things it does not
do for long-lived streams (MJPEG, live.mp4) are composed around it here, through the ASGI interface
only:

- **The client went away.** Behind uvicorn, sending to a closed connection is silently
  ignored, so a generator response would stream into the void forever, holding a worker.
  :class:`WsgiBridge` is the one reader of ``receive()``: it hands the body on and sets a
  per-request event at ``http.disconnect``; the response iterable is wrapped so it stops at the
  next chunk, and a view can ask :func:`client_disconnected` / wait on :func:`client_gone_event`.
- **The client stopped reading.** A viewer that keeps its connection open but reads nothing
  would hold a worker forever once the socket buffers fill. When one chunk cannot be handed to
  the connection within ``send_timeout``, the request counts as gone, the rest of its response
  is dropped and the connection is closed (uvicorn closes it when the app raises
  :class:`SlowClient`; :class:`SlowClientLogFilter` makes that one quiet log line).
- **Shutdown.** a2wsgi's workers are ordinary threads, joined at interpreter exit: one stuck in
  a stream would hang the daemon's exit. :meth:`WsgiBridge.stop` marks every live request (and
  any later one) as gone, so every stream ends at its next chunk and its worker returns.

A streaming view should yield (or check :func:`client_disconnected`) at least every few
seconds, so a departed client or a shutdown is noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import cast

from a2wsgi import WSGIMiddleware
from a2wsgi.wsgi_typing import Environ, StartResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SEND_TIMEOUT_S = 30.0  # a chunk not taken by the connection within this long: the client stopped reading
SEND_QUEUE_CHUNKS = 10  # chunks a worker may run ahead of its connection before it waits

_client_gone: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar("client_gone", default=None)


def client_gone_event() -> threading.Event | None:
    """The current request's "client gone / server stopping" event (None outside the bridge)."""
    return _client_gone.get()


def client_disconnected() -> bool:
    """True once the current request's client has gone or the server is stopping."""
    gone = _client_gone.get()
    return gone is not None and gone.is_set()


def _until_gone(result: Iterable[bytes], gone: threading.Event) -> Iterator[bytes]:
    """``result``'s chunks until the client is gone; always closes ``result`` (WSGI rule)."""
    try:
        for chunk in result:
            if gone.is_set():
                return
            yield chunk
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


class _StopWhenGone:
    """WSGI middleware: wraps each response so it ends once its client is gone."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        result = self.app(environ, start_response)
        gone = _client_gone.get()
        return result if gone is None else _until_gone(result, gone)


def current_task_cancelled() -> bool:
    """Whether the running task itself is being cancelled (not only something it awaited)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class SlowClient(Exception):
    """Raised to the ASGI server once a client stopped reading: it closes the connection."""


class SlowClientLogFilter(logging.Filter):
    """On uvicorn's error logger: a :class:`SlowClient` is one line, not "Exception in ASGI application"."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, SlowClient):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args, record.exc_info, record.exc_text = str(exc), None, None, None
        return True


class WsgiBridge:
    """ASGI app serving a WSGI app from at most ``workers`` threads (one per request in flight)."""

    def __init__(
        self, wsgi_app: Callable[..., Iterable[bytes]], workers: int, *, send_timeout: float = SEND_TIMEOUT_S
    ) -> None:
        self.send_timeout = send_timeout
        self._wsgi = WSGIMiddleware(_StopWhenGone(wsgi_app), workers=workers, send_queue_size=SEND_QUEUE_CHUNKS)
        # a2wsgi types the ASGI messages as its own TypedDicts, Starlette as plain mappings: the same protocol
        self._app = cast(ASGIApp, self._wsgi)
        self._live: set[threading.Event] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending: set[asyncio.Future[None]] = set()  # chunks being handed to connections (the loop's thread)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        gone = threading.Event()
        with self._lock:
            if self._stopping:
                gone.set()
            self._live.add(gone)
        inbox: asyncio.Queue[Message] = asyncio.Queue()

        async def watch() -> None:
            # The only reader of receive(): the body goes on to a2wsgi through ``inbox``, and
            # the disconnect that follows it (or the end of the response) sets ``gone``.
            while True:
                message = await receive()
                inbox.put_nowait(message)
                if message["type"] == "http.disconnect":
                    gone.set()
                    return

        stalled: list[str] = []

        async def send_or_give_up(message: Message) -> None:
            if stalled:
                return  # the client stopped reading: drop the rest, so the worker finishes
            sending = asyncio.ensure_future(send(message))
            self._sending.add(sending)
            try:
                await asyncio.wait_for(sending, self.send_timeout)
            except TimeoutError:
                stalled.append(f"client {scope.get('client')} read nothing for {self.send_timeout:g} s: dropped")
                gone.set()
            except asyncio.CancelledError:
                if not sending.cancelled() or current_task_cancelled():
                    raise
                stalled.append(f"client {scope.get('client')} was still being sent to at stop: dropped")  # stop()
            finally:
                self._sending.discard(sending)

        self._loop = asyncio.get_running_loop()
        watcher = self._loop.create_task(watch())
        token = _client_gone.set(gone)  # a2wsgi copies this context into the worker thread
        try:
            await self._app(scope, inbox.get, send_or_give_up)
            if stalled:
                raise SlowClient(stalled[0])
        finally:
            _client_gone.reset(token)
            gone.set()
            watcher.cancel()
            with self._lock:
                self._live.discard(gone)

    def stop(self) -> None:
        """Marks every request in flight (and any later one) as gone: streams end at their next chunk; a chunk
        waiting for a client that stopped reading is given up at once, so no worker waits on it."""
        with self._lock:
            self._stopping = True
            live = list(self._live)
        for gone in live:
            gone.set()
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing is being sent
                self._loop.call_soon_threadsafe(self._give_up_sending)

    def _give_up_sending(self) -> None:
        for sending in list(self._sending):
            sending.cancel()

    def close(self) -> None:
        """After the server stopped: drops requests still queued for a worker (none start after this)."""
        self._wsgi.executor.shutdown(wait=False, cancel_futures=True)
