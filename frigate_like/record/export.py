"""Exports a span of a camera's recordings as one mp4: the segments joined by stream copy, no re-encode.

A browser asks for the same export many times (one range request per seek), so each export
is written once to ``<exports_dir>`` under a name that changes with the span and with the
segments it is made of, then served from there; exports older than an hour are deleted.

Exports cost CPU and disk for whoever asks (reads are open), so both are bounded: at most
``max_concurrent`` are made at once (more: 503, retry), and the exports folder stays under
``max_bytes``: before one is written, expired exports go, then the oldest, until it fits; an
export that alone would not fit is refused (400).

Exports never cost footage. Only a caller who may change state (the API token, or loopback
without one) gets a stored export; anyone else gets :meth:`RecordingExporter.stream`, the same
span as a fragmented mp4 piped from ffmpeg to the response, with nothing written. And a stored
export must leave ``min_free_mb`` free on its disk (older exports go first, then it is refused
with 503): the floor is what retention defends by deleting the oldest recordings, so an export
that dug into it would be paid for with footage.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from frigate_like.errors import BadRequest, NotFound, Unavailable
from frigate_like.files import resolve_inside
from frigate_like.record.clips import ClipWriter, concat_script
from frigate_like.record.segments import Segment

logger = logging.getLogger(__name__)

MAX_EXPORT_S = 24 * 3600.0
EXPORT_TTL_S = 3600.0
MAX_CONCURRENT_EXPORTS = 2
EXPORTS_MAX_BYTES = 2 * 1024**3
STREAM_CHUNK = 64 * 1024
MB = 1024 * 1024


def disk_free(path: Path) -> int:
    return shutil.disk_usage(path).free


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
        min_free_mb: float = 0,
        free_bytes: Callable[[Path], int] = disk_free,
    ) -> None:
        """``min_free_mb``: ``record.min_free_mb``, the floor a stored export may not dig into."""
        self.exports_dir = exports_dir
        self._ffmpeg_bin = ffmpeg_bin
        self._floor = int(min_free_mb * MB)
        self._free_bytes = free_bytes
        self._store = store
        self._writer = ClipWriter(ffmpeg_bin)
        self._clock = clock
        self._ttl = ttl
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._max_bytes = max_bytes

    def _segments(self, camera: str, start: float, end: float) -> tuple[list[Segment], list[dict[str, Any]]]:
        """The segments of a valid span; ``BadRequest`` for a bad span, ``NotFound`` when no footage overlaps it."""
        if not end > start:
            raise BadRequest(f"the end ({end}) must come after the start ({start})")
        if end - start > MAX_EXPORT_S:
            raise BadRequest(f"an export is at most {MAX_EXPORT_S / 3600:g} hours long")
        rows = [r for r in self._store.recordings(camera, after=start, before=end) if Path(r["path"]).is_file()]
        if not rows:
            raise NotFound(f"no recordings of {camera} between {start} and {end}")
        return [Segment(Path(r["path"]), float(r["start_time"]), float(r["end_time"])) for r in rows], rows

    def export(self, camera: str, start: float, end: float) -> Path:
        """The stored export file (for a caller who may change state); errors as :meth:`_segments`."""
        segments, rows = self._segments(camera, start, end)
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

    def stream(self, camera: str, start: float, end: float) -> Iterator[bytes]:
        """The span as a fragmented mp4, piped from ffmpeg as it is made: nothing is stored.

        Errors (bad span, no footage, every slot busy) are raised here, before the first byte; the
        iterator ends ffmpeg and frees its slot when the client goes away.
        """
        segments, _ = self._segments(camera, start, end)
        if not self._slots.acquire(blocking=False):
            raise Unavailable("other exports are being made; retry in a moment")
        work = tempfile.TemporaryDirectory(prefix="export-")
        try:
            concat_list = Path(work.name) / "concat.txt"
            concat_list.write_text(concat_script(segments, start, end), encoding="utf-8")
            proc = subprocess.Popen(
                [self._ffmpeg_bin, "-hide_banner", "-nostdin", "-loglevel", "error",
                 "-f", "concat", "-safe", "0", "-i", str(concat_list),
                 "-map", "0:v", "-map", "0:a?", "-c", "copy",
                 # fragments: playable as it arrives, with no index to write at the end (no seekable output)
                 "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", "pipe:1"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        except BaseException:
            work.cleanup()
            self._slots.release()
            raise
        logger.info("streaming an export of %s %.3f-%.3f (%d segment(s)), stored nowhere", camera, start, end,
                    len(segments))  # fmt: skip
        return _PipedExport(proc, lambda: self._stream_ended(work))

    def _stream_ended(self, work: tempfile.TemporaryDirectory[str]) -> None:
        work.cleanup()
        self._slots.release()

    def _lock_for(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def _make_room(self, needed: int) -> None:
        """Expired exports go, then the oldest, until ``needed`` more bytes fit under the cap and above the
        disk's ``min_free_mb``; ``Unavailable`` when even with none left it would dig into that floor."""
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
        free = self._free_bytes(self.exports_dir)
        for _, size, old in sorted(kept):
            if total + needed <= self._max_bytes and free - needed >= self._floor:
                break
            self._remove(old)
            total -= size
            free += size
        if free - needed < self._floor:
            raise Unavailable(
                f"an export of ~{needed >> 20} MB would leave less than record.min_free_mb "
                f"({self._floor // MB} MB) free, which recordings would pay for; ask for a shorter span"
            )

    def release(self, wanted: int) -> int:
        """Removes stored exports, oldest first, until ``wanted`` bytes are freed (or none is left); the bytes freed.

        Retention calls it on low disk space before it deletes any recording: an export can be made again.
        """
        stored = []
        for old in self.exports_dir.glob("*.mp4"):
            try:
                stat = old.lstat()
            except OSError:
                continue
            stored.append((stat.st_mtime, stat.st_size, old))
        freed = 0
        for _, size, old in sorted(stored):
            if freed >= wanted:
                break
            if self._remove(old):
                freed += size
        if freed:
            logger.warning("low disk space: removed stored exports (%.1f MB) before any recording", freed / MB)
        return freed

    def _remove(self, old: Path) -> bool:
        try:
            old.unlink()
        except OSError:
            return False
        with self._guard:
            self._locks.pop(old.name, None)
        return True


class _PipedExport:
    """ffmpeg's stdout as a response body. ``close()`` ends ffmpeg and frees its slot even when the body was
    never iterated (a generator's ``finally`` would not run then: WSGI servers only call ``close()``)."""

    def __init__(self, proc: subprocess.Popen[bytes], release: Callable[[], object]) -> None:
        self._proc = proc
        self._release: Callable[[], object] | None = release

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        stdout = self._proc.stdout
        chunk = stdout.read(STREAM_CHUNK) if stdout is not None and self._release is not None else b""
        if not chunk:
            self.close()
            raise StopIteration
        return chunk

    def close(self) -> None:
        release, self._release = self._release, None
        if release is None:
            return
        with contextlib.suppress(OSError):
            self._proc.kill()
        self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        release()
