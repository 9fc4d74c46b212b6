"""The access policy: Host, Origin, content type, loopback-or-token, the login cookie and the WebSocket guard."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets.sync.client
from flask import Flask
from starlette.websockets import WebSocket
from websockets.exceptions import InvalidStatus

from frigate_like.api import ApiServices, create_app
from frigate_like.api.access import COOKIE, AccessPolicy, Caller, host_name, is_loopback, policy_of
from frigate_like.api.server import HttpServer
from frigate_like.config import config_from_dict, to_public_dict
from frigate_like.db import queries
from frigate_like.errors import ConfigError, Forbidden, Unauthorized, UnsupportedMediaType
from tests.asgi_client import stack_client

TOKEN = "s3cret-token-for-tests"
JSON = {"Content-Type": "application/json"}
REMOTE = {"REMOTE_ADDR": "192.0.2.7"}


def make_app(model_path: Path, labelmap_path: Path, http: dict[str, Any] | None = None) -> tuple[Flask, list[str]]:
    cfg = config_from_dict(
        {
            "http": http or {},
            "model": {"path": str(model_path), "labelmap_path": str(labelmap_path)},
            "cameras": {"back": {"ffmpeg": {"inputs": [{"path": "rtsp://cam/back", "roles": ["detect"]}]},
                                 "width": 640, "height": 480}},
        }
    )  # fmt: skip
    calls: list[str] = []
    services = ApiServices(
        config=cfg,
        stats=lambda: {},
        public_config=lambda: to_public_dict(cfg),
        events=queries,
        shutdown=lambda: calls.append("shutdown"),
    )
    return create_app(services), calls


def caller(**fields: Any) -> Caller:
    defaults: dict[str, Any] = {
        "host": "127.0.0.1:5000",
        "origin": None,
        "content_type": "application/json",
        "remote_addr": "127.0.0.1",
        "authorization": None,
        "cookie_token": None,
    }
    return Caller(**{**defaults, **fields})


def test_loopback_addresses_and_host_names() -> None:
    for address in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        assert is_loopback(address), address
    for address in ("10.0.0.1", "::ffff:10.0.0.1", "localhost", "", None):
        assert not is_loopback(address), address
    assert host_name("[::1]:5000") == "::1"
    assert host_name("NVR.Example.:80") == "nvr.example"
    assert host_name("::1") == "::1"


def test_host_header_must_name_this_machine() -> None:
    policy = AccessPolicy()
    own = socket.gethostname()
    for host in ("localhost:5000", "127.0.0.1", "[::1]:5000", "cam.localhost", "192.168.1.5:5000", "[fd00::5]:80",
                 own, f"{own}.local:5000", None):  # fmt: skip
        policy.check_host(host)
    for host in ("evil.example", "evil.example:5000", "localhost.evil.example", "192.168.1.5.nip.io"):
        with pytest.raises(Forbidden):
            policy.check_host(host)
    listed = AccessPolicy(allowed_hosts=["nvr.example.com"])
    listed.check_host("NVR.example.com:5000")
    listed.check_host("localhost")  # loopback names always
    listed.check_host("10.0.0.7")  # addresses always: no rebinding through them
    with pytest.raises(Forbidden):
        listed.check_host(own)  # the list replaces the machine's own names
    AccessPolicy(allowed_hosts=["*"]).check_host("anything.example")


def test_a_refused_host_name_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    policy = AccessPolicy()
    for _ in range(3):
        with pytest.raises(Forbidden):
            policy.check_host("nvr.lan:5000")
    for i in range(100):
        with pytest.raises(Forbidden):
            policy.check_host(f"flood{i}.example")
    warnings = [r.getMessage() for r in caplog.records if "http.allowed_hosts" in r.getMessage()]
    assert warnings[0] == "refused requests for Host 'nvr.lan': not one of this server's names (http.allowed_hosts)"
    assert len(warnings) == 20


def test_state_changes_without_a_token_loopback_json_same_origin() -> None:
    policy = AccessPolicy()
    policy.check(caller(), "write")
    policy.check(caller(origin="http://127.0.0.1:5000"), "write")
    with pytest.raises(Unauthorized):
        policy.check(caller(remote_addr="192.0.2.7"), "write")
    with pytest.raises(UnsupportedMediaType):
        policy.check(caller(content_type="text/plain"), "write")  # a cross-site form
    with pytest.raises(UnsupportedMediaType):
        policy.check(caller(content_type=None), "write")  # <img src=/shutdown>
    for origin in ("http://evil.example", "null", "http://127.0.0.1:5001", "file://"):
        with pytest.raises(Forbidden):
            policy.check(caller(origin=origin), "write")
    policy.check(caller(remote_addr="192.0.2.7", content_type=None), "read")  # reads stay open


def test_a_state_changing_get_is_plain_and_refused_when_a_browser_says_another_page_sent_it() -> None:
    policy = AccessPolicy()
    plain = caller(method="GET", content_type=None)  # curl, requests, fetch(url): no body type on a GET
    policy.check(plain, "write")
    for site in ("same-origin", "none", "Same-Origin"):  # our page; the user typing the address
        policy.check(caller(method="GET", content_type=None, fetch_site=site), "write")
    for site in ("cross-site", "same-site", "anything-else"):  # <img>, link or fetch of another page
        with pytest.raises(Forbidden):
            policy.check(caller(method="GET", content_type=None, fetch_site=site), "write")
    with pytest.raises(Forbidden):
        policy.check(caller(method="GET", content_type=None, origin="http://evil.example"), "write")
    with pytest.raises(Unauthorized):  # not loopback, no token: as for a POST
        policy.check(caller(method="GET", content_type=None, remote_addr="192.0.2.7"), "write")
    tokened = AccessPolicy(TOKEN)
    session = tokened.sessions.create()
    tokened.check(caller(method="GET", content_type=None, remote_addr="192.0.2.7", cookie_token=session), "write")
    from_next_door = caller(
        method="GET", content_type=None, remote_addr="192.0.2.7", cookie_token=session, fetch_site="same-site"
    )
    with pytest.raises(Forbidden):  # the cookie rides along from a same-site page: the header gives it away
        tokened.check(from_next_door, "write")
    with pytest.raises(UnsupportedMediaType):  # POSTs keep their JSON rule whatever the fetch headers say
        policy.check(caller(method="POST", content_type=None, fetch_site="same-origin"), "write")


def test_with_a_token_it_opens_everything_and_loopback_alone_is_not_enough() -> None:
    policy = AccessPolicy(TOKEN)
    session = policy.sessions.create()
    policy.check(caller(remote_addr="192.0.2.7", authorization=f"bearer {TOKEN}", content_type=None), "write")
    policy.check(caller(remote_addr="192.0.2.7", cookie_token=session), "write")
    with pytest.raises(UnsupportedMediaType):  # the cookie rides along on any same-site request: JSON still
        policy.check(caller(remote_addr="192.0.2.7", cookie_token=session, content_type=None), "write")
    wrong_ones = (caller(), caller(authorization=f"Bearer {TOKEN}x"), caller(authorization=TOKEN))
    for wrong in (*wrong_ones, caller(cookie_token=TOKEN)):  # the cookie holds a session id, never the token
        with pytest.raises(Unauthorized):
            policy.check(wrong, "write")
    with pytest.raises(Forbidden):  # a token does not excuse a foreign Origin
        policy.check(caller(authorization=f"Bearer {TOKEN}", origin="http://evil.example"), "write")
    required = AccessPolicy(TOKEN, auth_required=True)
    with pytest.raises(Unauthorized):
        required.check(caller(), "read")
    required.check(caller(cookie_token=required.sessions.create()), "read")


def test_auth_required_needs_a_token(model_path: Path, labelmap_path: Path) -> None:
    with pytest.raises(ConfigError, match="http: .*auth: required needs api_token"):
        make_app(model_path, labelmap_path, {"auth": "required"})


def test_without_a_configured_token_there_is_nothing_to_log_in_to(model_path: Path, labelmap_path: Path) -> None:
    app, _ = make_app(model_path, labelmap_path)
    with app.test_client() as client:
        assert client.post("/api/login", json={"token": "anything"}).status_code == 409


def test_every_route_goes_through_the_policy(model_path: Path, labelmap_path: Path) -> None:
    app, calls = make_app(model_path, labelmap_path)
    with stack_client(app) as client:
        assert client.get("/api/version", headers={"Host": "rebound.example"}).status_code == 403
        assert client.get("/api/nothing-here", headers={"Host": "rebound.example"}).status_code == 403
        assert client.get("/api/version", environ_base=REMOTE).status_code == 200
        refused = client.get("/shutdown", environ_base=REMOTE, headers=JSON)
        assert refused.status_code == 401 and "loopback" in refused.get_json()["detail"]
        for page in ("cross-site", "same-site"):  # what an <img> or a link of another page sends
            assert client.get("/shutdown", headers={"Sec-Fetch-Site": page}).status_code == 403
        assert client.get("/shutdown", headers={**JSON, "Origin": "http://evil.example"}).status_code == 403
        text_plain = client.post(
            "/skellycam/camera/group/all/record/start", data="{}", headers={"Content-Type": "text/plain"}
        )
        assert text_plain.status_code == 415
        assert client.get("/skellycam/camera/group/all/pause_unpause", headers={"Origin": "null"}).status_code == 403
        assert calls == []
        answer = client.get("/shutdown")  # seed 000: a plain GET, as curl or fetch(url) sends it
        assert answer.status_code == 200
        answer.close()
    assert calls == ["shutdown"]


def test_login_sets_an_httponly_strict_cookie_that_opens_state_changes(model_path: Path, labelmap_path: Path) -> None:
    app, calls = make_app(model_path, labelmap_path, {"api_token": TOKEN})
    with stack_client(app) as client:
        assert client.post("/api/login", json={"token": "wrong"}, environ_base=REMOTE).status_code == 401
        assert client.post("/api/login", json={"tok": TOKEN}, environ_base=REMOTE).status_code == 400
        assert client.post("/api/login", data=f'{{"token": "{TOKEN}"}}', environ_base=REMOTE).status_code == 415
        assert client.get("/shutdown", environ_base=REMOTE).status_code == 401
        login = client.post("/api/login", json={"token": TOKEN}, environ_base=REMOTE)
        assert login.status_code == 200
        cookie = login.headers["Set-Cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        # an <img> or a link of a same-site page (another port of this host) carries the cookie, and says so
        assert client.get("/shutdown", environ_base=REMOTE, headers={"Sec-Fetch-Site": "same-site"}).status_code == 403
        answer = client.get("/shutdown", environ_base=REMOTE)
        assert answer.status_code == 200
        answer.close()
        assert calls == ["shutdown"]
        logout = client.post("/api/logout", json={}, environ_base=REMOTE)
        assert logout.status_code == 200 and "Max-Age=0" in logout.headers["Set-Cookie"]
        assert client.get("/shutdown", environ_base=REMOTE, headers=JSON).status_code == 401
        # a token in the query string is no token
        assert client.get(f"/shutdown?token={TOKEN}", environ_base=REMOTE, headers=JSON).status_code == 401


@pytest.fixture
def websocket_server(model_path: Path, labelmap_path: Path) -> Iterator[tuple[int, list[str]]]:
    accepted: list[str] = []

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        accepted.append("in")
        await websocket.send_text("hello")
        await websocket.close()

    app, _ = make_app(model_path, labelmap_path, {"api_token": TOKEN})
    policy = policy_of(app)
    assert policy is not None
    server = HttpServer(app, "127.0.0.1", 0, websockets={"/ws": endpoint})
    server.start()
    accepted.append(policy.sessions.create())  # the first item: a logged-in browser's cookie
    yield server.port, accepted
    server.stop()


def _connect(port: int, host: str = "127.0.0.1", **headers: str) -> str:
    """A WebSocket to the server on loopback; ``host`` is what the Host header names."""
    with websockets.sync.client.connect(
        f"ws://{host}:{port}/ws",
        sock=socket.create_connection(("127.0.0.1", port)),
        additional_headers=headers,
        open_timeout=10,
    ) as ws:
        return str(ws.recv(10))


def test_the_websocket_needs_the_token_host_and_origin(websocket_server: tuple[int, list[str]]) -> None:
    port, accepted = websocket_server
    session = accepted.pop(0)
    refusals = [
        {},  # loopback alone: a token is configured
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Bearer {TOKEN}", "Origin": "http://evil.example"},
    ]
    for headers in refusals:
        with pytest.raises(InvalidStatus) as refused:
            _connect(port, **headers)
        assert refused.value.response.status_code == 403, headers
    with pytest.raises(InvalidStatus) as rebound:
        _connect(port, "rebound.example", Authorization=f"Bearer {TOKEN}")
    assert rebound.value.response.status_code == 403
    assert accepted == []
    assert _connect(port, Authorization=f"Bearer {TOKEN}") == "hello"
    with pytest.raises(InvalidStatus):  # the token itself is no session id
        _connect(port, Cookie=f"{COOKIE}={TOKEN}")
    assert _connect(port, Cookie=f"{COOKIE}={session}", Origin=f"http://127.0.0.1:{port}") == "hello"
    assert accepted == ["in", "in"]


def test_a_refused_websocket_upgrade_says_why_in_json(websocket_server: tuple[int, list[str]]) -> None:
    port, _ = websocket_server
    with pytest.raises(InvalidStatus) as refused:
        _connect(port, Authorization="Bearer nope")
    response = refused.value.response
    assert response.status_code == 403 and response.headers["Content-Type"] == "application/json"
    assert "API token" in json.loads(response.body or b"{}")["detail"]
