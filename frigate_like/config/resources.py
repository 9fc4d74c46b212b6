"""Whether the host has the shared memory the cameras' frame rings will need."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from frigate_like.config.frigate import FrigateConfig
from frigate_like.errors import ConfigError

log = logging.getLogger(__name__)


def shm_bytes_needed(cfg: FrigateConfig, slots_per_camera: int) -> int:
    """Bytes of the yuv420p frame rings: slots × width × height × 1.5, summed over cameras."""
    return sum(slots_per_camera * cam.width * cam.height * 3 // 2 for cam in cfg.cameras.values())


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    raise AssertionError("unreachable")


def check_shm(cfg: FrigateConfig, slots: int, shm_path: Path | str = "/dev/shm") -> None:
    """Raise ``ConfigError`` when ``shm_path`` has less free space than the frame rings need.

    Where ``shm_path`` does not exist (not Linux) there is nothing to measure and the
    check passes.
    """
    path = Path(shm_path)
    if not path.exists():
        log.debug("%s does not exist; shared memory size not checked", path)
        return
    stat = os.statvfs(path)
    free = stat.f_bavail * stat.f_frsize
    needed = shm_bytes_needed(cfg, slots)
    if needed > free:
        raise ConfigError(
            f"shared memory: {len(cfg.cameras)} camera(s) need {_human(needed)} for {slots} frames each,"
            f" but {path} has only {_human(free)} free; give the container more"
            " (docker run --shm-size=...) or lower the cameras' width/height"
        )
