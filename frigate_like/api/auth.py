"""Guards destructive endpoints: the configured ``http.api_token`` as a Bearer token, else loopback clients only.

- ``http.api_token`` set: every request must send ``Authorization: Bearer <token>``,
  from anywhere, loopback included.
- no token: only loopback clients (127.0.0.0/8, ::1) may call; anything else is refused.
  Behind a reverse proxy or Docker's port mapping the client is the proxy, so set a token.

Refusals are ``Unauthorized`` (401 ``{"detail": ...}``). Use :func:`require_token` on a view.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import current_app, request

from frigate_like.errors import Unauthorized

F = TypeVar("F", bound=Callable[..., Any])


def is_loopback(address: str | None) -> bool:
    """Whether ``address`` (an IP, as WSGI's REMOTE_ADDR) is a loopback address."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return bool((mapped or ip).is_loopback)


def authorize(remote_addr: str | None, authorization: str | None, api_token: str | None) -> None:
    """Raises ``Unauthorized`` unless the caller may use a destructive endpoint."""
    if api_token:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), api_token.encode()):
            raise Unauthorized("this endpoint needs the API token: send 'Authorization: Bearer <http.api_token>'")
        return
    if not is_loopback(remote_addr):
        raise Unauthorized("this endpoint only answers loopback clients; set http.api_token to allow others")


def require_token(view: F) -> F:
    """View decorator: :func:`authorize` against the app's ``config.http.api_token``."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        config = current_app.config["SERVICES"].config
        token = config.http.api_token if config is not None else None  # no config: the loopback rule
        authorize(request.remote_addr, request.headers.get("Authorization"), token)
        return view(*args, **kwargs)

    return cast(F, guarded)
