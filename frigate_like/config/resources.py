"""What ``run`` needs of the host, checked without starting: shared memory for the frame rings, writable folders."""

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


def shm_problem(cfg: FrigateConfig, slots: int, shm_path: Path | str = "/dev/shm") -> str | None:
    """Why ``shm_path`` cannot hold the frame rings, or None when it can.

    Where ``shm_path`` does not exist (not Linux) there is nothing to measure and the
    check passes.
    """
    path = Path(shm_path)
    if not path.exists():
        log.debug("%s does not exist; shared memory size not checked", path)
        return None
    stat = os.statvfs(path)
    free = stat.f_bavail * stat.f_frsize
    needed = shm_bytes_needed(cfg, slots)
    if needed <= free:
        return None
    return (
        f"shared memory: {len(cfg.cameras)} camera(s) need {_human(needed)} for {slots} frames each,"
        f" but {path} has only {_human(free)} free; give the container more"
        " (docker run --shm-size=...) or lower the cameras' width/height"
    )


def check_shm(cfg: FrigateConfig, slots: int, shm_path: Path | str = "/dev/shm") -> None:
    """Raise ``ConfigError`` when ``shm_path`` has less free space than the frame rings need."""
    problem = shm_problem(cfg, slots, shm_path)
    if problem is not None:
        raise ConfigError(problem)


def _folder_problem(key: str, folder: Path) -> str | None:
    """``folder`` must be a writable folder, or creatable inside the nearest one that exists."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{key}: {existing} is not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "is not writable" if existing == folder else f"cannot be created: {existing} is not writable"
        return f"{key}: {folder} {what}"
    return None


def folder_problems(cfg: FrigateConfig) -> list[str]:
    """The folders ``run`` writes to (media, cache, the SQLite file's folder) must be writable."""
    media = cfg.paths.media_dir
    folders = [
        ("paths.media_dir", media / "clips"),
        ("paths.media_dir", media / "recordings"),
        ("paths.cache_dir", cfg.paths.cache_dir),
    ]
    if cfg.database.url is None:
        folders.append(("database.path", cfg.database.path.parent))
    problems = (_folder_problem(key, folder) for key, folder in folders)
    return list(dict.fromkeys(p for p in problems if p is not None))


def preflight_problems(cfg: FrigateConfig, slots: int, shm_path: Path | str = "/dev/shm") -> list[str]:
    """What would stop ``run`` at start-up that the files alone do not show; empty when it can start."""
    shm = shm_problem(cfg, slots, shm_path)
    return folder_problems(cfg) + ([shm] if shm is not None else [])
