"""``/api/config`` as the running daemon shows it: Frigate 0.8.4's ffmpeg_cmds, switch and RTMP states."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

from frigate_like.api.config_view import running_config
from frigate_like.comms.switches import Switches
from frigate_like.config import FrigateConfig, config_from_dict


def _config(tmp_path: Path, model_path: Path, labelmap_path: Path) -> FrigateConfig:
    raw: dict[str, Any] = {
        "paths": {"media_dir": str(tmp_path / "media"), "cache_dir": str(tmp_path / "cache")},
        "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
        "cameras": {
            "back": {
                "ffmpeg": {
                    "inputs": [
                        {"path": "rtsp://viewer:pw-4711@10.0.0.1:554/video", "roles": ["detect", "rtmp"]},
                        {"path": "rtsp://10.0.0.1:554/record", "roles": ["record"]},
                        {"path": "rtsp://10.0.0.1:554/clips", "roles": ["clips"]},
                    ]
                },
                "height": 1080,
                "width": 1920,
                "clips": {"enabled": True},
                "snapshots": {"enabled": True},
            }
        },
    }
    return config_from_dict(raw)


def test_ffmpeg_cmds_like_frigate_08(tmp_path: Path, model_path: Path, labelmap_path: Path) -> None:
    """0.8.4 test_role_assigned_but_not_enabled: record is off, so its input has no command."""
    back = running_config(_config(tmp_path, model_path, labelmap_path), ffmpeg_bin="ffmpeg")["cameras"]["back"]
    assert [c["roles"] for c in back["ffmpeg_cmds"]] == [["detect", "rtmp"], ["clips"]]
    detect = back["ffmpeg_cmds"][0]["cmd"]
    assert detect.startswith("ffmpeg ") and "-i rtsp://viewer:*****@10.0.0.1:554/video" in detect
    assert "pw-4711" not in detect
    assert back["frame_shape"] == [1080, 1920]


def test_switch_states_and_rtmp_are_the_running_ones(tmp_path: Path, model_path: Path, labelmap_path: Path) -> None:
    cfg = _config(tmp_path, model_path, labelmap_path)
    detect_flag = mp.get_context("spawn").Value("b", True)
    switches = Switches(dict(cfg.cameras), {"back": detect_flag})
    shown = running_config(cfg, switch_state=switches.get)["cameras"]["back"]
    assert [shown[s]["enabled"] for s in ("detect", "clips", "snapshots", "rtmp")] == [True, True, True, False]
    switches.set("back", "detect", False)
    switches.set("back", "snapshots", False)
    shown = running_config(cfg, switch_state=switches.get, rtmp_published={"rtmp://127.0.0.1:1935/live/back"}.__contains__)["cameras"]["back"]
    assert [shown[s]["enabled"] for s in ("detect", "clips", "snapshots", "rtmp")] == [False, True, False, True]
    assert cfg.cameras["back"].detect.enabled  # the config itself is untouched


def test_a_camera_the_switches_do_not_know_shows_its_config(
    tmp_path: Path, model_path: Path, labelmap_path: Path
) -> None:
    cfg = _config(tmp_path, model_path, labelmap_path)
    switches = Switches({}, {})
    assert running_config(cfg, switch_state=switches.get)["cameras"]["back"]["clips"]["enabled"] is True
