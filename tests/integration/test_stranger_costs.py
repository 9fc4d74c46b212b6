"""Issue 19, items 2 and 3, against a running daemon: a stranger's exports and MJPEG options.

The daemon has an API token, so a client without it, loopback included, may read but not change
state: the stranger here. It records 2 s segments of the looped person video.

- 16 threads ask for distinct spans of ``/api/<camera>/recordings/<a>/<b>.mp4``: every answer is a
  playable mp4, the exports folder stays empty and no recording is deleted; with the token the
  same request is stored once and served with Range requests.
- 16 MJPEG streams of ``fps=30&h=<2160-i>`` with every overlay: every picture is the detect size
  (all 16 heights are the full size: one option set, one encode per frame), and no stream gets
  more parts than the camera has frames.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests

from tests.integration.checks import clip_duration
from tests.integration.daemon import Daemon, demo_config

TOKEN = "tok-issue19-stranger-5d2a"
RECORD_ARGS = "-f segment -segment_time 2 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c:v copy -an"
FPS = 5
WORST = "fps=30&bbox=1&timestamp=1&zones=1&mask=1&motion=1&regions=1"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("stranger_costs")
    cfg = demo_config(tmp, loop=True, fps=FPS)
    cfg["http"]["api_token"] = TOKEN
    cam = cfg["cameras"]["demo"]
    cam["ffmpeg"]["inputs"][0]["roles"] = ["detect", "clips", "record"]
    cam["ffmpeg"]["output_args"] = {"record": RECORD_ARGS}
    cam["record"] = {"enabled": True, "retain_days": 1}
    running = Daemon(tmp, cfg)
    running.start()
    try:
        running.wait_for(lambda: len(recordings(running)) >= 8, 90, what="16 s of recordings")
        yield running
    finally:
        running.terminate()


def recordings(daemon: Daemon) -> list[tuple[str, float, float]]:
    with sqlite3.connect(daemon.db_path) as conn:
        return conn.execute("SELECT path, start_time, end_time FROM recordings ORDER BY start_time").fetchall()


def exports(daemon: Daemon) -> list[Path]:
    folder = Path(daemon.cfg["paths"]["media_dir"]) / "exports"
    return sorted(folder.glob("*")) if folder.is_dir() else []


def test_a_strangers_exports_are_streamed_and_cost_no_footage(daemon: Daemon, tmp_path: Path) -> None:
    rows = recordings(daemon)
    first, last = rows[0][1], rows[-1][2]
    base = f"http://127.0.0.1:{daemon.port}/api/demo/recordings"
    spans = [(first + 0.25 * i, min(last, first + 0.25 * i + 6.0)) for i in range(16)]
    answers: dict[int, tuple[int, str, bytes]] = {}

    def ask(i: int) -> None:
        start, end = spans[i]
        for _ in range(20):  # at most 2 exports are made at once: the others are told to retry (503)
            answer = requests.get(f"{base}/{start:.3f}/{end:.3f}.mp4", timeout=60)
            if answer.status_code != 503:
                break
            time.sleep(0.5)
        answers[i] = (answer.status_code, answer.headers.get("Content-Type", ""), answer.content)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(answers) == list(range(16))
    for i, (status, content_type, body) in answers.items():
        assert status == 200 and content_type == "video/mp4", (i, status, body[:200])
        played = tmp_path / f"{i}.mp4"
        played.write_bytes(body)
        assert clip_duration(played) >= spans[i][1] - spans[i][0] - 0.5, i
    assert exports(daemon) == [], "a read anyone may make stored a file"
    still = {row[0] for row in recordings(daemon)}
    assert {row[0] for row in rows} <= still, "a recording was deleted"

    # with the token the export is stored once and can be seeked in
    url = f"{base}/{spans[0][0]:.3f}/{spans[0][1]:.3f}.mp4"
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    whole = requests.get(url, headers=bearer, timeout=60)
    assert whole.status_code == 200 and whole.headers["Accept-Ranges"] == "bytes"
    part = requests.get(url, headers={**bearer, "Range": "bytes=0-99"}, timeout=60)
    assert part.status_code == 206 and part.content == whole.content[:100]
    assert len(exports(daemon)) == 1


def test_a_strangers_mjpeg_options_cannot_multiply_the_work(daemon: Daemon) -> None:
    cam = daemon.cfg["cameras"]["demo"]
    stop = threading.Event()
    parts: dict[int, list[bytes]] = {}

    def watch(i: int) -> None:
        url = f"http://127.0.0.1:{daemon.port}/api/demo?h={2160 - i}&{WORST}"
        with requests.get(url, stream=True, timeout=30) as answer:
            assert answer.status_code == 200
            buffer, got = b"", parts.setdefault(i, [])
            for chunk in answer.iter_content(65536):
                buffer += chunk
                while (start := buffer.find(b"\xff\xd8")) >= 0 and (end := buffer.find(b"\xff\xd9", start)) >= 0:
                    got.append(buffer[start : end + 2])
                    buffer = buffer[end + 2 :]
                if stop.is_set():
                    return

    threads = [threading.Thread(target=watch, args=(i,), daemon=True) for i in range(16)]
    for thread in threads:
        thread.start()
    time.sleep(2)  # all connected and past their first part
    counted_from = {i: len(p) for i, p in parts.items()}
    window = 6.0
    time.sleep(window)
    counted = {i: len(p) - counted_from.get(i, 0) for i, p in parts.items()}
    stop.set()
    for thread in threads:
        thread.join(10)
    assert len(parts) == 16
    for i, frames in counted.items():
        # the camera has FPS frames a second: a stream that asked for 30 gets no more (+1 for the window's edges)
        assert 1 <= frames <= FPS * window + 1, (i, frames)
    for got in parts.values():
        image = cv2.imdecode(np.frombuffer(got[-1], np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[:2] == (cam["height"], cam["width"])  # never upscaled
