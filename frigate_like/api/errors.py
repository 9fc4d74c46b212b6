"""The one renderer of error answers: JSON ``{"detail": ...}`` with the right status code and headers.

Every refusal goes through :func:`error_body`: Flask's error handlers (:func:`error_response`), the
ASGI layers in front of Flask — body too large, too many requests, the access policy, a WebSocket
upgrade refused (:func:`error_messages`) — and the 503 written to a connection over the bounds
(api/connections.py, :func:`raw_error`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from http import HTTPStatus

from flask import Flask, Response
from starlette.types import Message
from werkzeug.exceptions import HTTPException

from frigate_like.errors import (
    BadGateway,
    BadRequest,
    Conflict,
    Forbidden,
    FrigateLikeError,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5  # what a 503 tells clients: the daemon retries its dependencies about this often
Headers = Sequence[tuple[str, str]]


class TooManyRequests(FrigateLikeError):
    """Too many wrong tokens from one address: wait ``retry_after`` seconds (HTTP 429 with ``Retry-After``)."""

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = max(1, math.ceil(retry_after))


STATUS_OF: list[tuple[type[FrigateLikeError], int]] = [
    (BadRequest, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
    (TooManyRequests, 429),
    (Unavailable, 503),
    (BadGateway, 502),
]


def error_body(detail: str) -> bytes:
    """The body of every error answer (as Flask's ``jsonify`` writes it)."""
    return json.dumps({"detail": detail}, separators=(",", ":")).encode() + b"\n"


def status_of(exc: FrigateLikeError) -> tuple[int, list[tuple[str, str]]]:
    """The status code of a domain error and the headers that go with it."""
    for kind, status in STATUS_OF:
        if isinstance(exc, kind):
            if isinstance(exc, TooManyRequests):
                return status, [("Retry-After", str(exc.retry_after))]
            if status == 401:
                return status, [("WWW-Authenticate", "Bearer")]
            if status == 503:  # a dependency (database, camera, detector) is away for now
                return status, [("Retry-After", str(RETRY_AFTER_S))]
            return status, []
    logger.error("unhandled domain error: %s", exc)
    return 500, []


def error_response(status: int, detail: str, headers: Headers = ()) -> Response:
    """The error as a Flask response."""
    response = Response(error_body(detail), status=status, mimetype="application/json")
    for name, value in headers:
        response.headers[name] = value
    return response


def error_messages(status: int, detail: str, headers: Headers = (), *, websocket: bool = False) -> list[Message]:
    """The error as ASGI messages: an HTTP response, or the denial of a WebSocket upgrade."""
    body = error_body(detail)
    prefix = "websocket.http.response" if websocket else "http.response"
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    return [
        {"type": f"{prefix}.start", "status": status, "headers": raw_headers},
        {"type": f"{prefix}.body", "body": body},
    ]


def raw_error(status: int, detail: str, headers: Headers = ()) -> bytes:
    """The error as the bytes of a whole HTTP/1.1 response that closes its connection."""
    body = error_body(detail)
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Content-Type: application/json", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers] + [f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(FrigateLikeError)
    def _domain_error(exc: FrigateLikeError) -> Response:
        status, headers = status_of(exc)
        return error_response(status, str(exc), headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        # Allow on 405, Content-Range on 416
        headers = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
        return error_response(exc.code or 500, exc.description or exc.name, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("request failed")
        return error_response(500, "internal server error")
