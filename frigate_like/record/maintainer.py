"""Moves finished 24/7 segments from the cache into ``<media>/recordings`` with a DB row each.

A thread of the main process. Every pass (1 s) it reads each camera's ``record`` cache
through a :class:`SegmentIndex` (csv lists, no probing) and moves every finished segment,
oldest first, to ``<media>/recordings/<YYYY-MM>/<DD>/<HH>/<camera>/<MM>.<SS>.mp4`` (Frigate 0.8's
layout, which Home Assistant's media browser walks; UTC, the segment's start: local folders would
repeat an hour at the end of daylight saving time).
The row is written before the file moves, so a crash between the two leaves a row whose
cache file is still there and is moved again (same path, same row) on the next start.

It also watches what goes wrong with recording, since gaps are what users hate most: the
finished segments still waiting (backlog, logged when it grows), every new ffmpeg run of the
``record`` role after the first (a restart), and every span without footage between two
segments (a gap, logged). :meth:`stats` reports them per camera for ``/api/stats``.
Retention (``record/retention.py``) runs from the same thread.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from frigate_like.errors import Unavailable
from frigate_like.record.segments import Segment, SegmentIndex
from frigate_like.storage import is_disk_full

logger = logging.getLogger(__name__)

PASS_INTERVAL = 1.0  # s between passes over the cache
GAP_MIN_S = 1.0  # segment times are estimated to ~1 s across ffmpeg runs: smaller holes are not gaps
BACKLOG_WARN = 3  # finished segments waiting at the start of a pass before it is logged
BACKLOG_LOG_INTERVAL = 60.0  # s between two backlog warnings of one camera
RUN_NAME = re.compile(r"^segments-(\d{14})-.*\.csv$")


class RecordingStore(Protocol):
    """The DB operations the maintainer needs (db/recordings.py)."""

    def add_recording(self, camera: str, path: str, start_time: float, end_time: float, size_bytes: int) -> None: ...
    def last_recording(self, camera: str) -> dict[str, Any] | None: ...
    def forget_recording(self, path: str) -> None: ...


class RetentionLike(Protocol):
    def run(self) -> object: ...


@dataclass(frozen=True)
class RecordCamera:
    """One camera whose ``record`` role is served: its name and the role's ``-segment_time``."""

    name: str
    segment_time: float = 60.0


@dataclass
class _CameraState:
    index: SegmentIndex
    segment_time: float
    runs: set[str] = field(default_factory=set)  # this daemon's record ffmpeg runs seen so far
    moved: int = 0
    backlog: int = 0
    restarts: int = 0
    gaps: int = 0
    gap_seconds: float = 0.0
    failures: int = 0
    last_end: float | None = None
    last_backlog_log: float = float("-inf")
    last_failure_log: float = float("-inf")


def recording_path(recordings_dir: Path, camera: str, start: float) -> Path:
    """``<recordings_dir>/<YYYY-MM>/<DD>/<HH>/<camera>/<MM>.<SS>.mp4`` of a segment starting at ``start`` (UTC)."""
    when = datetime.fromtimestamp(start, UTC)
    return recordings_dir / when.strftime("%Y-%m/%d/%H") / camera / when.strftime("%M.%S.mp4")


def move_file(source: Path, target: Path) -> None:
    """Moves ``source`` to ``target``; across file systems (a tmpfs cache) via a hidden temp copy, so
    ``target`` never exists half written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    partial = target.with_name(f".{target.name}.partial")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    source.unlink()


class RecordingMaintainer:
    """Cache → recordings for every recording camera; ``run()`` is the thread's body."""

    def __init__(
        self,
        cache_dir: Path,
        recordings_dir: Path,
        store: RecordingStore,
        stop: threading.Event,
        *,
        retention: RetentionLike | None = None,
        retention_interval: float = 10.0,
        ffprobe_bin: str | None = None,
        clock: Callable[[], float] = time.time,
        interval: float = PASS_INTERVAL,
    ) -> None:
        self.recordings_dir = recordings_dir
        self._store = store
        self._stop = stop
        self._retention = retention
        self._retention_interval = retention_interval
        self._clock = clock
        self._interval = interval
        self._started = clock()
        self._lock = threading.Lock()  # stats() is read from HTTP threads
        self._cache_dir, self._ffprobe_bin = cache_dir, ffprobe_bin
        self._cameras: dict[str, _CameraState] = {}  # the registry's RecorderSubscriber adds them
        self._primed = False

    def _state(self, cam: RecordCamera) -> _CameraState:
        index = SegmentIndex(
            self._cache_dir, cam.name, "record", segment_time=cam.segment_time, ffprobe_bin=self._ffprobe_bin,
            clock=self._clock,
        )  # fmt: skip
        return _CameraState(index, cam.segment_time)

    def add_camera(self, cam: RecordCamera) -> None:
        """A camera added at run time (camera groups) whose record role is on.

        It is never removed: a removed camera's last segments (closed as its ffmpeg stops) still move.
        """
        state = self._state(cam)
        try:
            last = self._store.last_recording(cam.name)
        except Unavailable as exc:  # the database is away: the first gap of this camera is not measured
            logger.warning("camera %s: where its recordings ended is unknown (%s)", cam.name, exc)
            last = None
        state.last_end = float(last["end_time"]) if last else None
        with self._lock:
            self._cameras = {**self._cameras, cam.name: state}  # the thread iterates the old map or the new

    # -- thread ---------------------------------------------------------------------------------
    def run(self) -> None:
        """Passes until ``stop``; then one last pass, for the segments ffmpeg closed on its way out."""
        next_retention = 0.0
        while True:
            stopping = self._stop.wait(self._interval)
            try:
                self.run_once()
            except Unavailable as exc:  # the database is away: segments wait in the cache, retried each pass
                logger.debug("recording maintenance waits for the database: %s", exc)
            except Exception:
                logger.exception("recording maintenance failed")
            if stopping:
                return
            now = time.monotonic()
            if self._retention is not None and now >= next_retention:
                next_retention = now + self._retention_interval
                try:
                    self._retention.run()
                except Unavailable as exc:  # logged once by the database; the next round catches up
                    logger.debug("recording retention waits for the database: %s", exc)
                except Exception:
                    logger.exception("recording retention failed")

    def run_once(self) -> int:
        """Moves every finished segment of every camera; returns how many moved."""
        if not self._primed:
            self._prime()
        moved = 0
        for camera, state in list(self._cameras.items()):
            moved += self._pass(camera, state)
        return moved

    def _prime(self) -> None:
        """Where each camera's footage ended before this start: the first gap is measured from there."""
        for camera, state in self._cameras.items():
            last = self._store.last_recording(camera)
            state.last_end = float(last["end_time"]) if last else None
        self._primed = True

    # -- one camera -----------------------------------------------------------------------------
    def _pass(self, camera: str, state: _CameraState) -> int:
        self._count_runs(camera, state)
        segments = state.index.refresh()
        now = self._clock()
        with self._lock:
            state.backlog = len(segments)
        if len(segments) >= BACKLOG_WARN and now - state.last_backlog_log >= BACKLOG_LOG_INTERVAL:
            state.last_backlog_log = now
            logger.warning(
                "recordings of %s are behind: %d finished segment(s) waiting in the cache, the oldest from %s",
                camera, len(segments), _iso(segments[0].start),
            )  # fmt: skip
        moved = 0
        for segment in segments:
            if not self._move(camera, state, segment):
                break  # keep the order: the next pass retries this one first
            moved += 1
            with self._lock:
                state.backlog -= 1
        for path in state.index.broken:
            logger.warning("deleting unreadable record segment %s (its ffmpeg was killed mid-write)", path)
            path.unlink(missing_ok=True)
        return moved

    def _move(self, camera: str, state: _CameraState, segment: Segment) -> bool:
        try:
            size = segment.path.stat().st_size
        except FileNotFoundError:
            return True  # gone meanwhile (deleted by hand): nothing to keep
        target = _free_name(recording_path(self.recordings_dir, camera, segment.start), size)
        try:
            self._store.add_recording(camera, str(target), segment.start, segment.end, size)
        except Unavailable:
            return False  # the database is away (logged once there): this segment waits in the cache
        except Exception as exc:
            return self._failed(state, f"cannot record {segment.path} in the database: {exc}")
        try:
            move_file(segment.path, target)
        except OSError as exc:
            with contextlib.suppress(Unavailable):  # a row left behind points at the cache file: moved again
                self._store.forget_recording(str(target))
            where = f"disk full at {self.recordings_dir}: " if is_disk_full(exc) else ""  # retention frees space
            return self._failed(state, f"{where}cannot move {segment.path} to {target}: {exc}")
        self._note_gap(camera, state, segment)
        with self._lock:
            state.moved += 1
            state.last_end = max(segment.end, state.last_end or segment.end)
        return True

    def _failed(self, state: _CameraState, message: str) -> bool:
        """Counts a failed move; logs it at most once a minute (the next pass retries it)."""
        with self._lock:
            state.failures += 1
        now = self._clock()
        if now - state.last_failure_log >= BACKLOG_LOG_INTERVAL:
            state.last_failure_log = now
            logger.error("%s (failure %d; retried every pass)", message, state.failures)
        return False

    def _note_gap(self, camera: str, state: _CameraState, segment: Segment) -> None:
        if state.last_end is None:
            return
        hole = segment.start - state.last_end
        if hole > GAP_MIN_S:
            with self._lock:
                state.gaps += 1
                state.gap_seconds += hole
            logger.warning(
                "recording gap on %s: no footage for %.1f s, from %s to %s",
                camera, hole, _iso(state.last_end), _iso(segment.start),
            )  # fmt: skip

    def _count_runs(self, camera: str, state: _CameraState) -> None:
        """Each new csv list is a new ffmpeg run; every run of this daemon after its first is a restart."""
        try:
            names = os.listdir(state.index.folder)
        except FileNotFoundError:
            return
        since = datetime.fromtimestamp(self._started - 2.0, UTC).strftime("%Y%m%d%H%M%S")
        for name in names:
            match = RUN_NAME.match(name)
            if match is None or name in state.runs or match.group(1) < since:
                continue
            state.runs.add(name)
            if len(state.runs) > 1:
                with self._lock:
                    state.restarts += 1
                logger.warning("record ffmpeg of %s restarted (%d restart(s) so far)", camera, state.restarts)

    # -- stats ----------------------------------------------------------------------------------
    def stats(self) -> dict[str, dict[str, Any]]:
        """Per camera: ``{"record": {backlog, moved, restarts, gaps, gap_seconds, failures, last_segment_end}}``."""
        with self._lock:
            return {
                camera: {
                    "record": {
                        "backlog": state.backlog,
                        "moved": state.moved,
                        "restarts": state.restarts,
                        "gaps": state.gaps,
                        "gap_seconds": round(state.gap_seconds, 1),
                        "failures": state.failures,
                        "last_segment_end": state.last_end,
                    }
                }
                for camera, state in self._cameras.items()
            }

    def segment_time(self, camera: str) -> float | None:
        """The ``-segment_time`` of a recording camera, None for a camera that does not record."""
        state = self._cameras.get(camera)
        return state.segment_time if state is not None else None


def _free_name(target: Path, size: int) -> Path:
    """``target``, or ``<MM>.<SS>.<n>.mp4`` when another segment already starts in that second."""
    candidate, n = target, 1
    while candidate.exists():
        try:
            if candidate.stat().st_size == size:
                return candidate  # the same file, copied by a move that crashed before its cleanup
        except FileNotFoundError:
            return candidate
        candidate = target.with_name(f"{target.stem}.{n}{target.suffix}")
        n += 1
    return candidate


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).isoformat(timespec="seconds")
