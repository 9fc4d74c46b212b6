"""Helpers for the per-frame core's tests: real configs from YAML, I420 frames, the real detector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from frigate_like.config import CameraConfig, FrigateConfig, load_config
from frigate_like.detect.tflite import LiteRTDetector


def load_camera(
    tmp_path: Path,
    shared_dir: Path,
    *,
    width: int = 768,
    height: int = 432,
    fps: int = 5,
    camera: dict[str, Any] | None = None,
    objects: dict[str, Any] | None = None,
) -> tuple[FrigateConfig, CameraConfig]:
    """Write a config with one camera ``cam`` (every tuning value at its default unless given) and load it."""
    raw: dict[str, Any] = {
        "mqtt": {"enabled": False},
        "paths": {"media_dir": str(tmp_path / "media"), "cache_dir": str(tmp_path / "cache")},
        "database": {"path": str(tmp_path / "frigate.db")},
        "model": {
            "path": str(shared_dir / "models" / "ssd_mobilenet_v1_coco_quant.tflite"),
            "labelmap_path": str(shared_dir / "models" / "coco_labelmap.txt"),
            "width": 300,
            "height": 300,
        },
        "detectors": {"cpu": {"type": "cpu", "num_threads": 1}},
        "cameras": {
            "cam": {
                "ffmpeg": {"inputs": [{"path": "rtsp://127.0.0.1/stream", "roles": ["detect"]}]},
                "width": width,
                "height": height,
                "fps": fps,
                **(camera or {}),
            }
        },
    }
    if objects is not None:
        raw["objects"] = objects
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    config = load_config(path)
    return config, config.cameras["cam"]


def rgb_to_i420(rgb: np.ndarray) -> np.ndarray:
    """An RGB image (even width and height) as a ``(h * 3 // 2, w)`` yuv420p frame."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)


def gray_i420(width: int, height: int, level: int = 120) -> np.ndarray:
    return rgb_to_i420(np.full((height, width, 3), level, dtype=np.uint8))


class InProcessDetector:
    """The real model in this process, reading the tensor the frame processor writes."""

    def __init__(self, config: FrigateConfig) -> None:
        self.detector = LiteRTDetector(config.model, config.detectors["cpu"])
        self.tensor = np.zeros((config.model.height, config.model.width, 3), dtype=np.uint8)
        self.calls = 0

    def __call__(self) -> np.ndarray:
        self.calls += 1
        return self.detector.detect_raw(self.tensor)
