"""Where the daemon keeps what it writes besides media and the database: ``paths.state_dir``.

The config folder may be read-only (a container mounts ``/config:ro``), so nothing is written
there. ``state_dir`` defaults to the media folder (resolved by the config loader).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from frigate_like.config.sections import PathsConfig
from frigate_like.groups import groups_path_for

logger = logging.getLogger(__name__)

CAMERA_GROUPS_FILE = "camera-groups.json"


def state_dir(paths: PathsConfig) -> Path:
    """The state folder: ``paths.state_dir``, else the media folder."""
    return paths.state_dir or paths.media_dir


def camera_groups_path(paths: PathsConfig, config_path: Path | None = None) -> Path:
    """``<state_dir>/camera-groups.json``; a file left beside ``config_path`` by older versions is copied there once."""
    target = state_dir(paths) / CAMERA_GROUPS_FILE
    legacy = groups_path_for(config_path) if config_path is not None else None
    if legacy is not None and legacy.is_file() and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(legacy, target)
        logger.info("camera groups now live in %s (copied from %s, which is no longer read)", target, legacy)
    return target
