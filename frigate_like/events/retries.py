"""Clips and snapshots of ended events that could not be written (disk full, I/O error), tried again.

A clip is tried again for as long as the clips cache has footage of it: the event keeps its
hold on the cache meanwhile (its segments stay, at most ``clips.max_seconds``), and lets go
once the clip is written or its footage is gone. A snapshot's JPEG stays in memory until it
is written, at most ``MAX_SNAPSHOT_BYTES`` for all of them (past that the oldest are given
up). Attempts come ``RETRY_DELAYS`` apart, and once one succeeds (space is back) every other
is tried at once; each success is handed to ``written`` (the event writer updates the event's
has_clip/has_snapshot with it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from frigate_like.files import write_atomically
from frigate_like.record.clips import ClipCut, Span

logger = logging.getLogger(__name__)

RETRY_DELAYS = (5.0, 10.0)  # s after the 1st, and after the 2nd and later failures
MAX_SNAPSHOT_BYTES = 32 * 1024 * 1024  # JPEGs waiting for space (a snapshot is some 50-300 kB)


class RetrySource(Protocol):
    """A camera's clips cache (record/clips.py ClipCache)."""

    def make_clip(self, start: float, end: float, out_path: Path, *, event: Span | None = None) -> ClipCut | None: ...
    def has_footage(self, start: float, end: float) -> bool: ...
    def release(self, event_id: str) -> None: ...


@dataclass
class ClipRetry:
    event_id: str
    camera: str
    path: Path
    start: float  # the clip's span, pre and post capture included
    end: float
    event: Span  # the event itself (where missing footage is a gap)
    next_at: float
    failures: int = 1


@dataclass
class SnapshotRetry:
    event_id: str
    path: Path
    jpg: bytes
    next_at: float
    failures: int = 1


Written = Callable[..., Any]  # written(event_id, has_clip=True, clip_gaps=...) or (event_id, has_snapshot=True)


class MediaRetries:
    """The clips and snapshots waiting for another attempt; driven from the event writer's thread."""

    def __init__(self, *, max_snapshot_bytes: int = MAX_SNAPSHOT_BYTES) -> None:
        self.max_snapshot_bytes = max_snapshot_bytes
        self._clips: list[ClipRetry] = []
        self._snapshots: list[SnapshotRetry] = []  # oldest first

    def __len__(self) -> int:
        return len(self._clips) + len(self._snapshots)

    @property
    def snapshot_bytes(self) -> int:
        return sum(len(s.jpg) for s in self._snapshots)

    def add_clip(self, event_id: str, camera: str, path: Path, span: Span, event: Span, now: float) -> None:
        """A clip that failed while its footage is in the cache (whose hold the event keeps)."""
        self._clips.append(ClipRetry(event_id, camera, path, span[0], span[1], event, now + RETRY_DELAYS[0]))
        logger.warning("event %s: its clip failed; tried again while its footage is in the cache", event_id)

    def add_snapshot(self, event_id: str, path: Path, jpg: bytes, now: float) -> None:
        """A snapshot that could not be written: its JPEG is kept (the oldest go past the memory bound)."""
        self._snapshots.append(SnapshotRetry(event_id, path, jpg, now + RETRY_DELAYS[0]))
        logger.warning("event %s: its snapshot could not be written; kept in memory to try again", event_id)
        while self.snapshot_bytes > self.max_snapshot_bytes:
            dropped = self._snapshots.pop(0)
            logger.error(
                "event %s: snapshot given up: more than %d MB of snapshots wait for space",
                dropped.event_id, self.max_snapshot_bytes // 2**20,
            )  # fmt: skip

    def attempt(self, now: float, sources: Mapping[str, RetrySource], written: Written, force: bool = False) -> int:
        """Tries each retry that is due (every one with ``force``); returns how many were written."""
        done = 0
        for clip in [c for c in self._clips if force or now >= c.next_at]:
            done += self._try_clip(clip, sources.get(clip.camera), now, written)
        for snapshot in [s for s in self._snapshots if force or now >= s.next_at]:
            done += self._try_snapshot(snapshot, now, written)
        if done and not force:  # a write went through: the rest need not wait out their delays
            for clip in self._clips:
                clip.next_at = now
            for snapshot in self._snapshots:
                snapshot.next_at = now
        return done

    def give_up(self, sources: Mapping[str, RetrySource]) -> None:
        """At shutdown: what is still waiting is lost (logged), holds are let go."""
        for clip in self._clips:
            logger.error("event %s: its clip was never written (%d attempts)", clip.event_id, clip.failures)
            source = sources.get(clip.camera)
            if source is not None:
                source.release(clip.event_id)
        for snapshot in self._snapshots:
            logger.error("event %s: its snapshot was never written (%d attempts)", snapshot.event_id, snapshot.failures)
        self._clips.clear()
        self._snapshots.clear()

    def _try_clip(self, clip: ClipRetry, source: RetrySource | None, now: float, written: Written) -> int:
        if source is None or not source.has_footage(clip.start, clip.end):
            logger.error("event %s: clip given up after %d attempts: its footage left the cache",
                         clip.event_id, clip.failures)  # fmt: skip
            self._clips.remove(clip)
            if source is not None:
                source.release(clip.event_id)
            return 0
        try:
            cut = source.make_clip(clip.start, clip.end, clip.path, event=clip.event)
        except Exception:
            logger.exception("event %s: clip retry failed", clip.event_id)
            cut = None
        if cut is None:
            clip.failures += 1
            clip.next_at = now + _delay(clip.failures)
            return 0
        self._clips.remove(clip)
        source.release(clip.event_id)
        written(clip.event_id, has_clip=True, clip_gaps=cut.gaps)
        logger.info("event %s: clip written at attempt %d", clip.event_id, clip.failures + 1)
        return 1

    def _try_snapshot(self, snapshot: SnapshotRetry, now: float, written: Written) -> int:
        try:
            write_atomically(snapshot.path, snapshot.jpg)
        except OSError as exc:
            snapshot.failures += 1
            snapshot.next_at = now + _delay(snapshot.failures)
            logger.debug("event %s: snapshot still not written: %s", snapshot.event_id, exc)
            return 0
        self._snapshots.remove(snapshot)
        written(snapshot.event_id, has_snapshot=True)
        logger.info("event %s: snapshot written at attempt %d", snapshot.event_id, snapshot.failures + 1)
        return 1


def _delay(failures: int) -> float:
    return RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1]
