"""Moves recordings stored in our earlier layout into Frigate 0.8's, once, at start-up, without loss.

Earlier releases wrote ``recordings/<YYYY-MM-DD>/<HH>/<camera>/<MM>.<SS>.mp4``; Frigate 0.8 (and
Home Assistant's media browser, which walks the folders) use ``<YYYY-MM>/<DD>/<HH>/...``. Each
file's row is pointed at the new path before the file moves: a crash in between leaves the file
in the old folder and the row already right, and the next start moves the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from pathlib import Path
from typing import Protocol

from frigate_like.record.maintainer import move_file

logger = logging.getLogger(__name__)

_OLD_DAY = re.compile(r"^(\d{4}-\d{2})-(\d{2})$")


class PathStore(Protocol):
    """The DB operation the move needs (db/recordings.py)."""

    def rename_recording(self, old: str, new: str) -> None: ...


def migrate_layout(recordings_dir: Path, store: PathStore) -> int:
    """Moves every file under ``<YYYY-MM-DD>`` folders of ``recordings_dir`` to ``<YYYY-MM>/<DD>``.

    Returns the number of files moved; empty old folders are removed. A file whose new path
    is taken (which only a copy made by hand could cause) stays where it is, with a warning.
    """
    if not recordings_dir.is_dir():
        return 0
    moved = 0
    old_days = [(p, m) for p in sorted(recordings_dir.iterdir()) if p.is_dir() and (m := _OLD_DAY.match(p.name))]
    for day, match in old_days:
        month, day_of_month = match.groups()
        for old in sorted(p for p in day.rglob("*") if p.is_file()):
            new = recordings_dir / month / day_of_month / old.relative_to(day)
            if new.exists():
                logger.warning("recording %s not moved: %s already exists", old, new)
                continue
            store.rename_recording(str(old), str(new))
            move_file(old, new)
            moved += 1
        _remove_empty_folders(day)
    if moved:
        logger.info("moved %d recording(s) into Frigate 0.8's folder layout (YYYY-MM/DD/HH/camera)", moved)
    return moved


def _remove_empty_folders(top: Path) -> None:
    for folder, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
        with contextlib.suppress(OSError):  # not empty: something stayed
            os.rmdir(folder)
