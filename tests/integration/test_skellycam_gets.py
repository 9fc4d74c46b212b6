"""Seed 000's GET endpoints as its clients call them: plain GETs (``curl url``, ``fetch(url)``) on a running daemon.

Each is called with nothing but what ``requests`` sends, from loopback with no token configured, and must
give the documented answer. The state-changing ones (pause/unpause, record/stop, shutdown) are also tried as a
page of another site would reach them: ``Sec-Fetch-Site: cross-site`` or ``same-site`` (an ``<img>``, a link, a
``fetch`` from a page on another port of this host), or a foreign ``Origin``. Those get 403 and change nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.daemon import JSON, Daemon, demo_config

FOREIGN = (
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"},  # <img src=...>
    {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate"},  # a link on another port of this host
    {"Origin": "http://evil.example"},  # a cross-site fetch()
)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("skellycam_gets")
    running = Daemon(tmp, demo_config(tmp, loop=True, fps=3), env={"HOME": str(tmp / "home")})
    running.start()
    running.wait_for(lambda: running.get_json("/api/stats")["demo"]["camera_fps"] > 0, 90, what="frames")
    try:
        yield running
    finally:
        if running.proc is not None and running.proc.poll() is None:
            running.terminate()


def url(daemon: Daemon, path: str) -> str:
    return f"http://127.0.0.1:{daemon.port}{path}"


def paused(daemon: Daemon) -> bool:
    return bool(daemon.get_json("/api/stats")["demo"]["paused"])


def test_reads_answer_as_documented(daemon: Daemon) -> None:
    health = requests.get(url(daemon, "/health"), timeout=30)
    assert (health.status_code, health.json()) == (200, "Hello👋")
    microphones = requests.get(url(daemon, "/skellycam/camera/microphone/detect"), timeout=30)
    assert microphones.status_code == 200 and isinstance(microphones.json()["microphones"], dict)


def test_pause_unpause_is_a_plain_get_and_refused_from_other_pages(daemon: Daemon) -> None:
    toggle = url(daemon, "/skellycam/camera/group/all/pause_unpause")
    for headers in FOREIGN:
        refused = requests.get(toggle, headers=headers, timeout=30)
        assert refused.status_code == 403 and refused.json()["detail"], (headers, refused.text)
        assert not paused(daemon), headers
    answer = requests.get(toggle, timeout=30)
    assert (answer.status_code, answer.json()) == (200, True)
    assert paused(daemon)
    # our own page (same origin), and a user typing the address (none): a browser's own requests pass
    for site in ("same-origin", "none"):
        answer = requests.get(toggle, headers={"Sec-Fetch-Site": site}, timeout=30)
        assert (answer.status_code, answer.json()) == (200, True), site
    assert paused(daemon)  # toggled twice more: paused again
    assert requests.get(toggle, timeout=30).json() is True
    assert not paused(daemon)
    daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["camera_fps"] > 0, 60, what="frames after unpause")


def test_record_stop_is_a_plain_get_and_playback_reads_the_recording(daemon: Daemon) -> None:
    start = url(daemon, "/skellycam/camera/group/all/record/start")
    stop = url(daemon, "/skellycam/camera/group/all/record/stop")
    started = requests.post(start, json={"recording_name": "plain_get"}, timeout=60)
    assert (started.status_code, started.json()) == (200, True), started.text
    time.sleep(3)
    for headers in FOREIGN:
        assert requests.get(stop, headers=headers, timeout=60).status_code == 403, headers
    again = requests.post(start, json={"recording_name": "second"}, timeout=60)
    assert again.status_code == 409, again.text  # still recording: the refused stops stopped nothing
    stopped = requests.get(stop, timeout=60)
    assert (stopped.status_code, stopped.json()) == (200, True), stopped.text

    listing = requests.get(url(daemon, "/skellycam/playback/recordings"), timeout=30)
    assert listing.status_code == 200
    (recording,) = [r for r in listing.json() if r["name"] == "plain_get"]
    assert recording["video_count"] >= 1
    loaded = requests.post(
        url(daemon, "/skellycam/playback/load"), json={"recording_path": recording["path"]}, headers=JSON, timeout=30
    )
    assert loaded.status_code == 200, loaded.text
    video = loaded.json()["videos"][0]
    played = requests.get(url(daemon, f"/skellycam/playback/video/{video['video_id']}"), timeout=30)
    assert played.status_code == 200 and played.headers["Content-Type"] == "video/mp4"
    assert len(played.content) == video["size_bytes"] and played.content[4:8] == b"ftyp"
    timestamps = requests.get(url(daemon, "/skellycam/playback/timestamps"), timeout=30)
    assert timestamps.status_code == 200 and isinstance(timestamps.json()["timestamps"], dict)
    one = requests.get(url(daemon, f"/skellycam/playback/timestamps/{video['video_id']}"), timeout=30)
    assert one.status_code in (200, 404) and one.headers["Content-Type"] == "application/json", one.text
    assert Path(recording["path"]).is_dir()


def test_shutdown_is_a_plain_get_and_refused_from_other_pages(daemon: Daemon) -> None:
    shutdown = url(daemon, "/shutdown")
    for headers in FOREIGN:
        assert requests.get(shutdown, headers=headers, timeout=30).status_code == 403, headers
    assert daemon.proc is not None and daemon.proc.poll() is None
    assert daemon.get("/api/version")  # still running
    answer = requests.get(shutdown, timeout=30)
    assert answer.status_code == 200
    assert answer.json() == {"status": "shutdown_initiated", "message": "Server shutting down. Goodbye!"}
    assert daemon.wait_exit(60) == 0, daemon.log()[-3000:]
