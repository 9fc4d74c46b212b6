"""A Frigate 0.8 home's config starts the daemon: no cameras yet, clips on without a clips input."""

from __future__ import annotations

from pathlib import Path

from tests.integration.daemon import Daemon, demo_config


def test_no_cameras_runs_and_serves(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path)
    del cfg["cameras"]  # camera groups may add them at run time
    daemon = Daemon(tmp_path, cfg)
    daemon.start()
    try:
        assert daemon.get_json("/api/config")["cameras"] == {}
        assert daemon.get_json("/api/events") == []
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
