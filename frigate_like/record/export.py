"""Exports a span of a camera's recordings as one mp4: the segments joined by stream copy, no re-encode.

A browser asks for the same export many times (one range request per seek), so each export
is written once to ``<exports_dir>`` under a name that changes with the span and with the
segments it is made of, then served from there; exports older than an hour are deleted.

Exports cost CPU and disk for whoever asks (reads are open), so both are bounded: at most
``max_concurrent`` are written at once (more: 503, retry), and the exports folder stays under
``max_bytes``: before one is written, expired exports go, then the oldest, until it fits; an
export that alone would not fit is refused (400).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from frigate_like.errors import BadRequest, NotFound, Unavailable
from frigate_like.files import resolve_inside
from frigate_like.record.clips import ClipWriter
from frigate_like.record.segments import Segment

logger = logging.getLogger(__name__)

MAX_EXPORT_S = 24 * 3600.0
EXPORT_TTL_S = 3600.0
MAX_CONCURRENT_EXPORTS = 2
EXPORTS_MAX_BYTES = 2 * 1024**3


class ExportStore(Protocol):
    def recordings(
        self, camera: str, *, after: float | None = ..., before: float | None = ...
    ) -> list[dict[str, Any]]: ...


class RecordingExporter:
    """``export(camera, start, end)`` → the path of an mp4 covering that span (cached)."""

    def __init__(
        self,
        exports_dir: Path,
        store: ExportStore,
        ffmpeg_bin: str,
        *,
        clock: Callable[[], float] = time.time,
        ttl: float = EXPORT_TTL_S,
        max_concurrent: int = MAX_CONCURRENT_EXPORTS,
        max_bytes: int = EXPORTS_MAX_BYTES,
    ) -> None:
        self.exports_dir = exports_dir
        self._store = store
        self._writer = ClipWriter(ffmpeg_bin)
        self._clock = clock
        self._ttl = ttl
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._max_bytes = max_bytes

    def export(self, camera: str, start: float, end: float) -> Path:
        """The export file; ``BadRequest`` for a bad span, ``NotFound`` when no footage overlaps it."""
        if not end > start:
            raise BadRequest(f"the end ({end}) must come after the start ({start})")
        if end - start > MAX_EXPORT_S:
            raise BadRequest(f"an export is at most {MAX_EXPORT_S / 3600:g} hours long")
        rows = [r for r in self._store.recordings(camera, after=start, before=end) if Path(r["path"]).is_file()]
        if not rows:
            raise NotFound(f"no recordings of {camera} between {start} and {end}")
        segments = [Segment(Path(r["path"]), float(r["start_time"]), float(r["end_time"])) for r in rows]
        key = hashlib.sha1(
            repr([(start, end)] + [(r["path"], r["size_bytes"]) for r in rows]).encode()
        ).hexdigest()[:12]
        path = self.exports_dir / f"{camera}-{start:.3f}-{end:.3f}-{key}.mp4"
        size = sum(int(r["size_bytes"] or 0) for r in rows)  # stream copy: about the segments' size
        if size > self._max_bytes:
            raise BadRequest(f"this export (~{size >> 20} MB) is over the exports folder's cap; ask for a shorter span")
        with self._lock_for(path.name):
            if not path.is_file():
                if not self._slots.acquire(blocking=False):
                    raise Unavailable("other exports are being written; retry in a moment")
                try:
                    self.exports_dir.mkdir(parents=True, exist_ok=True)
                    self._make_room(size)
                    if not self._writer.cut_clip(segments, start, end, path):
                        raise RuntimeError(f"the export of {camera} {start}-{end} failed (see the log)")
                finally:
                    self._slots.release()
                logger.info("exported %s %.3f-%.3f from %d segment(s)", camera, start, end, len(segments))
        return resolve_inside(self.exports_dir, path.name, what="export")

    def _lock_for(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def _make_room(self, needed: int) -> None:
        """Expired exports go, then the oldest, until ``needed`` more bytes fit under the cap."""
        cutoff = self._clock() - self._ttl
        kept: list[tuple[float, int, Path]] = []
        for old in self.exports_dir.glob("*.mp4"):
            try:
                stat = old.lstat()
            except OSError:
                continue
            if stat.st_mtime < cutoff:
                self._remove(old)
            else:
                kept.append((stat.st_mtime, stat.st_size, old))
        total = sum(size for _, size, _ in kept)
        for _, size, old in sorted(kept):
            if total + needed <= self._max_bytes:
                break
            self._remove(old)
            total -= size

    def _remove(self, old: Path) -> None:
        try:
            old.unlink()
        except OSError:
            return
        with self._guard:
            self._locks.pop(old.name, None)
