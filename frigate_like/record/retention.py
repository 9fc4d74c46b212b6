"""Deletes recordings: past each camera's ``retain_days``, and oldest first while the disk is low.

A camera's ``record.retain_days`` and ``clips`` window are read from the running cameras' resolved
configs (``CameraRegistry.configs``) at every pass, so a camera a group added at run time, or one
whose config changed, is kept by its own values. Footage of a camera no longer running (removed,
or gone from the YAML file) is kept by the global ``record.retain_days`` and ``clips.max_seconds``.

Never deleted: footage an event may still need. An event whose row has no ``end_time`` yet
is live or waiting for its clip, so every recording of that camera ending after the event's
start minus ``pre_capture`` is kept; a clip is never longer than ``max_seconds``, so the hold
reaches back no further than that (a stale event left open by a crash cannot pin the disk).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from frigate_like.config import CameraConfig

logger = logging.getLogger(__name__)

DAY_S = 86400.0
MB = 1024 * 1024
FREE_HEADROOM = 1.1  # once below the floor, free this much above it, so deletion does not run every pass
HOLD_MARGIN_S = 30.0  # an event may reach the database some seconds after its first frame
BATCH = 50
LOW_DISK_LOG_INTERVAL = 300.0  # s between two "cannot free space" errors


class RetentionStore(Protocol):
    """The DB operations retention needs (db/recordings.py)."""

    def cameras(self) -> list[str]: ...
    def ended_before(self, camera: str, before: float, *, limit: int = ...) -> list[dict[str, Any]]: ...
    def oldest(self, *, limit: int = ..., offset: int = ...) -> list[dict[str, Any]]: ...
    def delete_recordings(self, ids: list[int]) -> int: ...
    def open_event_starts(self) -> dict[str, float]: ...


@dataclass(frozen=True)
class ClipWindow:
    """What a camera's clips reach back to: ``pre_capture`` before an event, ``max_seconds`` at most."""

    pre_capture: float = 5.0
    max_seconds: float = 300.0

    @classmethod
    def of(cls, cam: CameraConfig) -> ClipWindow:
        return cls(cam.clips.pre_capture, cam.clips.max_seconds)


def disk_free(path: Path) -> int:
    """Free bytes on the file system holding ``path`` (its nearest existing parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


class Retention:
    """Applies both rules; ``run()`` does one round (the maintainer calls it every few seconds)."""

    def __init__(
        self,
        store: RetentionStore,
        recordings_dir: Path,
        *,
        cameras: Mapping[str, CameraConfig],
        default_retain_days: float,
        min_free_mb: float,
        default_clip_window: ClipWindow | None = None,
        clock: Callable[[], float] = time.time,
        free_bytes: Callable[[Path], int] = disk_free,
        spare: Callable[[int], int] | None = None,
    ) -> None:
        """``spare(n)``: frees up to ``n`` bytes of files that can be made again (stored exports) and returns
        what it freed; low disk space takes those before any recording."""
        self._spare = spare
        self._store = store
        self.recordings_dir = recordings_dir
        self._cameras = cameras  # a live view (never copied): read at each pass
        self._default_days = default_retain_days
        self._floor = int(min_free_mb * MB)
        self._default_window = default_clip_window or ClipWindow()
        self._clock = clock
        self._free_bytes = free_bytes
        self._last_stuck_log = float("-inf")

    def run(self) -> list[dict[str, Any]]:
        """Deletes what is past retention, then what low disk space demands; returns the deleted rows."""
        return self.by_age() + self.for_space()

    # -- per camera, as it runs now -------------------------------------------------------------
    def retain_days(self, camera: str) -> float:
        """The camera's ``record.retain_days``; the global one for a camera not running."""
        cam = self._cameras.get(camera)  # .get: the camera may go between two reads
        return self._default_days if cam is None else cam.record.retain_days

    def clip_window(self, camera: str) -> ClipWindow:
        """The camera's clip window; the global one for a camera not running."""
        cam = self._cameras.get(camera)
        return self._default_window if cam is None else ClipWindow.of(cam)

    # -- holds ----------------------------------------------------------------------------------
    def holds(self) -> dict[str, float]:
        """Per camera, the time from which recordings must stay for events not finished yet."""
        now = self._clock()
        holds: dict[str, float] = {}
        for camera, start in self._store.open_event_starts().items():
            window = self.clip_window(camera)
            holds[camera] = max(start - window.pre_capture, now - window.max_seconds) - HOLD_MARGIN_S
        return holds

    @staticmethod
    def _held(row: Mapping[str, Any], holds: Mapping[str, float]) -> bool:
        keep_from = holds.get(row["camera"])
        return keep_from is not None and float(row["end_time"]) > keep_from

    # -- rule 1: days -----------------------------------------------------------------------------
    def by_age(self) -> list[dict[str, Any]]:
        """Recordings that ended more than the camera's ``retain_days`` ago."""
        now = self._clock()
        holds = self.holds()
        deleted: list[dict[str, Any]] = []
        for camera in self._store.cameras():
            days = self.retain_days(camera)
            cutoff = now - days * DAY_S
            gone: list[dict[str, Any]] = []
            while True:
                batch = self._store.ended_before(camera, cutoff, limit=BATCH * 10)
                rows = [r for r in batch if not self._held(r, holds)]
                if not rows:
                    break
                self._delete(rows)
                gone += rows
            if gone:
                logger.info(
                    "retention: deleted %d recording(s) of %s older than %g day(s) (%s to %s)",
                    len(gone), camera, days, _iso(gone[0]["start_time"]), _iso(gone[-1]["end_time"]),
                )  # fmt: skip
            deleted += gone
        return deleted

    # -- rule 2: disk space -----------------------------------------------------------------------
    def for_space(self) -> list[dict[str, Any]]:
        """While the media folder has less than ``min_free_mb`` free, the oldest recordings of any camera go."""
        if self._floor <= 0:
            return []
        free = self._free_bytes(self.recordings_dir)
        if free >= self._floor:
            return []
        started_free = free
        target = self._floor * FREE_HEADROOM
        if self._spare is not None and self._spare(int(target - free)) > 0:
            free = self._free_bytes(self.recordings_dir)
            if free >= target:
                return []
        holds = self.holds()
        deleted: list[dict[str, Any]] = []
        skipped = 0  # held rows stay in the table: page past them
        while free < target:
            batch = self._store.oldest(limit=BATCH, offset=skipped)
            if not batch:
                break
            for row in batch:
                if self._held(row, holds):
                    skipped += 1
                    continue
                self._delete([row])
                deleted.append(row)
                free = self._free_bytes(self.recordings_dir)
                if free >= target:
                    break
        if deleted:
            cameras = sorted({row["camera"] for row in deleted})
            logger.warning(
                "low disk space: %.0f MB free in %s, under record.min_free_mb (%d MB): deleted the %d oldest "
                "recording(s) (%.1f MB, %s, %s to %s); now %.0f MB free",
                started_free / MB, self.recordings_dir, self._floor // MB, len(deleted),
                sum(int(r["size_bytes"]) for r in deleted) / MB, ", ".join(cameras),
                _iso(deleted[0]["start_time"]), _iso(deleted[-1]["end_time"]), free / MB,
            )  # fmt: skip
        if free < self._floor and self._clock() - self._last_stuck_log >= LOW_DISK_LOG_INTERVAL:
            self._last_stuck_log = self._clock()
            logger.error(
                "low disk space: %.0f MB free in %s, under record.min_free_mb (%d MB), and no recording can be "
                "deleted (the rest is held for events in progress, or the space is used by other files)",
                free / MB, self.recordings_dir, self._floor // MB,
            )  # fmt: skip
        return deleted

    # -- deleting -----------------------------------------------------------------------------
    def _delete(self, rows: list[dict[str, Any]]) -> None:
        """Files first, then rows: a crash in between leaves rows whose files are gone, never the reverse."""
        for row in rows:
            path = Path(row["path"])
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                logger.warning("cannot delete recording %s: %s", path, exc)
            self._remove_empty_parents(path.parent)
        self._store.delete_recordings([int(row["id"]) for row in rows])

    def _remove_empty_parents(self, folder: Path) -> None:
        """``<day>/<hour>/<camera>`` folders left empty go too (never the recordings folder itself)."""
        root = self.recordings_dir
        while folder != root and root in folder.parents:
            try:
                os.rmdir(folder)
            except OSError:
                return  # not empty (or already gone)
            folder = folder.parent


def _iso(epoch: Any) -> str:
    return datetime.fromtimestamp(float(epoch)).isoformat(timespec="seconds")
