"""Bounds on what one request or one client may cost: body size, JSON depth, requests in flight per client.

- :class:`RequestLimits` (ASGI, in front of the Flask bridge): a body over
  ``http.max_body_bytes`` is refused with 413 before more than that is read (a declared
  ``Content-Length`` is refused before anything is read), so sixteen 50 MB uploads cost
  nothing; and one client address may have at most ``per_client`` requests in flight (429),
  so one client cannot hold every worker (MJPEG viewers above all). Loopback is not counted:
  behind a local reverse proxy every viewer is the proxy.
- :class:`BoundedJSONProvider`: JSON nested deeper than Python can parse is a 400 like any
  other malformed body, not a ``RecursionError`` and a 500.

A viewer that stops reading is dropped by the bridge (``bridge.SEND_TIMEOUT_S``).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from flask.json.provider import DefaultJSONProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frigate_like.api.access import is_loopback
from frigate_like.api.errors import error_messages

DEFAULT_MAX_BODY = 1024 * 1024
PER_CLIENT_REQUESTS = 16  # in flight at once from one non-loopback address (each MJPEG viewer is one)


class RequestLimits:
    """ASGI middleware: the body limit and the per-client cap, before the wrapped app sees the request."""

    def __init__(self, app: ASGIApp, max_body: int = DEFAULT_MAX_BODY, per_client: int = PER_CLIENT_REQUESTS) -> None:
        self.app, self.max_body, self.per_client = app, max_body, per_client
        self._in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = None if client is None or is_loopback(client[0]) else str(client[0])
        if address is not None:
            with self._lock:
                if self._in_flight[address] >= self.per_client:
                    await _send_all(send, error_messages(429, "too many requests in flight from this client",
                                                          [("Retry-After", "5")]))  # fmt: skip
                    return
                self._in_flight[address] += 1
        try:
            await self._limited(scope, receive, send)
        finally:
            if address is not None:
                with self._lock:
                    self._in_flight[address] -= 1
                    if not self._in_flight[address]:
                        del self._in_flight[address]

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        too_large = error_messages(413, f"the request body is over {self.max_body} bytes (http.max_body_bytes)")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _send_all(send, too_large)
            return
        # Read the body here, at most max_body bytes of it, and hand it on in one piece: the bridge
        # would otherwise queue whatever arrives, however much that is.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # gone before the body was complete
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _send_all(send, too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)


async def _send_all(send: Send, messages: list[Message]) -> None:
    for message in messages:
        await send(message)


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, where nesting too deep to parse is malformed JSON (``ValueError`` → 400)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None
