"""``/api/config`` as the running daemon shows it: Frigate 0.8.4's ffmpeg_cmds, switch and RTMP states."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from frigate_like.api.config_view import running_config
from frigate_like.cameras.subscribers import SwitchesSubscriber
from frigate_like.comms.switches import Switches
from frigate_like.config import FrigateConfig, config_from_dict
from tests.registry_support import PlainRuntimes, registry_with


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
    switches = Switches()
    registry_with([SwitchesSubscriber(switches, PlainRuntimes())], cfg.cameras.values())
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
    switches = Switches()
    assert running_config(cfg, switch_state=switches.get)["cameras"]["back"]["clips"]["enabled"] is True


# Frigate 0.8.4's FrigateConfig.to_dict(), key by key, with a value of each key's JSON type
# (None: null or absent in 0.8 unless configured; then any type passes).
_FILTER_08 = {"min_area": 0, "max_area": 0, "threshold": 0.5, "min_score": 0.5, "mask": None}
_RETAIN_08 = {"default": 10, "objects": {}}
_CAMERA_08: dict[str, Any] = {
    "name": "back", "height": 1, "width": 1, "fps": 5, "best_image_timeout": 60,
    "zones": {"porch": {"filters": {"person": _FILTER_08}, "coordinates": "0,0,1,1,1,0"}},
    "clips": {"enabled": False, "pre_capture": 5, "post_capture": 5, "objects": None, "retain": _RETAIN_08,
              "required_zones": []},
    "record": {"enabled": False, "retain_days": 30},
    "rtmp": {"enabled": True},
    "snapshots": {"enabled": False, "timestamp": False, "bounding_box": False, "crop": False, "height": None,
                  "retain": _RETAIN_08, "required_zones": []},
    "mqtt": {"enabled": True, "timestamp": True, "bounding_box": True, "crop": True, "height": 270,
             "required_zones": []},
    "objects": {"track": ["person"], "mask": None, "filters": {"person": _FILTER_08}},
    "motion": {"mask": None, "threshold": 25, "contour_area": 100, "delta_alpha": 0.2, "frame_alpha": 0.2,
               "frame_height": 180},
    "detect": {"enabled": True, "max_disappeared": 25},
    "frame_shape": [1, 1],
    "ffmpeg_cmds": [{"roles": ["detect"], "cmd": "ffmpeg"}],
}  # fmt: skip
_CONFIG_08: dict[str, Any] = {
    "database": {"path": "/media/frigate/clips/frigate.db"},
    "model": {"width": 320, "height": 320},
    "detectors": {"cpu": {"type": "cpu", "device": "usb", "num_threads": 3}},
    "mqtt": {"host": "mqtt", "port": 1883, "topic_prefix": "frigate", "client_id": "frigate", "user": None,
             "stats_interval": 60},
    "clips": {"max_seconds": 300, "tmpfs_cache_size": None, "retain": _RETAIN_08},
    "snapshots": {"retain": _RETAIN_08},
    "cameras": {"back": _CAMERA_08},
    "logger": {"default": "info", "logs": {}},
    "environment_vars": {},
}  # fmt: skip


def _same_shape(ours: Any, theirs: Any, where: str) -> list[str]:
    if theirs is None:
        return []
    if isinstance(theirs, dict):
        if not isinstance(ours, dict):
            return [f"{where}: not a mapping"]
        if not theirs:
            return []
        problems: list[str] = []
        for key, value in theirs.items():
            here = f"{where}.{key}"
            problems += [f"{here}: missing"] if key not in ours else _same_shape(ours[key], value, here)
        return problems
    if isinstance(theirs, list):
        if not isinstance(ours, list):
            return [f"{where}: not a list"]
        return [p for item in ours for p in _same_shape(item, theirs[0], f"{where}[]")] if theirs else []
    kind = float if isinstance(theirs, float) else type(theirs)
    ok = isinstance(ours, int | float) and not isinstance(ours, bool) if kind is float else type(ours) is kind
    return [] if ok else [f"{where}: {type(ours).__name__} where Frigate 0.8 had {kind.__name__}"]


def test_every_key_and_type_of_frigate_08s_to_dict(tmp_path: Path, model_path: Path, labelmap_path: Path) -> None:
    cfg = config_from_dict(
        {
            "mqtt": {"host": "mqtt", "user": "u", "password": "pw"},
            "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
            "clips": {"tmpfs_cache_size": "256m"},
            "cameras": {
                "back": {
                    "ffmpeg": {"inputs": [{"path": "rtsp://10.0.0.1/video", "roles": ["detect"]}]},
                    "width": 1280,
                    "height": 720,
                    "zones": {"porch": {"coordinates": "0,0,10,0,10,10", "filters": {"person": {}}}},
                }
            },
        }
    )
    shown = running_config(cfg)
    assert _same_shape(shown, _CONFIG_08, "config") == []
    assert "pw" not in json.dumps(shown)
    # and the shape check itself tells a difference
    assert _same_shape({"a": 1.5, "b": [1]}, {"a": 1, "b": ["x"], "c": 0}, "x") == [
        "x.a: float where Frigate 0.8 had int",
        "x.b[]: int where Frigate 0.8 had str",
        "x.c: missing",
    ]
