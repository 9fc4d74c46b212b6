"""Issue 19, items 4-6, against a running daemon: login guessing, logout, passwords in every surface, odd strings.

One daemon with an API token, its MQTT on a private broker, ffmpeg's command lines in the log.
The tests run in file order: the guessing one last, since it closes loopback for a while
(it waits that out and logs in, which clears the record).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from frigate_like.api.access import COOKIE, MAX_BACKOFF_S
from frigate_like.websocket import PATH
from tests.broker import PrivateBroker, Subscriber, unique_prefix
from tests.integration.daemon import SHARED, Daemon, demo_config

TOKEN = "tok-issue19-7c1e9b2f04d3a8"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
# anything but blanks, control characters and "/", "?", "#" (those end a URL's host part: ffmpeg would read a port)
PASSWORD_CHARS = st.characters(
    blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"), blacklist_characters="/?#\x85", max_codepoint=0x2FFF
)


@dataclass
class Abuse:
    daemon: Daemon
    mqtt: Subscriber
    base: str
    users: list[str]  # the user names of every source applied, each with its own password
    passwords: list[str]


@pytest.fixture(scope="module")
def abuse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Abuse]:
    tmp = tmp_path_factory.mktemp("abuse")
    broker = PrivateBroker(tmp / "broker")
    broker.start()
    prefix = unique_prefix("abuse")
    cfg = demo_config(tmp, loop=True, fps=3)
    cfg["http"]["api_token"] = TOKEN
    cfg["mqtt"] = {"enabled": True, "host": "127.0.0.1", "port": broker.port, "topic_prefix": prefix,
                   "client_id": prefix, "stats_interval": 2}  # fmt: skip
    cfg["logger"] = {"default": "info", "logs": {"ffmpeg": "debug"}}  # ffmpeg command lines in the log
    # the cameras' own URLs in ffmpeg's command lines, not the restream's (its log lines are redacted too)
    cfg["restream"] = {"enabled": False}
    cfg["camera_groups"] = {"file_roots": [str(SHARED / "media")]}
    daemon = Daemon(tmp, cfg, env={"HOME": str(tmp / "home")})
    mqtt = Subscriber(prefix, broker.port)
    try:
        mqtt.start()
        daemon.start()
        daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["process_fps"] > 0, 90, what="frames")
        yield Abuse(daemon, mqtt, f"http://127.0.0.1:{daemon.port}", [], [])
    finally:
        daemon.terminate()
        mqtt.stop()
        broker.stop()


def apply(abuse: Abuse, source: str, **extra: Any) -> requests.Response:
    body = {"camera_configs": {"g1": {"camera_name": "grouped", "source": source, "framerate": 5, **extra}}}
    return requests.post(f"{abuse.base}/skellycam/camera/group/apply", json=body, headers=BEARER, timeout=60)


def websocket_state(abuse: Abuse) -> str:
    with connect(f"ws://127.0.0.1:{abuse.daemon.port}{PATH}", additional_headers=BEARER, open_timeout=10) as ws:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            message = ws.recv(10)
            if isinstance(message, str) and '"type":"state"' in message.replace(" ", ""):
                return message
    raise AssertionError("no state message")


def spellings(password: str) -> set[str]:
    """How a password could appear in a JSON text, a repr or a log line."""
    return {password, json.dumps(password)[1:-1], json.dumps(password, ensure_ascii=False)[1:-1], repr(password)[1:-1]}


def assert_masked(text: str, users: list[str], passwords: list[str], where: str) -> None:
    for password in passwords:
        for spelling in spellings(password):
            assert spelling not in text, (where, password)
    for user in users:  # every time a source shows, its user info is masked whole
        assert text.count(f"{user}:") == text.count(f"{user}:*****@"), (where, user)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False)
@given(core=st.text(PASSWORD_CHARS, min_size=1, max_size=24))
@example(core="Q'u@te9")
@example(core='Q"u@te9')
@example(core="p@ss:w'o\"rd@")
def test_a_random_password_shows_nowhere(abuse: Abuse, core: str) -> None:
    password = f"Zq{core}9w"  # a frame no other text of the daemon holds
    user = f"issue19u{len(abuse.users)}"
    abuse.users.append(user)
    query_secret = f"Qs{re.sub('[@&;]', '', core)}8v"  # "@" widens the user info mask; "&", ";" end a value
    abuse.passwords += [password, query_secret]
    source = f"rtsp://{user}:{password}@127.0.0.1:9/x?ch=1&loginpas={query_secret}&psw={query_secret}"
    shown = f"rtsp://{user}:*****@127.0.0.1:9/x?ch=1&loginpas=*****&psw=*****"
    applied = apply(abuse, source)
    assert applied.status_code == 200, applied.text
    assert applied.json()["camera_configs"]["g1"]["source"] == shown
    config = requests.get(f"{abuse.base}/api/config", timeout=30)  # open to anyone
    assert shown in json.dumps(config.json()["cameras"]["grouped"])
    state = websocket_state(abuse)
    stats = requests.get(f"{abuse.base}/api/stats", timeout=30).text
    for where, text in (("apply", applied.text), ("config", config.text), ("websocket", state), ("stats", stats)):
        assert_masked(text, [user], [password, query_secret], where)


def test_logs_and_mqtt_hold_no_password(abuse: Abuse) -> None:
    assert abuse.users, "the property test ran first"
    last = abuse.users[-1]
    abuse.daemon.wait_for(lambda: f"{last}:*****@" in abuse.daemon.log(), 30, what="the last source's command line")
    time.sleep(3)  # a stats round over MQTT
    assert_masked(abuse.daemon.log(), abuse.users, abuse.passwords, "log")
    mqtt = "\n".join(f"{m.topic} {m.payload.decode('utf-8', 'replace')}" for m in abuse.mqtt.messages)
    assert abuse.mqtt.messages
    assert_masked(mqtt, abuse.users, abuse.passwords, "mqtt")


def test_a_url_that_would_make_a_password_a_port_is_refused_without_echoing_it(abuse: Abuse) -> None:
    for source in ("rtsp://admin:Se/cret9@127.0.0.1:9/x", "rtsp://admin:Se#cret9@127.0.0.1:9/x"):
        refused = apply(abuse, source)
        assert refused.status_code == 400 and "port" in refused.json()["detail"]
        assert "cret9" not in refused.text
    assert "cret9" not in abuse.daemon.log()


ODD = ["\ud800", "/" + "a" * 5000, "x" * 5000, "\udfff/rec", "/tmp/" + "n" * 300]


@pytest.mark.parametrize("value", ODD)
def test_odd_strings_are_400_with_a_json_detail(abuse: Abuse, value: str) -> None:
    # json.dumps writes a lone surrogate as the escape "\ud800", as a client's JSON would
    posts = [
        ("/skellycam/camera/group/all/record/start", {"recording_directory": value}),
        ("/skellycam/camera/group/all/record/start", {"recording_name": value}),
        ("/skellycam/playback/load", {"recording_path": value}),
        ("/skellycam/camera/group/apply", {"camera_configs": {"g9": {"camera_name": "odd", "source": value}}}),
        ("/skellycam/camera/group/apply", {"camera_configs": {"g9": {"camera_name": value, "source": "rtsp://h/x"}}}),
    ]
    for path, body in posts:
        answer = requests.post(f"{abuse.base}{path}", data=json.dumps(body), timeout=30,
                               headers={**BEARER, "Content-Type": "application/json"})  # fmt: skip
        assert answer.status_code == 400, (path, answer.status_code, answer.text[:200])
        assert answer.headers["Content-Type"] == "application/json" and answer.json()["detail"], path


def test_invalid_ports_are_400(abuse: Abuse) -> None:
    for source in ("rtsp://h:99999/x", "rtsp://h:0/x", "rtsps://h:port/x", "rtmp://:554/x"):
        answer = apply(abuse, source)
        assert answer.status_code == 400 and "detail" in answer.json(), (source, answer.text)
    assert "request failed" not in abuse.daemon.log()  # no 500 on the way
    assert abuse.daemon.proc is not None and abuse.daemon.proc.poll() is None


def _cookie(answer: requests.Response) -> str:
    match = re.match(rf"{COOKIE}=([^;]*)", answer.headers["Set-Cookie"])
    assert match is not None
    return match.group(1)


def test_logout_revokes_the_session(abuse: Abuse) -> None:
    toggle = f"{abuse.base}/skellycam/camera/group/all/pause_unpause"
    browser = requests.Session()
    login = browser.post(f"{abuse.base}/api/login", json={"token": TOKEN}, timeout=30)
    assert login.status_code == 200
    session = _cookie(login)
    assert session != TOKEN and TOKEN not in login.headers["Set-Cookie"] and "Max-Age=" in login.headers["Set-Cookie"]
    assert [browser.get(toggle, timeout=30).status_code for _ in range(2)] == [200, 200]  # paused, then not
    cookie = {"Cookie": f"{COOKIE}={session}"}  # the WebSocket knows the session the HTTP login made
    with connect(f"ws://127.0.0.1:{abuse.daemon.port}{PATH}", additional_headers=cookie, open_timeout=10) as ws:
        assert ws.recv(10)
    assert browser.post(f"{abuse.base}/api/logout", json={}, timeout=30).status_code == 200
    old = {"Cookie": f"{COOKIE}={session}"}  # what a copied cookie, or a browser that kept it, sends
    assert requests.get(toggle, headers=old, timeout=30).status_code == 401
    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{abuse.daemon.port}{PATH}", additional_headers=old, open_timeout=10)
    raw = {"Cookie": f"{COOKIE}={TOKEN}"}  # the token itself is no session
    assert requests.get(toggle, headers=raw, timeout=30).status_code == 401


def test_guessing_gets_429_with_retry_after_one_line_per_burst_and_the_right_token_after(abuse: Abuse) -> None:
    url = f"{abuse.base}/api/login"
    client = requests.Session()
    statuses, retry_afters = [], []
    for n in range(1200):
        answer = client.post(url, json={"token": f"guess-{n}"}, timeout=30)
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            retry_afters.append(int(answer.headers["Retry-After"]))
            assert answer.json()["detail"]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429, statuses[:10]
    assert set(statuses) == {401, 429} and statuses.count(429) > 1000, statuses.count(401)
    assert all(1 <= wait <= MAX_BACKOFF_S for wait in retry_afters)
    closed = client.post(url, json={"token": TOKEN}, timeout=30)
    assert closed.status_code == 429, "while closed, the right token is not even compared"
    lines = [line for line in abuse.daemon.log().splitlines() if "wrong tokens from 127.0.0.1" in line]
    assert len(lines) == 1, lines
    time.sleep(int(closed.headers["Retry-After"]) + 0.2)
    login = client.post(url, json={"token": TOKEN}, timeout=30)
    assert login.status_code == 200 and _cookie(login) != TOKEN
    # the record is cleared: a new burst is a new line, and is again bounded
    again = [client.post(url, json={"token": "nope"}, timeout=30).status_code for _ in range(8)]
    assert again[:5] == [401] * 5 and again[5:] == [429] * 3
    lines = [line for line in abuse.daemon.log().splitlines() if "wrong tokens from 127.0.0.1" in line]
    assert len(lines) == 2, lines
    wait = int(client.post(url, json={"token": TOKEN}, timeout=30).headers["Retry-After"])
    time.sleep(wait + 0.2)
    assert client.post(url, json={"token": TOKEN}, timeout=30).status_code == 200
