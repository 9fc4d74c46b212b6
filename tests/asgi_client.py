"""A test client for the whole ASGI stack the server runs (connection tracking, limits, the access policy, the
router, the Flask bridge), in process: werkzeug's test client on a2wsgi's ASGI-to-WSGI adapter.

Like Flask's test client: the caller is 127.0.0.1 unless ``environ_base={"REMOTE_ADDR": ...}`` says otherwise,
cookies are kept between requests, responses have ``get_json()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any, cast
from wsgiref.types import StartResponse as WerkzeugStartResponse

from a2wsgi import ASGIMiddleware
from a2wsgi.asgi_typing import ASGIApp as A2wsgiApp
from a2wsgi.wsgi_typing import Environ, StartResponse
from flask import Flask
from werkzeug.test import Client, TestResponse

from frigate_like.api.server import HttpServer


class StackClient(Client):
    def open(self, *args: Any, buffered: bool = True, **kwargs: Any) -> TestResponse:
        # buffered: the whole answer is read, so the ASGI app has finished (and its view closed) on return
        return super().open(*args, buffered=buffered, **kwargs)

    def __enter__(self) -> StackClient:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None


def stack_client(app: Flask, **server_args: Any) -> StackClient:
    """A client of ``HttpServer(app, ...)``'s ASGI app; the server itself is never started."""
    # a2wsgi types ASGI apps with its own TypedDicts, Starlette with plain mappings: the same protocol
    asgi = ASGIMiddleware(cast(A2wsgiApp, HttpServer(app, "127.0.0.1", 0, **server_args).asgi_app))

    def with_a_client_address(environ: dict[str, Any], start_response: WerkzeugStartResponse) -> Iterable[bytes]:
        environ.setdefault("REMOTE_ADDR", "127.0.0.1")
        environ.setdefault("REMOTE_PORT", "50000")  # a2wsgi names the ASGI scope's client only with both
        return asgi(cast(Environ, environ), cast(StartResponse, start_response))

    return StackClient(with_a_client_address)
