"""Maps every error to JSON ``{"detail": ...}`` with the right status code."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
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

STATUS_OF: list[tuple[type[FrigateLikeError], int]] = [
    (BadRequest, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
    (Unavailable, 503),
    (BadGateway, 502),
]


def error_response(status: int, detail: str) -> Response:
    response = jsonify({"detail": detail})
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(FrigateLikeError)
    def _domain_error(exc: FrigateLikeError) -> Response:
        for kind, status in STATUS_OF:
            if isinstance(exc, kind):
                response = error_response(status, str(exc))
                if status == 401:
                    response.headers["WWW-Authenticate"] = "Bearer"
                elif status == 503:  # a dependency (database, camera, detector) is away for now
                    response.headers["Retry-After"] = str(RETRY_AFTER_S)
                return response
        logger.error("unhandled domain error: %s", exc)
        return error_response(500, str(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        response = error_response(exc.code or 500, exc.description or exc.name)
        for name, value in exc.get_headers():  # Allow on 405, Content-Range on 416
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("request failed")
        return error_response(500, "internal server error")
