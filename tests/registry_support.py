"""Cameras for tests the way the daemon adds them: a real ``CameraRegistry`` and the subscribers of
``cameras/subscribers.py``, with plain counters where the daemon has a camera process's shared ones."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterable

import numpy as np

from frigate_like.cameras import CONFIG_SOURCE, CameraRegistry, CameraSubscriber
from frigate_like.cameras.runtime import FrameReader
from frigate_like.config import CameraConfig
from frigate_like.metrics import CameraMetrics
from frigate_like.video.capture import CaptureMetrics


def no_frame(slot: int, frame_time: float) -> np.ndarray | None:
    return None


class PlainRuntimes:
    """``RuntimeParts`` for tests that run no camera process: counters made on first use, given frames."""

    def __init__(self, read: FrameReader = no_frame, *, detect_enabled: bool = True) -> None:
        self._ctx = mp.get_context("spawn")
        self._read = read
        self._detect_enabled = detect_enabled
        self._metrics: dict[str, CameraMetrics] = {}
        self._capture: dict[str, CaptureMetrics] = {}

    def metrics(self, camera: str) -> CameraMetrics:
        if camera not in self._metrics:
            self._metrics[camera] = CameraMetrics(self._ctx, self._detect_enabled)
        return self._metrics[camera]

    def capture_metrics(self, camera: str) -> CaptureMetrics:
        if camera not in self._capture:
            self._capture[camera] = CaptureMetrics(self._ctx)
        return self._capture[camera]

    def frame_reader(self, camera: str) -> FrameReader:
        return self._read

    def frames_read(self, camera: str) -> Callable[[], int]:
        return lambda: int(self.capture_metrics(camera).frames.value)

    def upstream_drops(self, camera: str) -> Callable[[], int]:
        return lambda: int(self.capture_metrics(camera).skipped_frames.value)


def registry_with(subscribers: Iterable[CameraSubscriber], cameras: Iterable[CameraConfig]) -> CameraRegistry:
    """A registry with ``subscribers`` (in order), then ``cameras`` added as the YAML ones are at start."""
    registry = CameraRegistry()
    for subscriber in subscribers:
        registry.subscribe(subscriber)
    for cam in cameras:
        registry.add(cam, CONFIG_SOURCE)
    return registry


def record_camera(name: str, segment_time: float) -> CameraConfig:
    """A camera with the record role on whose record ffmpeg cuts ``segment_time`` s segments."""
    return CameraConfig.model_validate(
        {
            "name": name,
            "ffmpeg": {
                "inputs": [{"path": f"rtsp://127.0.0.1/{name}", "roles": ["detect", "record"]}],
                "output_args": {"record": ["-f", "segment", "-segment_time", f"{segment_time:g}"]},
            },
            "width": 640,
            "height": 360,
            "record": {"enabled": True},
        }
    )
