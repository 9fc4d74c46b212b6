"""Recordings end to end on the real daemon: two looped cameras, 24/7 segments, a manual recording, playback
in headless Chromium, a record ffmpeg restart reported as a gap, and a recording finished at shutdown."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from frigate_like.video.binaries import find_ffmpeg
from tests.integration.browser import play_and_seek
from tests.integration.daemon import JSON, SHARED, Daemon, demo_config
from tests.record_support import count_frames, decodes_cleanly, streams

FPS = 5
SEGMENT_TIME = 10  # the default is 60; shorter keeps the run short and gives more segment boundaries
RUN_FOR = 75.0  # s of 24/7 recording before the checks
MANUAL_SECONDS = 20.0
RECORD_ARGS = (
    f"-f segment -segment_time {SEGMENT_TIME} -segment_format mp4 -reset_timestamps 1 -strftime 1 -c:v copy -c:a aac"
)
VIDEOS = {"person": "one-by-one-person-detection.mp4", "car": "car-detection.mp4"}


@dataclass
class Session:
    daemon: Daemon
    tmp: Path
    roots: Path
    manual: Path


def recording_config(tmp: Path) -> dict[str, Any]:
    """The demo config with two cameras (the person and the car video, looped like live streams), both recording."""
    cfg = demo_config(tmp, loop=True, fps=FPS)
    cfg["paths"]["recordings_roots"] = [str(tmp / "roots")]
    cfg["objects"] = {"track": ["person", "car"]}
    template = cfg["cameras"].pop("demo")
    for name, video in VIDEOS.items():
        cam = json.loads(json.dumps(template))
        cam["ffmpeg"]["inputs"][0]["path"] = str(SHARED / "media" / video)
        cam["ffmpeg"]["inputs"][0]["roles"] = ["detect", "clips", "record"]
        cam["ffmpeg"]["output_args"] = {"record": RECORD_ARGS}
        cam["record"] = {"enabled": True, "retain_days": 1}
        cfg["cameras"][name] = cam
    return cfg


def post(daemon: Daemon, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{daemon.port}{path}", data=json.dumps(body).encode(), method="POST", headers=JSON
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def ranged(daemon: Daemon, path: str, first: int, last: int) -> tuple[int, bytes]:
    url = f"http://127.0.0.1:{daemon.port}{path}"
    request = urllib.request.Request(url, headers={"Range": f"bytes={first}-{last}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, bytes(response.read())


def rows(daemon: Daemon, camera: str) -> list[dict[str, Any]]:
    with sqlite3.connect(daemon.db_path) as conn:
        conn.row_factory = sqlite3.Row
        found = conn.execute("SELECT * FROM recordings WHERE camera = ? ORDER BY start_time", (camera,)).fetchall()
    return [dict(row) for row in found]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    tmp = tmp_path_factory.mktemp("recording-daemon")
    daemon = Daemon(tmp, recording_config(tmp), env={"HOME": str(tmp / "home")})
    started = time.monotonic()
    daemon.start()
    try:
        daemon.wait_for(
            lambda: all(daemon.get_json("/api/stats")[cam]["camera_fps"] > 3 for cam in VIDEOS), 60, what="frames"
        )
        status, body = post(
            daemon,
            "/skellycam/camera/group/all/record/start",
            {"recording_name": "two_cams", "recording_directory": str(tmp / "roots")},
        )
        assert (status, body) == (200, True), body
        time.sleep(MANUAL_SECONDS)
        assert json.loads(daemon.get("/skellycam/camera/group/all/record/stop", 60, JSON)) is True
        time.sleep(max(0.0, RUN_FOR - (time.monotonic() - started)))
        yield Session(daemon, tmp, tmp / "roots", tmp / "roots" / "two_cams")
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.terminate()


def test_manual_recording_of_two_cameras_on_one_clock(session: Session) -> None:
    stats = json.loads((session.manual / "timestamps" / "two_cams_statistics.json").read_text())
    for index, camera in enumerate(sorted(VIDEOS)):  # the daemon's config lists the cameras by name
        video_id = f"two_cams.camera.id{camera}.idx{index}"
        with (session.manual / "timestamps" / "camera_timestamps" / f"{video_id}.csv").open() as handle:
            table = list(csv.DictReader(handle))
        times = [float(row["timestamp_utc_s"]) for row in table]
        zero = stats["started_unix_s"]  # every camera counts from the same start
        from_zero = [float(row["timestamp_from_zero_s"]) for row in table]
        assert all(abs(z - (t - zero)) < 1e-3 for z, t in zip(from_zero, times, strict=True))
        frames = count_frames(session.manual / f"{video_id}.mp4")
        assert frames == len(times) == stats["cameras"][video_id]["frames"]
        assert MANUAL_SECONDS * FPS * 0.8 <= frames <= MANUAL_SECONDS * FPS * 1.1
        assert all(b > a for a, b in zip(times, times[1:], strict=False)), f"{camera}: not strictly increasing"
        # One clock, one start: the first frame written is the first one captured after the start. How
        # long after depends on when capture read it, which a loaded machine delays as it delays any
        # frame: so no later than this camera's longest wait between two frames of the recording.
        longest_wait = max(b - a for a, b in zip(times, times[1:], strict=False))
        late = times[0] - zero
        assert 0 <= late <= max(longest_wait, 1.0 / FPS) + 0.02, (camera, late, longest_wait)


def test_24_7_segments_are_contiguous_and_playable(session: Session) -> None:
    ffmpeg = find_ffmpeg()
    for camera in VIDEOS:
        recorded = rows(session.daemon, camera)
        assert len(recorded) >= 5, f"{camera}: {len(recorded)} segments in {RUN_FOR:.0f} s"
        for before, after in zip(recorded, recorded[1:], strict=False):
            hole = after["start_time"] - before["end_time"]
            assert hole <= 1.0, f"{camera}: {hole:.2f} s without footage before {after['path']}"
        for row in recorded:
            path = Path(row["path"])
            assert path.is_file() and path.stat().st_size == row["size_bytes"]
            assert decodes_cleanly(path, ffmpeg), f"{path} does not decode cleanly"
        kinds = streams(Path(recorded[0]["path"]))
        assert kinds == ({"video": "h264", "audio": "aac"} if camera == "car" else {"video": "h264"})
        hours = [h for day in session.daemon.get_json(f"/api/{camera}/recordings") for h in day["recordings"]]
        assert sum(h["segments"] for h in hours) >= len(recorded)
        assert [g for h in hours for g in h["gaps"]] == []
        record = session.daemon.get_json("/api/stats")[camera]["record"]
        assert (record["restarts"], record["gaps"], record["failures"]) == (0, 0, 0)
        assert record["backlog"] <= 1


def test_export_and_playback_with_range_requests(session: Session) -> None:
    car = rows(session.daemon, "car")
    start, end = car[1]["start_time"] + 1.0, car[2]["start_time"] + 1.0
    status, piece = ranged(session.daemon, f"/api/car/recordings/{start}/{end}.mp4", 1000, 1999)
    assert status == 206 and len(piece) == 1000
    whole = session.daemon.get(f"/api/car/recordings/{start}/{end}.mp4", timeout=60)
    assert piece == whole[1000:2000]

    status, loaded = post(session.daemon, "/skellycam/playback/load", {"recording_path": str(session.manual)})
    assert status == 200 and len(loaded["videos"]) == 2
    video = loaded["videos"][0]
    status, piece = ranged(session.daemon, video["stream_url"], 1000, 1999)
    on_disk = (session.manual / video["filename"]).read_bytes()
    assert status == 206 and piece == on_disk[1000:2000]
    listed = {entry["name"]: entry for entry in session.daemon.get_json("/skellycam/playback/recordings")}
    assert listed["two_cams"]["video_count"] == 2 and listed["two_cams"]["path"] == str(session.manual)
    assert listed["two_cams"]["fps"] == pytest.approx(FPS, rel=0.2)


def test_recording_paths_out_of_the_roots_are_refused(session: Session) -> None:
    outside = session.tmp / "outside"
    outside.mkdir(exist_ok=True)
    (session.roots / "link").symlink_to(outside)
    for path in ("/etc", "../..", str(session.roots / "link")):
        status, body = post(session.daemon, "/skellycam/playback/load", {"recording_path": path})
        assert status == 400 and "outside the allowed folders" in body["detail"], path
        status, body = post(session.daemon, "/skellycam/camera/group/all/record/start", {"recording_directory": path})
        assert status == 400, path


def test_headless_chromium_plays_and_seeks_a_loaded_recording(session: Session) -> None:
    status, loaded = post(session.daemon, "/skellycam/playback/load", {"recording_path": str(session.manual)})
    assert status == 200
    url = f"http://127.0.0.1:{session.daemon.port}{loaded['videos'][0]['stream_url']}"
    position, duration = play_and_seek(url, session.tmp)
    assert duration >= MANUAL_SECONDS * 0.8
    assert abs(position - duration / 2) < 1.0


def record_ffmpeg(camera_pid: int) -> int:
    """The camera process's ffmpeg writing record segments (detect has an ffmpeg of its own)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if ppid == camera_pid and b"/record/" in cmdline:
            return int(entry.name)
    raise AssertionError(f"no record ffmpeg under camera process {camera_pid}")


def test_a_record_restart_is_counted_and_its_gap_reported_then_shutdown_finishes_a_recording(
    session: Session,
) -> None:
    daemon = session.daemon
    before = len(rows(daemon, "car"))
    os.kill(record_ffmpeg(daemon.get_json("/api/stats")["car"]["pid"]), signal.SIGKILL)
    daemon.wait_for(lambda: daemon.get_json("/api/stats")["car"]["record"]["restarts"] == 1, 60, what="a restart")
    daemon.wait_for(lambda: len(rows(daemon, "car")) >= before + 2, 60, what="segments after the restart")
    record = daemon.get_json("/api/stats")["car"]["record"]
    gaps = [g for day in daemon.get_json("/api/car/recordings") for h in day["recordings"] for g in h["gaps"]]
    # restarted at once (issue 18): the hole is ffmpeg's own start-up, under the timeline's 1 s tolerance
    # on a quiet machine; on a loaded one a gap may show, and then it is reported, and short
    assert record["gaps"] <= 1 and len(gaps) <= 1
    assert all(1.0 < g["duration"] < 5.0 for g in gaps), gaps

    status, _ = post(
        daemon,
        "/skellycam/camera/group/all/record/start",
        {"recording_name": "at_shutdown", "recording_directory": str(session.roots)},
    )
    assert status == 200
    time.sleep(3)
    code, _ = daemon.terminate()
    assert code == 0, daemon.log()[-3000:]
    folder = session.roots / "at_shutdown"
    stats = json.loads((folder / "timestamps" / "at_shutdown_statistics.json").read_text())
    for video_id, camera in stats["cameras"].items():
        if camera["frames"]:
            assert count_frames(folder / f"{video_id}.mp4") == camera["frames"]
    assert "manual recording in" in daemon.log() and "finished at shutdown" in daemon.log()
