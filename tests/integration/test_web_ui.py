"""The web UI in headless Chromium against the real daemon on real footage: live grid, overlays, an event's
clip, the recordings timeline, a camera group applied and a manual recording made from the UI.

Set ``FRIGATE_LIKE_SCREENSHOTS=<folder>`` to keep a 1280×800 PNG of each page there (docs/ holds them).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.browser import Page, chromium_browser
from tests.integration.daemon import SHARED, Daemon
from tests.integration.test_recording_daemon import VIDEOS, recording_config

GROUP_CAMERA = "ui_group"
RECORDING = "ui_take"


@dataclass
class Ui:
    daemon: Daemon
    page: Page
    tmp: Path

    def open(self, route: str) -> None:
        self.page.goto(f"http://127.0.0.1:{self.daemon.port}/#/{route}")

    def shot(self, name: str) -> None:
        """A screenshot in the test's folder, and in $FRIGATE_LIKE_SCREENSHOTS when set."""
        path = self.tmp / f"{name}.png"
        self.page.screenshot(path)
        folder = os.environ.get("FRIGATE_LIKE_SCREENSHOTS")
        if folder:
            shutil.copy(path, Path(folder) / f"ui-{name}.png")


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    tmp = tmp_path_factory.mktemp("web-ui")
    daemon = Daemon(tmp, recording_config(tmp), env={"HOME": str(tmp / "home")})
    daemon.start()
    try:
        with chromium_browser(tmp) as browser:
            yield Ui(daemon, Page(browser, f"http://127.0.0.1:{daemon.port}/"), tmp)
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.terminate()


def tiles_with_frames(ui: Ui) -> list[str]:
    return list(ui.page.evaluate("[...document.querySelectorAll('.tile.has-frame')].map((t) => t.dataset.camera)"))


def test_the_live_grid_shows_a_frame_of_every_camera(ui: Ui) -> None:
    ui.open("live")
    ui.page.wait_for(f"document.querySelectorAll('.tile.has-frame').length === {len(VIDEOS)}", 30, "a frame per tile")
    assert sorted(tiles_with_frames(ui)) == sorted(VIDEOS)
    # the canvases hold pictures, not blank rectangles
    spread = ui.page.evaluate(
        "[...document.querySelectorAll('.tile canvas')].map((c) => { const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let lo = 255, hi = 0;"
        " for (let i = 0; i < d.length; i += 400) { lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); }"
        " return hi - lo; })"
    )
    assert all(value > 50 for value in spread), spread
    ui.page.wait_for("Object.values(window.__live.frames).every((n) => n >= 5)", 30, "frames keep coming")
    ui.shot("live")


# mean brightness of the top-left corner of the stream, where the timestamp overlay draws a black box
CORNER = """(() => {
  const img = document.querySelector('img.stream'); if (!img.naturalWidth) return -1;
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight; const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, Math.round(c.width * 0.2), Math.round(c.height * 0.05)).data; let sum = 0;
  for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i + 1] + d[i + 2];
  return sum / (d.length / 4) / 3; })()"""


def test_an_overlay_toggle_changes_the_picture(ui: Ui) -> None:
    ui.open("camera/person")
    ui.page.wait_for("document.querySelector('img.stream')?.naturalWidth > 0", 30, "the MJPEG stream")
    time.sleep(1)
    assert ui.page.evaluate("document.querySelector('img.stream').dataset.overlays") == "bbox,timestamp"
    with_timestamp = ui.page.evaluate(CORNER)
    ui.shot("camera")
    ui.page.click("input[name=timestamp]")
    ui.page.wait_for("document.querySelector('img.stream').src.includes('timestamp=0')", 5, "the new stream URL")
    ui.page.wait_for(f"{CORNER} > {with_timestamp} + 40", 20, "the timestamp box to go")
    # the switches answer through the HTTP endpoint: detect off and on again
    ui.page.click("input[name=detect]")
    ui.daemon.wait_for(lambda: not ui.daemon.get_json("/api/switches")["person"]["detect"], 10, what="detect OFF")
    ui.page.click("input[name=detect]")
    ui.daemon.wait_for(lambda: ui.daemon.get_json("/api/switches")["person"]["detect"], 10, what="detect ON")


def test_an_events_clip_plays_and_seeks(ui: Ui) -> None:
    def clip_written() -> bool:
        ended = [e for e in ui.daemon.get_json("/api/events?has_clip=1&limit=5") if e["end_time"] is not None]
        return bool(ended) and len(ui.daemon.get(f"/clips/{ended[0]['camera']}-{ended[0]['id']}.mp4")) > 0

    ui.daemon.wait_for(clip_written, 240, what="an event's clip")
    ui.open("events")
    finished = '.event[data-clip="1"]:not(.running)'
    ui.page.wait_for(f"!!document.querySelector('{finished}')", 20, "an event with a clip")
    ui.shot("events")
    ui.page.click(finished)
    ui.page.wait_for("document.querySelector('dialog video')?.readyState >= 1", 30, "the clip's metadata")
    seeked = ui.page.evaluate(
        """new Promise((resolve) => {
          const v = document.querySelector('dialog video');
          v.play();
          v.addEventListener('timeupdate', function first() {
            if (v.currentTime < 0.3) return;
            v.removeEventListener('timeupdate', first);
            v.addEventListener('seeked', () => resolve([v.currentTime, v.duration]), {once: true});
            v.currentTime = v.duration / 2;
          });
          setTimeout(() => resolve(['timeout', v.currentTime, v.error && v.error.code]), 30000);
        })"""
    )
    assert isinstance(seeked[0], float), seeked
    position, duration = seeked
    assert duration > 3 and abs(position - duration / 2) < 1.0
    ui.page.wait_for("document.querySelector('dialog img')?.naturalWidth > 0", 20, "the snapshot")
    ui.shot("event")
    ui.page.evaluate("document.querySelector('dialog').close()")


def test_the_recordings_timeline_plays_from_a_clicked_point(ui: Ui) -> None:
    ui.open("recordings/person")
    ui.page.wait_for("document.querySelectorAll('.timeline .footage').length > 0", 60, "footage on the timeline")
    footage = ui.page.evaluate(
        "(() => { const r = [...document.querySelectorAll('.timeline .footage')].pop().getBoundingClientRect();"
        " return [r.left, r.width, r.top + r.height / 2]; })()"
    )
    left, width, y = footage
    ui.page.click_at(left + width * 0.6, y)
    clicked = float(ui.page.wait_for("document.querySelector('video.player').dataset.requested", 10, "a play request"))
    ui.page.wait_for(
        "(() => { const v = document.querySelector('video.player'); return v.currentTime > 0 && !v.paused"
        " && v.readyState >= 3 && v.dataset.wallTime; })()",
        60,
        "the footage to play",
    )
    wall = float(ui.page.evaluate("document.querySelector('video.player').dataset.wallTime"))
    assert 0 <= wall - clicked < 5, (clicked, wall)  # plays from where it was clicked, not from the file's start
    time.sleep(1)
    ui.shot("recordings")


def group_json(name: str) -> str:
    camera = {
        "camera_id": "000",
        "camera_name": name,
        "source": str(SHARED / "media" / "car-detection.mp4"),
        "loop": True,
        "framerate": 5,
        "resolution": {"width": 640, "height": 360},
    }
    return json.dumps({"camera_configs": {"000": camera}})


def test_a_group_applied_from_the_ui_appears_in_the_grid(ui: Ui) -> None:
    ui.open("groups")
    ui.page.wait_for("!!document.querySelector('textarea[name=group]')", 10, "the group editor")
    editor = "document.querySelector('textarea[name=group]')"
    ui.page.evaluate(f"{editor}.value = {json.dumps(group_json(GROUP_CAMERA))};")
    ui.page.evaluate(f"{editor}.dispatchEvent(new Event('input'))")  # as typed: the state no longer refills it
    ui.page.click("button[name=apply]")
    ui.page.wait_for("document.body.innerText.includes('Applied group')", 60, "the group to be applied")
    ui.page.wait_for(f"document.body.innerText.includes('{GROUP_CAMERA} ')", 10, "the group in the list")
    ui.open("live")
    ui.page.wait_for(f"!!document.querySelector('.tile.has-frame[data-camera=\"{GROUP_CAMERA}\"]')", 60, "its tile")
    assert sorted(tiles_with_frames(ui)) == sorted([*VIDEOS, GROUP_CAMERA])


def test_a_manual_recording_started_and_stopped_from_the_ui_plays_back(ui: Ui) -> None:
    ui.open("groups")
    ui.page.wait_for("!!document.querySelector('input[name=recording_name]')", 10, "the recording form")
    ui.page.evaluate(f"document.querySelector('input[name=recording_name]').value = '{RECORDING}'")
    ui.page.click("button[name=record-start]")
    ui.page.wait_for("document.body.innerText.includes('● recording')", 20, "the recording to start")
    time.sleep(5)
    ui.page.click("button[name=record-stop]")
    ui.page.wait_for("document.body.innerText.includes('Stopped')", 60, "the recording to stop")
    ui.page.wait_for(f"!!document.querySelector('tr[data-name=\"{RECORDING}\"] button[name=play]')", 20, "it listed")
    ui.page.click(f'tr[data-name="{RECORDING}"] button[name=play]')
    videos = ui.page.wait_for(
        "(() => { const v = [...document.querySelectorAll('.sync-grid video')];"
        " return v.length && v.every((x) => x.readyState >= 2) && v.map((x) => x.dataset.id); })()",
        60,
        "every video of the recording",
    )
    assert {video.split(".camera.")[1].split(".")[0] for video in videos} >= {f"id{name}" for name in VIDEOS}, videos
    ui.page.click("button[name=play-all]")
    ui.page.wait_for(
        "[...document.querySelectorAll('.sync-grid video')]"
        ".every((v) => v.currentTime > 1 && Number(v.dataset.frame) > 0)",
        30,
        "the videos to play with their frame timestamps",
    )
    times: list[Any] = ui.page.evaluate("[...document.querySelectorAll('.sync-grid video')].map((v) => v.currentTime)")
    assert max(times) - min(times) < 0.5, times  # played in sync
    ui.page.click("button[name=play-all]")  # pause
    ui.page.evaluate("window.scrollTo(0, 0)")
    ui.shot("groups")
    ui.open("system")
    ui.page.wait_for("document.querySelectorAll('table.stats tr').length > 3", 20, "the statistics")
    ui.page.wait_for("!document.querySelector('pre.logs').textContent.startsWith('Waiting')", 30, "a log record")
    ui.shot("system")
