"""Typed counters shared between a camera's process and the main process."""

from __future__ import annotations

import time
from typing import Any


class RateMeter:
    """Events per second over a sliding window, kept in the process that counts."""

    def __init__(self, window: float = 5.0) -> None:
        self._window = window
        self._count = 0
        self._since = time.monotonic()
        self.rate = 0.0

    def tick(self, n: int = 1) -> float | None:
        """Counts ``n`` events; returns the new rate when a window closed, else None."""
        self._count += n
        return self.poll()

    def poll(self) -> float | None:
        now = time.monotonic()
        elapsed = now - self._since
        if elapsed < self._window:
            return None
        self.rate = self._count / elapsed
        self._count, self._since = 0, now
        return self.rate


class CameraMetrics:
    """Per-camera figures for /api/stats, written by the camera process (single writer).

    ``detect_enabled`` goes the other way: the main process switches detection on or off
    (MQTT ``<camera>/detect/set``) and the camera process reads it every frame.
    """

    def __init__(self, ctx: Any, detect_enabled: bool = True) -> None:
        self.process_fps = ctx.Value("d", 0.0, lock=False)
        self.detection_fps = ctx.Value("d", 0.0, lock=False)
        self.updates_dropped = ctx.Value("Q", 0, lock=False)
        self.pid = ctx.Value("i", 0, lock=False)
        self.detect_enabled = ctx.Value("b", detect_enabled, lock=False)
