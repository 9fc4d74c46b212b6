"""The web UI in headless Chromium against the real daemon on real footage: live grid, overlays, an event's
clip, the recordings timeline, a camera group applied and a manual recording made from the UI.

Set ``FRIGATE_LIKE_SCREENSHOTS=<folder>`` to keep a 1280×800 PNG of each page there (docs/ holds them).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from frigate_like.api import ApiServices, create_app
from frigate_like.api.server import HttpServer
from frigate_like.cameras.subscribers import SwitchesSubscriber
from frigate_like.comms.switches import Switches
from frigate_like.config import to_public_dict
from frigate_like.db import queries
from frigate_like.db.database import close_database, open_database
from frigate_like.migrations import MIGRATIONS_DIR
from tests.integration.browser import Page, chromium_browser
from tests.integration.daemon import SHARED, Daemon
from tests.integration.test_recording_daemon import VIDEOS, post, recording_config
from tests.registry_support import PlainRuntimes, registry_with
from tests.track_support import load_camera

GROUP_CAMERA = "ui_group"
RECORDING = "ui_take"


@dataclass
class Ui:
    daemon: Daemon
    page: Page
    tmp: Path

    def open(self, route: str) -> None:
        self.page.goto(f"http://127.0.0.1:{self.daemon.port}/#/{route}")

    def wait(self, expression: str, timeout: float, what: str) -> Any:
        """``page.wait_for`` that, when it times out, also shows the end of the daemon's log."""
        try:
            return self.page.wait_for(expression, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- daemon log ---\n{self.daemon.log()[-3000:]}") from None

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
    cfg = recording_config(tmp)
    cfg["camera_groups"] = {"file_roots": [str(SHARED / "media")]}  # the group the UI applies plays a file
    daemon = Daemon(tmp, cfg, env={"HOME": str(tmp / "home")})
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
    ui.wait(f"document.querySelectorAll('.tile.has-frame').length === {len(VIDEOS)}", 30, "a frame per tile")
    assert sorted(tiles_with_frames(ui)) == sorted(VIDEOS)
    # the canvases hold pictures, not blank rectangles
    spread = ui.page.evaluate(
        "[...document.querySelectorAll('.tile canvas')].map((c) => { const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let lo = 255, hi = 0;"
        " for (let i = 0; i < d.length; i += 400) { lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); }"
        " return hi - lo; })"
    )
    assert all(value > 50 for value in spread), spread
    ui.wait("Object.values(window.__live.frames).every((n) => n >= 5)", 30, "frames keep coming")


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
    ui.wait("document.querySelector('input[name=view][value=debug]') !== null", 10, "the view switch")
    ui.page.click("input[name=view][value=debug]")  # the camera's own video first; overlays are the debug view
    ui.wait("document.querySelector('img.stream')?.naturalWidth > 0", 30, "the MJPEG stream")
    time.sleep(1)
    assert ui.page.evaluate("document.querySelector('img.stream').dataset.overlays") == "bbox,timestamp"
    with_timestamp = ui.page.evaluate(CORNER)
    ui.page.click("input[name=timestamp]")
    ui.wait("document.querySelector('img.stream').src.includes('timestamp=0')", 5, "the new stream URL")
    ui.wait(f"{CORNER} > {with_timestamp} + 40", 20, "the timestamp box to go")
    # the switches answer through the HTTP endpoint: detect off and on again
    for state in ("OFF", "ON"):
        ui.page.click("input[name=detect]")
        ui.wait(f"document.querySelector('.switches p').innerText === 'detect is {state}'", 20, f"detect {state}")
        assert ui.daemon.get_json("/api/switches")["person"]["detect"] is (state == "ON")


def test_an_events_clip_plays_and_seeks(ui: Ui) -> None:
    def clip_written() -> bool:
        ended = [e for e in ui.daemon.get_json("/api/events?has_clip=1&limit=5") if e["end_time"] is not None]
        return bool(ended) and len(ui.daemon.get(f"/clips/{ended[0]['camera']}-{ended[0]['id']}.mp4")) > 0

    ui.daemon.wait_for(clip_written, 240, what="an event's clip")
    ui.open("events")
    finished = '.event[data-clip="1"]:not(.running)'
    ui.wait(f"!!document.querySelector('{finished}')", 20, "an event with a clip")
    ui.shot("events")
    ui.page.click(finished)
    ui.wait("document.querySelector('dialog video')?.readyState >= 1", 30, "the clip's metadata")
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
    ui.wait("document.querySelector('dialog img')?.naturalWidth > 0", 20, "the snapshot")
    ui.shot("event")
    ui.page.evaluate("document.querySelector('dialog').close()")


def test_the_recordings_timeline_plays_from_a_clicked_point(ui: Ui) -> None:
    ui.open("recordings/person")
    ui.wait("document.querySelectorAll('.timeline .footage').length > 0", 60, "footage on the timeline")
    footage = ui.page.evaluate(
        "(() => { const r = [...document.querySelectorAll('.timeline .footage')].pop().getBoundingClientRect();"
        " return [r.left, r.width, r.top + r.height / 2]; })()"
    )
    left, width, y = footage
    ui.page.click_at(left + width * 0.6, y)
    clicked = float(ui.wait("document.querySelector('video.player').dataset.requested", 10, "a play request"))
    ui.wait(
        "(() => { const v = document.querySelector('video.player'); return v.currentTime > 0 && !v.paused"
        " && v.readyState >= 3 && v.dataset.wallTime; })()",
        60,
        "the footage to play",
    )
    wall = float(ui.page.evaluate("document.querySelector('video.player').dataset.wallTime"))
    assert 0 <= wall - clicked < 5, (clicked, wall)  # plays from where it was clicked, not from the file's start
    # a drag over the footage offers that range as one mp4
    ui.page.drag(left + width * 0.2, left + width * 0.8, y)
    href = ui.wait("document.querySelector('.selection-actions a')?.getAttribute('href')", 10, "the export link")
    export = ui.daemon.get("/" + href, timeout=60)
    assert export[4:8] == b"ftyp" and len(export) > 10_000
    time.sleep(1)
    ui.shot("recordings")


def test_a_group_applied_from_the_ui_appears_in_the_grid(ui: Ui) -> None:
    ui.open("groups")
    ui.wait("!!document.querySelector('textarea[name=group]')", 10, "the group editor")
    ui.page.click("button[name=new-group]")  # an empty group in the editor
    fields = {"new_camera_name": GROUP_CAMERA, "new_camera_source": str(SHARED / "media" / "car-detection.mp4")}
    for name, value in fields.items():
        ui.page.evaluate(f"document.querySelector('input[name={name}]').value = {json.dumps(value)}")
    ui.page.click("input[name=new_camera_loop]")
    ui.page.click("button[name=add-camera]")
    group = json.loads(ui.page.evaluate("document.querySelector('textarea[name=group]').value"))
    assert group["camera_configs"]["000"]["camera_name"] == GROUP_CAMERA and group["camera_configs"]["000"]["loop"]
    ui.page.click("button[name=apply]")
    ui.wait("document.body.innerText.includes('Applied group')", 60, "the group to be applied")
    ui.wait(f"document.body.innerText.includes('{GROUP_CAMERA} ')", 10, "the group in the list")
    ui.open("live")
    ui.wait(f"!!document.querySelector('.tile.has-frame[data-camera=\"{GROUP_CAMERA}\"]')", 60, "its tile")
    assert sorted(tiles_with_frames(ui)) == sorted([*VIDEOS, GROUP_CAMERA])
    ui.shot("live")


def test_a_manual_recording_started_and_stopped_from_the_ui_plays_back(ui: Ui) -> None:
    ui.open("groups")
    ui.wait("!!document.querySelector('input[name=recording_name]')", 10, "the recording form")
    ui.page.evaluate(f"document.querySelector('input[name=recording_name]').value = '{RECORDING}'")
    ui.page.click("button[name=record-start]")
    ui.wait(f"document.body.innerText.includes('● recording {RECORDING}')", 20, "the recording to start")
    ui.page.reload()  # a fresh page knows of the recording from the daemon's state alone
    ui.wait(
        f"document.body.innerText.includes('● recording {RECORDING}')"
        " && !document.querySelector('button[name=record-stop]').disabled"
        " && document.querySelector('button[name=record-start]').disabled",
        20,
        "the reloaded page to show the running recording",
    )
    time.sleep(5)
    ui.page.click("button[name=record-stop]")
    ui.wait("document.body.innerText.includes('Stopped')", 60, "the recording to stop")
    ui.wait(f"!!document.querySelector('tr[data-name=\"{RECORDING}\"] button[name=play]')", 20, "it listed")
    ui.page.click(f'tr[data-name="{RECORDING}"] button[name=play]')
    videos = ui.wait(
        "(() => { const v = [...document.querySelectorAll('.sync-grid video')];"
        " return v.length && v.every((x) => x.readyState >= 2) && v.map((x) => x.dataset.id); })()",
        60,
        "every video of the recording",
    )
    # every running camera is recorded: the YAML ones and the group camera of the test before
    assert {video.split(".camera.")[1].split(".")[0] for video in videos} == {
        f"id{name}" for name in [*VIDEOS, GROUP_CAMERA]
    }, videos
    ui.page.click("button[name=play-all]")
    ui.wait(
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
    ui.wait("document.querySelectorAll('table.stats tr').length > 3", 20, "the statistics")
    ui.wait("document.querySelector('pre.logs') !== null", 5, "the log panel")
    time.sleep(1)  # subscribed to log records
    for on in (False, True):  # something the daemon logs at info level
        status, _ = post(ui.daemon, "/api/car/switches", {"snapshots": on})
        assert status == 200
    ui.wait("!document.querySelector('pre.logs').textContent.startsWith('Waiting')", 30, "a log record")
    ui.shot("system")
    ui.open("camera/person")
    ui.wait("document.querySelector('input[name=view][value=debug]') !== null", 10, "the view switch")
    ui.page.click("input[name=view][value=debug]")  # the camera's own video first; overlays are the debug view
    ui.wait("document.querySelector('img.stream')?.naturalWidth > 0", 30, "the MJPEG stream")
    ui.wait("document.querySelector('.best img:not([hidden])')?.naturalWidth > 0", 30, "the best picture of a person")
    ui.shot("camera")


@contextlib.contextmanager
def app_alone(services: ApiServices) -> Iterator[str]:
    """The HTTP app served without a daemon (no cameras run): its base URL."""
    server = HttpServer(create_app(services), "127.0.0.1", 0)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}/"
    finally:
        server.stop()


def test_a_refused_change_offers_the_token_and_the_token_lets_it_through(tmp_path: Path, shared_dir: Path) -> None:
    """With an API token set, the UI explains the 401, offers the token dialog and signs in."""
    cfg, cam = load_camera(tmp_path, shared_dir)
    cfg.http = cfg.http.model_copy(update={"api_token": "s3cret"})
    runtimes, switches = PlainRuntimes(), Switches()
    registry_with([SwitchesSubscriber(switches, runtimes)], [cam])
    metrics = runtimes.metrics("cam")
    services = ApiServices(
        config=cfg, stats=dict, public_config=lambda: to_public_dict(cfg), events=None, switches=switches
    )
    with app_alone(services) as base, chromium_browser(tmp_path) as browser:
        page = Page(browser, f"{base}#/camera/cam")
        page.wait_for("!!document.querySelector('input[name=detect]')", 20, "the switches")
        page.click("input[name=detect]")
        banner = page.wait_for("!document.getElementById('banner').hidden && banner.innerText", 10, "the banner")
        assert "needs the API token (401)" in banner and "Enter token" in banner
        assert metrics.detect_enabled.value
        assert page.evaluate("document.querySelector('input[name=detect]').checked")  # shows the real state
        page.click("#banner button")
        page.wait_for("document.getElementById('token-dialog').open", 5, "the token dialog")
        page.evaluate("document.getElementById('token-input').value = 's3cret'")
        page.click("#token-submit")
        page.wait_for("document.getElementById('banner').innerText.includes('Signed in')", 10, "signed in")
        page.click("input[name=detect]")
        page.wait_for("document.querySelector('.switches p').innerText === 'detect is OFF'", 10, "detect OFF")
        assert not metrics.detect_enabled.value


def test_the_events_page_lists_every_match_once_newest_first(tmp_path: Path, shared_dir: Path) -> None:
    """Pages across ties at a page boundary, one-day windows and a two-day stretch without events."""
    cfg, _ = load_camera(tmp_path, shared_dir, camera={"zones": {"porch": {"coordinates": "0,0,10,0,10,10"}}})
    db = open_database(cfg.database, MIGRATIONS_DIR)
    now = time.time()
    expected: list[tuple[float, str]] = []
    for i in range(130):
        start = now - 3600 - i * 600 - (2 * 86400 if i >= 100 else 0)  # a gap of two days after 100 events
        start = now - 3600 - 49 * 600 if 49 <= i <= 51 else start  # three events in one frame, across page 1's end
        zones = ["porch"] if i % 3 == 0 else []
        event_id = queries.create_event("cam", "person", start, id=f"{start}-{i:03d}", zones=zones, end_time=start + 5)
        expected.append((start, event_id))
    services = ApiServices(config=cfg, stats=dict, public_config=lambda: to_public_dict(cfg), events=queries)
    try:
        with app_alone(services) as base, chromium_browser(tmp_path) as browser:
            page = Page(browser, f"{base}#/events")
            for zone in ("", "porch"):
                page.wait_for("!!document.querySelector('select[name=zone]')", 20, "the filters")
                page.evaluate(
                    f"(() => {{ const z = document.querySelector('select[name=zone]'); z.value = {json.dumps(zone)};"
                    " z.dispatchEvent(new Event('change')); })()"
                )
                for _ in range(20):  # "Load more" until the list ends
                    loaded = "!document.querySelector('.events + p').innerText.startsWith('Loading')"
                    page.wait_for(loaded, 20, "a page")
                    if page.evaluate("document.querySelector('.more').hidden"):
                        break
                    page.evaluate("document.querySelector('.more').click()")
                shown = page.evaluate("[...document.querySelectorAll('.event')].map((e) => e.dataset.id)")
                wanted = [event_id for start, event_id in sorted(expected, reverse=True)]
                if zone:
                    wanted = [event_id for event_id in wanted if int(event_id[-3:]) % 3 == 0]
                assert shown == wanted, (zone, len(shown), len(wanted))
    finally:
        close_database(db)


def test_an_event_whose_clip_lacks_footage_says_where(tmp_path: Path, shared_dir: Path) -> None:
    """The event's ``clip_gaps`` reach the page: the list marks the clip, the dialog names each gap."""
    cfg, _ = load_camera(tmp_path, shared_dir)
    db = open_database(cfg.database, MIGRATIONS_DIR)
    start = time.time() - 600
    holed = queries.create_event("cam", "person", start, id=f"{start}-holed0", end_time=start + 30, has_clip=True,
                                 clip_gaps=[[start + 10.0, start + 22.4]])  # fmt: skip
    whole = queries.create_event("cam", "person", start - 60, id=f"{start - 60}-whole0", end_time=start - 40,
                                 has_clip=True)  # fmt: skip
    services = ApiServices(config=cfg, stats=dict, public_config=lambda: to_public_dict(cfg), events=queries)
    try:
        with app_alone(services) as base, chromium_browser(tmp_path) as browser:
            page = Page(browser, f"{base}#/events")
            page.wait_for("document.querySelectorAll('.event').length === 2", 20, "both events")
            badges = page.evaluate(
                "Object.fromEntries([...document.querySelectorAll('.event')].map((e) =>"
                " [e.dataset.id, [...e.querySelectorAll('.badge')].map((b) => b.innerText)]))"
            )
            assert badges == {holed: ["clip with gaps"], whole: ["clip"]}, badges
            page.click(f'.event[data-id="{holed}"]')
            note = page.wait_for("document.querySelector('dialog .clip-gaps')?.innerText", 20, "the gap note")
            assert note.startswith("This clip lacks footage: 12 s from "), note
            if os.environ.get("FRIGATE_LIKE_SCREENSHOTS"):  # to look at it: the folder to write to
                page.screenshot(Path(os.environ["FRIGATE_LIKE_SCREENSHOTS"]) / "event-clip-gaps.png")
            page.evaluate("document.querySelector('dialog').close()")
            assert not page.evaluate("document.querySelector('dialog').open")
            page.click(f'.event[data-id="{whole}"]')
            opened = "document.querySelector('dialog').open && !document.querySelector('dialog .clip-gaps')"
            page.wait_for(opened, 20, "the whole clip's dialog, without a gap note")
    finally:
        close_database(db)
