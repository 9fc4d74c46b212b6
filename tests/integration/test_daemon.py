"""The daemon end to end on real footage: events, clips, snapshots, faults and shutdown."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from frigate_like.video.binaries import find_ffprobe
from tests.integration.daemon import SHARED, Daemon, demo_config

PERSON_VIDEO_SECONDS = 139.0
MODEL = SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite"


def _events(db_path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM event ORDER BY start_time").fetchall()
    return [dict(row) for row in rows]


def _clip_duration(path: Path) -> float:
    ffprobe = find_ffprobe()
    assert ffprobe, "ffprobe is needed to check clips"
    out = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


def _person_score(jpg_path: Path) -> float:
    """Runs the real model over a whole snapshot; the best person score."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(MODEL), num_threads=1)
    interpreter.allocate_tensors()
    image = cv2.imread(str(jpg_path))
    assert image is not None, f"{jpg_path} is not a readable image"
    tensor = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (300, 300))[np.newaxis]
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
    interpreter.invoke()
    outputs = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
    classes, scores = outputs[1][0], outputs[2][0]
    return max((float(s) for c, s in zip(classes, scores, strict=True) if int(c) == 0), default=0.0)


def _first_frame_time(daemon: Daemon) -> float:
    def fps() -> float:
        stats = daemon.get_json("/api/stats")
        return float(stats["demo"]["camera_fps"]) or float(stats["demo"]["process_fps"])

    daemon.wait_for(fps, timeout=60, what="first frames")
    return time.time()


@pytest.mark.slow
def test_person_video_gives_one_event_per_visit(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, demo_config(tmp_path, loop=False, fps=5))
    started = time.time()
    daemon.start()
    try:
        # frames flow within a few seconds of start; the video itself lasts 139 s
        daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["process_fps"] > 0, 60, what="frames")
        pids = daemon.get_json("/api/stats")
        in_progress = []
        deadline = started + PERSON_VIDEO_SECONDS + 8
        while time.time() < deadline:
            events = daemon.get_json("/api/events")
            in_progress += [e["id"] for e in events if e["end_time"] is None]
            time.sleep(5)
        assert in_progress, "no in-progress event was ever listed by /api/events"
    finally:
        code, took = daemon.terminate()
    assert code == 0, daemon.log()[-3000:]
    assert took < 15, f"shutdown took {took:.1f} s"

    events = _events(daemon.db_path)
    people = [e for e in events if e["label"] == "person"]
    summary = [(round(e["start_time"] - started, 1), round((e["end_time"] or 0) - e["start_time"], 1)) for e in people]
    assert 5 <= len(people) <= 7, f"expected six visits, got {len(people)}: {summary}\n{daemon.log()[-3000:]}"
    for event in people:
        assert event["end_time"] is not None and event["end_time"] >= event["start_time"]
        # the empty room at the start of the video gives no event
        assert event["start_time"] - started > 4.0, summary
        clip = daemon.clips_dir / f"demo-{event['id']}.mp4"
        snapshot = daemon.clips_dir / f"demo-{event['id']}.jpg"
        assert event["has_clip"] and clip.exists(), f"no clip for {event['id']}"
        assert _clip_duration(clip) >= event["end_time"] - event["start_time"] - 0.5
        assert event["has_snapshot"] and snapshot.exists()
        assert _person_score(snapshot) >= 0.5, f"no person found again in {snapshot.name}"

    # a clean stop: every process it started is gone and no shared memory is left
    for key in ("capture_pid", "pid"):
        pid = pids["demo"][key]
        assert pid and not Path(f"/proc/{pid}").exists() or _is_zombie(pid), f"{key} {pid} still alive"
    assert not [p for p in os.listdir("/dev/shm") if str(daemon.proc.pid) in p]  # type: ignore[union-attr]


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_ffmpeg_killed_then_sigterm_mid_event(tmp_path: Path) -> None:
    daemon = Daemon(tmp_path, demo_config(tmp_path, loop=True, fps=5))
    daemon.start()
    stopped = False
    try:
        daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["camera_fps"] > 3, 60, what="camera_fps")
        capture_pid = daemon.get_json("/api/stats")["demo"]["capture_pid"]
        os.kill(capture_pid, signal.SIGKILL)
        killed_at = time.monotonic()

        def restarted() -> bool:
            pid = daemon.get_json("/api/stats")["demo"]["capture_pid"]
            return pid not in (None, 0, capture_pid)  # capture_pid is null while no ffmpeg runs

        daemon.wait_for(restarted, timeout=30, what="a new ffmpeg after the old one was killed")
        first_event_count = len(daemon.get_json("/api/events"))
        time.sleep(6)  # camera_fps is a moving average: let it reflect the new ffmpeg's frames
        assert daemon.get_json("/api/stats")["demo"]["camera_fps"] > 3
        assert time.monotonic() - killed_at < 30
        assert len(daemon.get_json("/api/events")) >= first_event_count
        assert daemon.proc is not None and daemon.proc.poll() is None
        assert daemon.get_json("/api/stats")["demo"]["reconnects_last_hour"] >= 1

        # a person is in view → an in-progress event; SIGTERM now must end it properly
        live = daemon.wait_for(
            lambda: [e for e in daemon.get_json("/api/events") if e["end_time"] is None], 90, what="a live event"
        )
        time.sleep(2)
        code, took = daemon.terminate()
        stopped = True
    finally:
        if not stopped:
            daemon.terminate()
    assert code == 0, daemon.log()[-3000:]
    assert took < 15, f"shutdown took {took:.1f} s"
    rows = {e["id"]: e for e in _events(daemon.db_path)}
    event = rows[live[0]["id"]]
    assert event["end_time"] is not None
    assert event["has_clip"] and (daemon.clips_dir / f"demo-{event['id']}.mp4").exists()
    assert event["has_snapshot"] and (daemon.clips_dir / f"demo-{event['id']}.jpg").exists()
    assert _clip_duration(daemon.clips_dir / f"demo-{event['id']}.mp4") > 1.0
