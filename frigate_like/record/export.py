"""Exports a span of a camera's recordings as one mp4: the segments joined by stream copy, no re-encode.

A browser asks for the same export many times (one range request per seek), so each export
is written once to ``<exports_dir>`` under a name that changes with the span and with the
segments it is made of, then served from there; exports older than an hour are deleted.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from frigate_like.errors import BadRequest, NotFound
from frigate_like.files import resolve_inside
from frigate_like.record.clips import ClipWriter
from frigate_like.record.segments import Segment

logger = logging.getLogger(__name__)

MAX_EXPORT_S = 24 * 3600.0
EXPORT_TTL_S = 3600.0


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
    ) -> None:
        self.exports_dir = exports_dir
        self._store = store
        self._writer = ClipWriter(ffmpeg_bin)
        self._clock = clock
        self._ttl = ttl
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

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
        with self._lock_for(path.name):
            if not path.is_file():
                self.exports_dir.mkdir(parents=True, exist_ok=True)
                self._remove_old()
                if not self._writer.cut_clip(segments, start, end, path):
                    raise RuntimeError(f"the export of {camera} {start}-{end} failed (see the log)")
                logger.info("exported %s %.3f-%.3f from %d segment(s)", camera, start, end, len(segments))
        return resolve_inside(self.exports_dir, path.name, what="export")

    def _lock_for(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def _remove_old(self) -> None:
        cutoff = self._clock() - self._ttl
        for old in self.exports_dir.glob("*.mp4"):
            try:
                if old.stat().st_mtime < cutoff:
                    old.unlink()
                    with self._guard:
                        self._locks.pop(old.name, None)
            except OSError:
                continue
