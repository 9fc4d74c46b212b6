"""A Frigate 0.8 home's config starts the daemon: no cameras yet, clips on without a clips input."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.integration.daemon import SHARED, Daemon, demo_config
from tests.integration.test_yaml_and_group_cameras import group_body


def test_no_cameras_runs_serves_and_takes_a_group_camera(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path)
    del cfg["cameras"]  # camera groups may add them at run time
    cfg["camera_groups"] = {"file_roots": [str(SHARED / "media")]}  # where group cameras may play files from
    daemon = Daemon(tmp_path, cfg)
    daemon.start()
    try:
        assert daemon.get_json("/api/config")["cameras"] == {}
        assert daemon.get_json("/api/events") == []
        body = group_body()
        body["camera_configs"]["000"]["record"] = False
        applied = requests.post(f"http://127.0.0.1:{daemon.port}/skellycam/camera/group/apply", json=body, timeout=60)
        assert applied.status_code == 200, applied.text
        daemon.wait_for(
            lambda: daemon.get_json("/api/stats").get("lobby", {}).get("camera_fps", 0) > 0, 60, what="lobby's frames"
        )
        lobby = daemon.get_json("/api/config")["cameras"]["lobby"]  # Frigate 0.8.4's shape, as a YAML camera's
        assert lobby["frame_shape"] == [432, 768] and lobby["ffmpeg_cmds"][0]["roles"][0] == "detect"
        assert lobby["detect"]["enabled"] is True and lobby["rtmp"]["enabled"] is False
    finally:
        code, _ = daemon.terminate()
    assert code == 0, daemon.log()


def test_clips_without_a_clips_input_runs_with_a_warning(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path)
    cam = cfg["cameras"]["demo"]
    cam["clips"] = {"enabled": True}
    cam["ffmpeg"]["inputs"][0]["roles"] = ["detect"]
    daemon = Daemon(tmp_path, cfg)
    daemon.start()
    try:
        assert daemon.get_json("/api/config")["cameras"]["demo"]["clips"]["enabled"] is True
    finally:
        code, _ = daemon.terminate()
    assert code == 0
    assert "warning: cameras.demo.clips.enabled: clips are enabled but no input has the clips role" in daemon.log()
