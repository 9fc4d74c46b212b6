"""Issue 19, item 4: login guessing costs time per address, and the login cookie is a revocable session."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from frigate_like.api.access import (
    MAX_BACKOFF_S,
    AccessPolicy,
    Caller,
    LoginLimiter,
    Sessions,
    TooManyRequests,
    client_key,
)
from frigate_like.errors import Unauthorized
from tests.asgi_client import stack_client
from tests.test_access import TOKEN, make_app


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_wrong_tokens_close_an_address_doubling_up_to_the_bound(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    limiter = LoginLimiter(free=5, first_s=1, max_s=60, clock=clock)
    caplog.set_level(logging.WARNING, "frigate_like.api.access")
    for _ in range(4):
        limiter.failed("192.0.2.7")
        limiter.check("192.0.2.7")  # the first few are free
    waits = []
    for _ in range(12):
        limiter.failed("192.0.2.7")
        with pytest.raises(TooManyRequests) as closed:
            limiter.check("192.0.2.7")
        waits.append(closed.value.retry_after)
        clock.now += closed.value.retry_after  # open again: the next wrong token doubles the wait
        limiter.check("192.0.2.7")
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60]
    limiter.check("192.0.2.8")  # another address is not touched
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "192.0.2.7" in lines[0], lines  # one line for the burst, naming the address
    limiter.succeeded("192.0.2.7")
    assert len(limiter) == 0


def test_a_quiet_address_starts_afresh_and_a_new_burst_is_logged_again(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    limiter = LoginLimiter(free=2, first_s=1, max_s=60, quiet_s=100, clock=clock)
    caplog.set_level(logging.WARNING, "frigate_like.api.access")
    for _ in range(3):
        limiter.failed("::1")
    clock.now += 101
    limiter.check("::1")
    limiter.failed("::1")
    limiter.check("::1")  # one wrong token after the quiet time: free again
    limiter.failed("::1")
    with pytest.raises(TooManyRequests):
        limiter.check("::1")
    assert len(caplog.records) == 2


def test_addresses_are_bounded_and_an_ipv6_host_counts_as_its_64() -> None:
    limiter = LoginLimiter(limit=100)
    for n in range(1000):
        limiter.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter) == 100
    assert client_key("2001:db8:1:2:3:4:5:6") == client_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert client_key("::ffff:127.0.0.1") == "127.0.0.1"


def test_sessions_expire_are_revoked_and_bounded() -> None:
    clock = Clock()
    sessions = Sessions(lifetime_s=100, limit=3, clock=clock)
    first = sessions.create()
    assert len(first) >= 40 and sessions.valid(first)
    assert not sessions.valid(TOKEN) and not sessions.valid(None) and not sessions.valid("")
    more = [sessions.create() for _ in range(3)]
    assert not sessions.valid(first) and all(map(sessions.valid, more))  # the oldest login went
    assert sessions.revoke(more[0]) and not sessions.valid(more[0]) and not sessions.revoke(more[0])
    clock.now += 101
    assert not any(map(sessions.valid, more)) and len(sessions) <= 1


def test_a_bearer_guess_counts_like_a_login_guess() -> None:
    policy = AccessPolicy(TOKEN)
    guess = Caller("127.0.0.1", None, None, "192.0.2.9", "Bearer nope", None)
    for _ in range(5):
        with pytest.raises(Unauthorized):
            policy.check(guess, "write")
    right = Caller("127.0.0.1", None, None, "192.0.2.9", f"Bearer {TOKEN}", None)
    with pytest.raises(TooManyRequests):  # closed: not even the right one is compared
        policy.check(right, "write")


def test_login_over_http_429_then_the_right_token_after_the_wait(model_path: Path, labelmap_path: Path) -> None:
    app, _ = make_app(model_path, labelmap_path, {"api_token": TOKEN})
    remote = {"REMOTE_ADDR": "198.51.100.4"}
    with stack_client(app) as client:
        statuses = [client.post("/api/login", json={"token": f"guess{n}"}, environ_base=remote) for n in range(50)]
        codes = [s.status_code for s in statuses]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes
        assert 1 <= int(statuses[-1].headers["Retry-After"]) <= MAX_BACKOFF_S
        assert statuses[-1].json is not None and "detail" in statuses[-1].json
        right = client.post("/api/login", json={"token": TOKEN}, environ_base=remote)
        assert right.status_code == 429  # still closed
        other = client.post("/api/login", json={"token": TOKEN}, environ_base={"REMOTE_ADDR": "198.51.100.5"})
        assert other.status_code == 200
        session = other.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
        assert session != TOKEN and TOKEN not in other.headers["Set-Cookie"]


def test_the_openapi_document_lists_429_with_retry_after(model_path: Path, labelmap_path: Path) -> None:
    app, _ = make_app(model_path, labelmap_path, {"api_token": TOKEN})
    with app.test_client() as client:
        document = client.get("/api/openapi.json").get_json()
    login = document["paths"]["/api/login"]["post"]["responses"]
    assert "Retry-After" in login["429"]["headers"]
    apply = document["paths"]["/skellycam/camera/group/apply"]["post"]["responses"]
    assert "429" in apply  # a wrong Bearer token counts like a wrong login
    assert "session id" in document["components"]["securitySchemes"]["cookieAuth"]["description"]
