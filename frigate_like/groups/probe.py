"""Finds a group camera's own frame rate (``framerate: -1``): ffprobe for files and URLs, V4L2 for devices."""

from __future__ import annotations

import json
import logging
import subprocess
from fractions import Fraction
from pathlib import Path

from frigate_like.devices.v4l2 import current_frame_rate
from frigate_like.groups.models import GroupCameraConfig
from frigate_like.groups.translate import source_kind, source_path

logger = logging.getLogger(__name__)

FALLBACK_FPS = 5  # Frigate's detect default, when the source will not say
MAX_FPS = 30  # a camera's detect rate above this costs CPU for nothing an NVR needs
PROBE_TIMEOUT_S = 10.0


def _ffprobe_rate(ffprobe_bin: str, path: str) -> float | None:
    command = [
        ffprobe_bin, "-v", "error", "-select_streams", "v:0",
        "-show_entries", "stream=avg_frame_rate,r_frame_rate", "-of", "json", path,
    ]  # fmt: skip
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=True).stdout
        streams = json.loads(out).get("streams") or [{}]
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        logger.warning("cannot probe the frame rate of a group camera source: %s", exc)
        return None
    for key in ("avg_frame_rate", "r_frame_rate"):
        try:
            rate = Fraction(streams[0].get(key, "0/0"))
        except (ValueError, ZeroDivisionError):
            continue
        if rate > 0:
            return float(rate)
    return None


def detect_fps(config: GroupCameraConfig, ffprobe_bin: str | None) -> int:
    """The whole-number detect rate for ``config``: its framerate, else the source's own (≤ MAX_FPS)."""
    rate: float | None = config.framerate if config.framerate != -1 else None
    if rate is None:
        if source_kind(config) == "device":
            rate = current_frame_rate(Path(config.device_path))
        elif ffprobe_bin is not None:
            rate = _ffprobe_rate(ffprobe_bin, source_path(config))
    if rate is None:
        return FALLBACK_FPS
    return max(1, min(MAX_FPS, round(rate)))
