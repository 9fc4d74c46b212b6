"""The daemon under faults on real footage: ffmpeg killed, then SIGTERM in the middle of an event."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.integration.checks import clip_duration, db_events, event_clip
from tests.integration.daemon import Daemon, demo_config

# The whole person video (six visits) is checked once, with MQTT on: test_mqtt_daemon.py.


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
            lambda: [e for e in daemon.get_json("/api/events?include_in_progress=1") if e["end_time"] is None],
            90,
            what="a live event",
        )
        time.sleep(2)
        code, took = daemon.terminate()
        stopped = True
    finally:
        if not stopped:
            daemon.terminate()
    assert code == 0, daemon.log()[-3000:]
    assert took < 15, f"shutdown took {took:.1f} s"
    rows = {e["id"]: e for e in db_events(daemon.db_path)}
    event = rows[live[0]["id"]]
    assert event["end_time"] is not None
    clip = event_clip(daemon.clips_dir, "demo", event["id"])
    assert event["has_clip"] and clip.exists()
    assert event["has_snapshot"] and (daemon.clips_dir / f"demo-{event['id']}.jpg").exists()
    assert clip_duration(clip) > 1.0
