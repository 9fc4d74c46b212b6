"""The rtmp role end to end: the daemon publishes to a real nginx-rtmp, ffprobe plays it, and
``/api/config`` says ``rtmp.enabled: true`` only while the stream is really published."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.integration.daemon import Daemon, demo_config
from tests.nginx_support import rtmp_conf, running_nginx
from tests.ports import free_port


def _rtmp_enabled(daemon: Daemon, camera: str) -> bool:
    return bool(daemon.get_json("/api/config")["cameras"][camera]["rtmp"]["enabled"])


def _probe(url: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-rw_timeout", "10000000",
         "-show_entries", "stream=codec_type,codec_name,width,height", "-of", "json", url],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return list(json.loads(result.stdout)["streams"])


def test_rtmp_role_publishes_and_config_says_so(tmp_path: Path) -> None:
    rtmp_port, stat_port = free_port(), free_port()
    cfg = demo_config(tmp_path, loop=True)
    cfg["rtmp"] = {"url": f"rtmp://127.0.0.1:{rtmp_port}/live", "stat_url": f"http://127.0.0.1:{stat_port}/stat"}
    cam = cfg["cameras"]["demo"]
    cam["ffmpeg"]["inputs"][0]["roles"] = ["detect", "clips", "rtmp"]
    # a second camera without the rtmp role: never offered
    cfg["cameras"]["still"] = {**cam, "ffmpeg": {"inputs": [{**cam["ffmpeg"]["inputs"][0], "roles": ["detect"]}]}}
    daemon = Daemon(tmp_path, cfg)
    with running_nginx(tmp_path / "nginx", rtmp_conf(rtmp_port, stat_port), [rtmp_port, stat_port]) as nginx:
        daemon.start()
        try:
            daemon.wait_for(lambda: _rtmp_enabled(daemon, "demo"), 60, what="rtmp.enabled for demo")
            assert not _rtmp_enabled(daemon, "still")
            video = [s for s in _probe(f"rtmp://127.0.0.1:{rtmp_port}/live/demo") if s["codec_type"] == "video"]
            assert [(s["codec_name"], s["width"], s["height"]) for s in video] == [("h264", 768, 432)]
            # the server goes away: the stream is no longer offered, and detection goes on without it
            first_ffmpeg = daemon.get_json("/api/stats")["demo"]["capture_pid"]
            nginx.terminate()
            nginx.wait(10)
            daemon.wait_for(lambda: not _rtmp_enabled(daemon, "demo"), 30, what="rtmp.enabled to turn false")
            # one ffmpeg served detect, clips and rtmp: the lost output ended it, so the input was split, once:
            # detection started again at once in an ffmpeg of its own, and the copying one (clips + rtmp) is
            # restarted without the stream
            daemon.wait_for(lambda: "RTMP server of demo does not answer" in daemon.log(), 60, what="the restart")
            assert daemon.log().count("detection goes on at once in an ffmpeg of its own") == 1, daemon.log()[-3000:]
            detect_ffmpeg = daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["capture_pid"], 10)
            assert detect_ffmpeg != first_ffmpeg
            time.sleep(4)
            stats = daemon.get_json("/api/stats")["demo"]
            assert stats["capture_pid"] == detect_ffmpeg and stats["camera_fps"] > 0
        finally:
            code, _ = daemon.terminate()
    assert code == 0
