"""Who may do what: one access policy for every HTTP route and the WebSocket, checked in one place.

The place is :class:`AccessGuard`, ASGI middleware in front of the Flask app and the WebSocket routes
(api/server.py): it learns what a request is to the policy from Flask's URL map and the markers below,
and answers a refusal through api/errors.py like every other error.

The rules (``http`` section of the config):

- **Host** (every request and the WebSocket): the ``Host`` header must be an IP address, a
  loopback name, or one of the machine's host names — or of what ``http.allowed_hosts`` lists
  instead of those (``"*"``: any). A web page that rebinds its own DNS name to this machine
  still sends its own name, so it is refused (403).
- **Reads** (GET/HEAD/OPTIONS that change nothing) are open — Home Assistant's integration
  reads without credentials — unless ``http.auth: required``, then they need the token.
- **State changes** (other methods, plus the few GETs marked with :func:`changes_state`,
  such as ``/shutdown``) and **the WebSocket** need the caller to be allowed: the token when
  ``http.api_token`` is set, else a loopback client (401), and a same-origin or absent
  ``Origin`` (403).
- A state-changing **POST/PUT/DELETE** also needs a JSON ``Content-Type`` unless the token came
  as a Bearer header (415): a cross-site form can send neither, and a cross-site ``fetch`` with
  JSON or an ``Authorization`` header needs a CORS preflight this server never grants.
- A state-changing **GET** is a plain GET, as SkellyCam's API documents it (``curl url``,
  ``fetch(url)``): no body type is asked for. What a JSON type would have kept out, a
  cross-site ``<img>``, link or ``fetch``, the browser itself names: every current browser sends
  ``Sec-Fetch-Site`` (``cross-site`` or ``same-site`` from another page, ``same-origin`` from
  ours, ``none`` when the user typed the address), so anything but ``same-origin``/``none`` is
  refused (403), and so is a foreign ``Origin``. A client that is no browser sends neither and
  gets through when it is allowed (loopback, or the token). ``same-site`` is refused too: the
  login cookie rides along on requests from another port of this host.

The token comes as ``Authorization: Bearer <token>``; a browser (``<img>``, ``<video>``, the
WebSocket) logs in with it once (``POST /api/login``) and gets the HttpOnly, SameSite=Strict
cookie, which holds a random session id, never the token: :class:`Sessions` keeps them in memory
(bounded in number, each expiring after :data:`SESSION_LIFETIME_S`), ``POST /api/logout`` revokes
the one it gets, and a restart logs everyone out. Never the token in a query string: those end up
in logs and browser history.

**Guessing** costs time (:class:`LoginLimiter`): per client address (an IPv6 client's /64), the
first :data:`FREE_FAILURES` wrong tokens (login, or a wrong Bearer header) are free; then each
wrong token closes that address for a while, doubling each time up to :data:`MAX_BACKOFF_S`, and
while it is closed every login and every Bearer request from it gets 429 with ``Retry-After``
(the token is not even compared, so the closed time gives nothing away). A right token once it
is open again works and forgets the address's record. The first lock of a burst is logged once,
with the address; the burst ends after :data:`QUIET_S` without a wrong token. Loopback is
limited too (behind a local reverse proxy, everyone is loopback), but at most
:data:`MAX_BACKOFF_S` at a time, so a local operator is never locked out for good.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, request
from flask_openapi3 import APIBlueprint, OpenAPI, Tag
from pydantic import Field, model_validator
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RoutingException

from frigate_like.api.errors import TooManyRequests, error_messages, status_of
from frigate_like.api.openapi import errors
from frigate_like.api.openapi_models import Status
from frigate_like.api.params import JsonBody
from frigate_like.config.sections import HttpConfig
from frigate_like.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    FrigateLikeError,
    Unauthorized,
    UnsupportedMediaType,
)

logger = logging.getLogger(__name__)

COOKIE = "frigate_like_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_ORIGIN_FETCH_SITES = frozenset({"same-origin", "none"})  # our own page, or the user typing the address
MAX_LOGGED_HOSTS = 20
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
SESSION_LIFETIME_S = 7 * 24 * 3600  # a login lasts a week (the cookie's Max-Age says the same)
MAX_SESSIONS = 1000  # logged-in browsers at once; the oldest login goes first when more log in
FREE_FAILURES = 5  # wrong tokens from one address before it has to wait
FIRST_BACKOFF_S = 1.0  # the first wait; doubles with each further wrong token
MAX_BACKOFF_S = 60.0  # never longer than this, loopback included
QUIET_S = 15 * 60.0  # an address without a wrong token for this long starts afresh (a new burst)
MAX_TRACKED_ADDRESSES = 10_000  # addresses with wrong tokens remembered at once; the stalest go first

Kind = Literal["read", "write", "login"]
KINDS: tuple[Kind, ...] = ("read", "write", "login")
ACCESS_KIND = "access_kind"  # the view attribute the markers below set
WebSocketEndpoint = Callable[[WebSocket], Awaitable[None]]
F = TypeVar("F", bound=Callable[..., object])


def changes_state(view: F) -> F:
    """Marks a GET view that changes state (``/shutdown``): it gets the guards of a POST."""
    setattr(view, ACCESS_KIND, "write")
    return view


def only_reads(view: F) -> F:
    """Marks a POST view that changes nothing (device discovery): it is a read."""
    setattr(view, ACCESS_KIND, "read")
    return view


def _login_view(view: F) -> F:
    setattr(view, ACCESS_KIND, "login")
    return view


@dataclass(frozen=True)
class Caller:
    """What the policy looks at in a request or a WebSocket upgrade."""

    host: str | None  # the Host header
    origin: str | None
    content_type: str | None
    remote_addr: str | None
    authorization: str | None
    cookie_token: str | None
    method: str = "POST"
    fetch_site: str | None = None  # Sec-Fetch-Site, sent by browsers only


def is_loopback(address: str | None) -> bool:
    """Whether ``address`` (an IP, as WSGI's REMOTE_ADDR) is a loopback address."""
    ip = _ip(address)
    return ip is not None and ip.is_loopback


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    try:
        ip = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return mapped or ip


def host_name(host_header: str) -> str:
    """``Host`` without its port, lower case, no trailing dot: ``[::1]:5000`` → ``::1``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def machine_names() -> set[str]:
    name = socket.gethostname().lower()
    names = {name, f"{name}.local"}  # .local: the mDNS name a home network usually uses
    with contextlib.suppress(OSError):
        names.add(socket.getfqdn().lower())
    return {n.rstrip(".") for n in names if n}


class Sessions:
    """Logged-in browsers: random ids, each with an expiry; thread-safe, bounded, in memory only.

    Kept by the SHA-256 of the id, so a lookup compares digests of what the client sent, never
    the ids themselves character by character.
    """

    def __init__(
        self,
        lifetime_s: float = SESSION_LIFETIME_S,
        limit: int = MAX_SESSIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lifetime_s, self.limit, self._clock = lifetime_s, limit, clock
        self._expiry: OrderedDict[bytes, float] = OrderedDict()  # oldest login first
        self._lock = threading.Lock()

    def create(self) -> str:
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._drop_expired()
            while len(self._expiry) >= self.limit:
                self._expiry.popitem(last=False)
            self._expiry[_digest(session_id)] = self._clock() + self.lifetime_s
        return session_id

    def valid(self, session_id: str | None) -> bool:
        if not session_id:
            return False
        key = _digest(session_id)
        with self._lock:
            expiry = self._expiry.get(key)
            if expiry is None:
                return False
            if expiry <= self._clock():
                del self._expiry[key]
                return False
            return True

    def revoke(self, session_id: str | None) -> bool:
        if not session_id:
            return False
        with self._lock:
            return self._expiry.pop(_digest(session_id), None) is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def _drop_expired(self) -> None:
        now = self._clock()
        while self._expiry:
            key, expiry = next(iter(self._expiry.items()))
            if expiry > now:  # the lifetime is the same for all: the oldest login expires first
                return
            del self._expiry[key]


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0  # when the last wrong token came
    open_at: float = 0.0  # refused until then
    logged: bool = False  # this burst's line is written


class LoginLimiter:
    """Wrong tokens per client address, and how long each address has to wait (see the module text)."""

    def __init__(
        self,
        free: int = FREE_FAILURES,
        first_s: float = FIRST_BACKOFF_S,
        max_s: float = MAX_BACKOFF_S,
        quiet_s: float = QUIET_S,
        limit: int = MAX_TRACKED_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.first_s, self.max_s, self.quiet_s, self.limit = free, first_s, max_s, quiet_s, limit
        self._clock = clock
        self._addresses: OrderedDict[str, _Failures] = OrderedDict()  # least recently failed first
        self._lock = threading.Lock()

    def check(self, address: str | None) -> None:
        """Raises ``TooManyRequests`` (with the seconds to wait) while ``address`` is closed."""
        key = client_key(address)
        with self._lock:
            record = self._addresses.get(key)
            if record is None:
                return
            now = self._clock()
            if now - record.last >= self.quiet_s:
                del self._addresses[key]
                return
            wait = record.open_at - now
        if wait > 0:
            raise TooManyRequests("too many wrong tokens from this address; try again later", retry_after=wait)

    def failed(self, address: str | None) -> None:
        """One more wrong token from ``address``: may close it, doubling the wait (logged once a burst)."""
        key = client_key(address)
        now = self._clock()
        with self._lock:
            record = self._addresses.pop(key, None)
            if record is None or now - record.last >= self.quiet_s:
                record = _Failures()
            self._addresses[key] = record  # most recent last
            while len(self._addresses) > self.limit:
                self._addresses.popitem(last=False)
            record.count += 1
            record.last = now
            over = record.count - self.free
            if over < 0:
                return
            wait = min(self.max_s, self.first_s * 2.0 ** min(over, 64))
            record.open_at = now + wait
            first_lock, record.logged, count = not record.logged, True, record.count
        if first_lock:
            logger.warning(
                "login: %d wrong tokens from %s; refusing its logins and Bearer requests (429) for %.0f s, "
                "doubling with each further wrong token up to %.0f s",
                count, key, wait, self.max_s,
            )  # fmt: skip

    def succeeded(self, address: str | None) -> None:
        with self._lock:
            self._addresses.pop(client_key(address), None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._addresses)


def client_key(address: str | None) -> str:
    """Whose wrong tokens these are: the IP address, an IPv6 client's /64 (one host often has a whole /64)."""
    ip = _ip(address)
    if ip is None:
        return address or "?"
    if ip.version == 6 and not ip.is_loopback:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class AccessPolicy:
    """The rules above for one ``http`` config; thread-safe, built once per app."""

    def __init__(
        self, token: str | None = None, auth_required: bool = False, allowed_hosts: Iterable[str] | None = None
    ) -> None:
        self.token = token
        self.auth_required = auth_required
        hosts = list(allowed_hosts) if allowed_hosts is not None else None
        self._any_host = hosts is not None and "*" in hosts
        # the configured list replaces the machine's own names; loopback names always stay
        self._hosts = {host_name(h) for h in hosts} if hosts is not None else machine_names()
        self._refused_hosts: set[str] = set()
        self.sessions = Sessions()
        self.limiter = LoginLimiter()

    @classmethod
    def from_config(cls, http: HttpConfig | None) -> AccessPolicy:
        """The policy of ``http``: one per config object, so the HTTP routes and the WebSocket share the
        logged-in sessions and the wrong-token counts."""
        if http is None:  # no config (tests of single views): the loopback rule
            return cls()
        with _POLICIES_LOCK:
            known = _POLICIES.get(id(http))
            if known is not None and known[0]() is http:
                return known[1]
            policy = cls(http.api_token, http.auth == "required", http.allowed_hosts)
            _POLICIES[id(http)] = (weakref.ref(http), policy)
            weakref.finalize(http, _POLICIES.pop, id(http), None)
            return policy

    # -- the checks ---------------------------------------------------------------------------------
    def check(self, caller: Caller, kind: Kind) -> None:
        """Raises the error to answer with, or returns when ``caller`` may go on."""
        self.check_host(caller.host)
        if kind == "read" and not self.auth_required:
            return
        if kind != "login":  # login and logout need no credentials: a Bearer header there decides nothing
            self._count_bearer_guess(caller)
        if kind == "read":
            self._authorize(caller)
            return
        self._check_origin(caller)
        if kind == "write" and caller.method in SAFE_METHODS:  # a plain GET that changes state
            self._check_fetch_site(caller)
            self._authorize(caller)
            return
        # Only the header excuses the JSON type: a browser attaches the cookie to requests from any
        # page of the same site (another port of this host, say), even to an <img> that sends no Origin.
        with_bearer = self._has_bearer(caller)
        if kind == "write" and not with_bearer:
            self._authorize(caller)
        if not with_bearer and not _is_json(caller.content_type):
            raise UnsupportedMediaType(
                "a request that changes state needs 'Content-Type: application/json' (or the API token as a Bearer "
                "header)"
            )

    def check_websocket(self, caller: Caller) -> None:
        self.check_host(caller.host)
        self._count_bearer_guess(caller)
        self._check_origin(caller)
        self._authorize(caller)

    def check_host(self, host: str | None) -> None:
        if host is None or self._any_host:  # no Host: not a browser, so no DNS rebinding
            return
        name = host_name(host)
        # An IP address cannot carry a rebinding attack (that needs a name the attacker's DNS answers),
        # and behind Docker's port mapping the address a client uses is not one of the container's.
        if _ip(name) is not None or name in LOOPBACK_NAMES or name.endswith(".localhost") or name in self._hosts:
            return
        if name not in self._refused_hosts and len(self._refused_hosts) < MAX_LOGGED_HOSTS:
            self._refused_hosts.add(name)  # once per name: an operator learns what to allow, an attacker cannot flood
            logger.warning("refused requests for Host %r: not one of this server's names (http.allowed_hosts)", name)
        raise Forbidden(f"Host {name!r} is not one of this server's names; add it to http.allowed_hosts")

    def _check_origin(self, caller: Caller) -> None:
        if caller.origin is None:
            return
        if caller.host is None or _authority(caller.origin) != _default_port_dropped(caller.host.lower()):
            raise Forbidden("cross-origin requests may not change state")

    @staticmethod
    def _check_fetch_site(caller: Caller) -> None:
        site = (caller.fetch_site or "").strip().lower()
        if site and site not in SAME_ORIGIN_FETCH_SITES:
            raise Forbidden(f"a request from another page ({site}) may not change state")

    def _bearer(self, caller: Caller) -> str | None:
        scheme, _, given = (caller.authorization or "").partition(" ")
        return given.strip() if scheme.lower() == "bearer" else None

    def _has_bearer(self, caller: Caller) -> bool:
        given = self._bearer(caller)
        return bool(self.token) and given is not None and _same(given, self.token or "")

    def _count_bearer_guess(self, caller: Caller) -> None:
        """A Bearer header costs what a login costs: 429 while the address is closed, a wrong one counts."""
        if not self.token or self._bearer(caller) is None:
            return
        self.limiter.check(caller.remote_addr)
        if not self._has_bearer(caller):
            self.limiter.failed(caller.remote_addr)

    def has_token(self, caller: Caller) -> bool:
        """The token came as a Bearer header, or the login cookie names a live session."""
        if not self.token:
            return False
        return self._has_bearer(caller) or self.sessions.valid(caller.cookie_token)

    def _authorize(self, caller: Caller) -> None:
        if self.token:
            if not self.has_token(caller):
                raise Unauthorized(
                    "this needs the API token: send 'Authorization: Bearer <http.api_token>' "
                    "or log in with POST /api/login"
                )
        elif not is_loopback(caller.remote_addr):
            raise Unauthorized("this only answers loopback clients; set http.api_token to allow others")

    def token_matches(self, given: str) -> bool:
        return bool(self.token) and _same(given, self.token or "")


_POLICIES: dict[int, tuple[weakref.ref[HttpConfig], AccessPolicy]] = {}
_POLICIES_LOCK = threading.Lock()


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass"))


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _default_port_dropped(authority: str) -> str:
    for default in (":80", ":443"):
        if authority.endswith(default):
            return authority[: -len(default)]
    return authority


def _authority(origin: str) -> str | None:
    """``http://Host:80`` → ``host``; None for ``null`` and anything that is no origin."""
    try:
        parts = urlsplit(origin.strip().lower())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return _default_port_dropped(parts.netloc)


# -- the one entry point: ASGI, in front of the Flask app and the WebSocket ---------------------------
class _Headers(Protocol):
    """Starlette's and Werkzeug's request headers alike: a case-insensitive ``get``."""

    def get(self, key: str) -> str | None: ...


def _caller_from(headers: _Headers, cookie_token: str | None, remote_addr: str | None, method: str) -> Caller:
    return Caller(
        host=headers.get("host"),
        origin=headers.get("origin"),
        content_type=headers.get("content-type"),
        remote_addr=remote_addr,
        authorization=headers.get("authorization"),
        cookie_token=cookie_token,
        method=method,
        fetch_site=headers.get("sec-fetch-site"),
    )


def _caller(scope: Scope) -> Caller:
    """The caller of an ASGI request or WebSocket upgrade."""
    connection = HTTPConnection(scope)
    client = connection.client.host if connection.client is not None else None
    return _caller_from(connection.headers, connection.cookies.get(COOKIE), client, str(scope.get("method", "GET")))


RouteKinds = Callable[[str, str], Kind | None]


def flask_route_kinds(app: Flask) -> RouteKinds:
    """What a request to ``path`` with ``method`` is to the policy, from ``app``'s URL map and the markers on
    its views; None when no route matches (404, 405, a redirect: only the Host is checked)."""

    def kind_of(path: str, method: str) -> Kind | None:
        try:
            endpoint, _ = app.url_map.bind("localhost").match(path, method)
        except (HTTPException, RoutingException):
            return None
        marked = getattr(app.view_functions.get(str(endpoint)), ACCESS_KIND, None)
        if marked in KINDS:
            return cast(Kind, marked)
        return "read" if method in SAFE_METHODS else "write"

    return kind_of


class AccessGuard:
    """ASGI middleware: the policy for every HTTP request and every WebSocket upgrade, before the Flask app or a
    WebSocket endpoint sees them. A refusal is JSON ``{"detail": ...}`` (api/errors.py); a refused WebSocket
    upgrade is a 403 with that body (or a plain 403 from a server without the ASGI denial-response extension)."""

    def __init__(self, app: ASGIApp, policy: AccessPolicy, route_kinds: RouteKinds) -> None:
        self.app, self.policy, self.route_kinds = app, policy, route_kinds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        caller = _caller(scope)
        try:
            if scope["type"] == "websocket":
                self.policy.check_websocket(caller)
            else:
                kind = self.route_kinds(str(scope["path"]), caller.method)
                if kind is None:
                    self.policy.check_host(caller.host)
                else:
                    self.policy.check(caller, kind)
        except FrigateLikeError as exc:
            await self._refuse(scope, send, exc, caller)
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, exc: FrigateLikeError, caller: Caller) -> None:
        if scope["type"] == "http":
            status, headers = status_of(exc)
            messages = error_messages(status, str(exc), headers)
        else:
            logger.info("WebSocket from %s refused: %s", caller.remote_addr or "?", exc)
            if "websocket.http.response" not in scope.get("extensions", {}):
                await send({"type": "websocket.close", "code": 1008})  # the server answers the upgrade with 403
                return
            messages = error_messages(403, str(exc), websocket=True)
        for message in messages:
            await send(message)


POLICY_EXTENSION = "frigate_like_access"


def policy_of(app: Flask) -> AccessPolicy | None:
    """The policy :func:`install_access` gave ``app``."""
    policy = app.extensions.get(POLICY_EXTENSION)
    return policy if isinstance(policy, AccessPolicy) else None


def may_change_state() -> bool:
    """Whether the caller of the current request would pass the checks of a state change (a read view that
    answers such a caller differently: a stored export for them, a streamed one for anyone else)."""
    policy = policy_of(current_app) or AccessPolicy()
    caller = _caller_from(request.headers, request.cookies.get(COOKIE), request.remote_addr, request.method)
    try:
        policy.check(caller, "write")
    except FrigateLikeError:
        return False
    return True


def install_access(app: OpenAPI, policy: AccessPolicy) -> None:
    """Gives ``app`` its policy (checked by :class:`AccessGuard` in front of it) and the login and logout views."""
    app.extensions[POLICY_EXTENSION] = policy
    app.register_api(_login_blueprint(policy))


LOGIN_BODY = 'expected a JSON body {"token": "<http.api_token>"}'


class LoginBody(JsonBody):
    """The token, compared as it comes (no other check on its characters: a wrong one is just wrong)."""

    not_an_object: ClassVar[str] = LOGIN_BODY
    checks_strings: ClassVar[bool] = False

    token: str = Field(min_length=1, description="the http.api_token")

    @model_validator(mode="before")
    @classmethod
    def _a_token(cls, data: object) -> object:
        given = data.get("token") if isinstance(data, dict) else None
        if not isinstance(given, str) or not given:
            raise BadRequest(LOGIN_BODY)
        return data


def _login_blueprint(policy: AccessPolicy) -> APIBlueprint:
    bp = APIBlueprint("access", __name__, abp_tags=[Tag(name="system")])

    @bp.post(
        "/api/login",
        responses={200: Status, **errors(400, 401, 409, 429)},
        summary="Log a browser in: sets the HttpOnly, SameSite=Strict cookie frigate_like_token, a session id "
        "(never the token) that expires after a week. Wrong tokens from one address: after 5, 429 with "
        "Retry-After, doubling up to 60 s",
    )
    @_login_view
    def login(body: LoginBody) -> Response:
        given = body.token
        if not policy.token:
            raise Conflict("no http.api_token is configured: there is nothing to log in to")
        policy.limiter.check(request.remote_addr)  # closed: 429 before the token is even compared
        if not policy.token_matches(given):
            policy.limiter.failed(request.remote_addr)
            raise Unauthorized("wrong token")
        policy.limiter.succeeded(request.remote_addr)
        response = jsonify({"status": "logged_in"})
        response.set_cookie(
            COOKIE,
            policy.sessions.create(),
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
            path="/",
            max_age=int(policy.sessions.lifetime_s),
        )
        return response

    @bp.post("/api/logout", responses={200: Status})
    @_login_view
    def logout() -> Response:
        """Log a browser out: revokes the cookie's session and clears it"""
        policy.sessions.revoke(request.cookies.get(COOKIE))  # the old cookie opens nothing any more
        response = jsonify({"status": "logged_out"})
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict", secure=request.is_secure)
        return response

    return bp
