"""Event clips cut when first asked for, not when the event ends.

When an event ends its footage is *kept*: the clips-cache segments that overlap the clip's span
are hard-linked (copied when the cache is on another file system) into a hidden folder beside
the clips, ``<clips>/.<camera>-<id>.mp4.parts/``, with a manifest of their times. That costs a
few file operations instead of an ffmpeg re-mux and an ffprobe per event (bench/clip_cost.py);
most clips are never watched. The first request for ``<camera>-<id>.mp4`` (HTTP, the UI, an
MQTT consumer following the URL) cuts the clip from the kept segments exactly as before
(``ClipWriter``: concat, stream copy, checked playable, written atomically), and the parts go.

The kept parts belong to the event, not to the clips cache: the cache's own retention
(``ClipCache.maintain``) deletes its segments as before, and the parts live until the clip is
cut or the event is deleted (``discard``, called by event retention with the clip). An event
is ``has_clip`` once its parts are kept, as it was once its clip was written.

Thread-safe: the event writer keeps, HTTP threads ensure, retention discards; a clip is cut by
one thread at a time (a lock per name), and every write lands under its final name atomically.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

from frigate_like.record.clips import ClipCut, ClipWriter, Span, missing
from frigate_like.record.segments import Segment, probe_duration

logger = logging.getLogger(__name__)

PARTS_SUFFIX = ".parts"
MANIFEST = "manifest.json"


def parts_dir(clip: Path) -> Path:
    """Where the footage of the clip at ``clip`` (``<clips>/<camera>-<id>.mp4``) is kept until it is cut."""
    return clip.with_name(f".{clip.name}{PARTS_SUFFIX}")


def is_kept(clip: Path) -> bool:
    """Whether the footage of the clip at ``clip`` is kept for a cut (complete: its manifest is there)."""
    return (parts_dir(clip) / MANIFEST).is_file()


class DeferredClips:
    """The clips of ``clips_dir`` whose footage is kept and whose cut waits for the first request."""

    def __init__(self, clips_dir: Path, writer: ClipWriter) -> None:
        self.clips_dir = clips_dir
        self.writer = writer
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def parts_dir(self, name: str) -> Path:
        """Where the footage of clip ``name`` (``<camera>-<id>.mp4``) is kept until it is cut."""
        return parts_dir(self.clips_dir / name)

    def pending(self, name: str) -> bool:
        """Whether clip ``name`` is kept and not cut yet."""
        return is_kept(self.clips_dir / name)

    # -- the event writer's side -----------------------------------------------------------------
    def keep(
        self, segments: Sequence[Segment], start: float, end: float, out_path: Path, *, event: Span | None = None
    ) -> ClipCut | None:
        """Keeps the footage of ``[start, end]`` for the clip ``out_path`` (in ``clips_dir``); None (logged)
        when no segment overlaps or it could not be kept (e.g. a full disk: nothing is left behind).

        The returned ``ClipCut`` names the clip's path (not written yet) and its gaps, as a cut would.
        """
        parts = sorted((s for s in segments if s.end > start and s.start < end), key=lambda s: s.start)
        if not parts:
            logger.warning("no clip %s: no cached segment overlaps %.3f-%.3f", out_path.name, start, end)
            return None
        holes = missing(parts, event if event is not None else (start, end))
        final = self.parts_dir(out_path.name)
        work = final.with_name(f"{final.name}.{os.getpid()}.{threading.get_ident()}.partial")
        try:
            _remove_tree(work)
            work.mkdir()
            kept = []
            for index, segment in enumerate(parts):
                name = f"{index:04d}{segment.path.suffix}"
                _link_or_copy(segment.path, work / name)
                kept.append({"file": name, "start": segment.start, "end": segment.end})
            manifest = {"start": start, "end": end, "event": list(event) if event else None, "segments": kept}
            (work / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
            _remove_tree(final)  # kept before (a recovery keeping it again): the newer wins
            work.rename(final)
        except OSError as exc:
            logger.error("clip %s: its footage could not be kept: %s", out_path.name, exc)
            _remove_tree(work)
            return None
        for gap_start, gap_end in holes:
            logger.warning(
                "clip %s has a gap: %.1f s of footage missing from %.3f to %.3f (its ffmpeg stopped or restarted)",
                out_path.name, gap_end - gap_start, gap_start, gap_end,
            )  # fmt: skip
        return ClipCut(out_path, tuple(holes))

    # -- the readers' side -----------------------------------------------------------------------
    def ensure(self, name: str) -> bool:
        """Cuts clip ``name`` from its kept footage unless it exists; True when the clip is there now.

        False: nothing is kept under that name, or the cut failed (logged; the footage stays for
        the next request)."""
        out_path = self.clips_dir / name
        if out_path.is_file():
            return True
        with self._lock(name):
            if out_path.is_file():  # cut by another request while this one waited
                return True
            folder = self.parts_dir(name)
            try:
                manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return False
            segments = [Segment(folder / s["file"], float(s["start"]), float(s["end"])) for s in manifest["segments"]]
            event = manifest.get("event")
            span = (float(manifest["start"]), float(manifest["end"]))
            event_span = (float(event[0]), float(event[1])) if event else None
            cut = self.writer.cut_clip(segments, *span, out_path, event=event_span)
            if cut is None:
                # A segment written while its disk filled up is listed with its planned length but holds
                # less: cut again from what each kept file really holds (probed only on this path).
                measured = self._measured(segments)
                if measured != segments:
                    logger.warning("clip %s: kept footage is shorter than listed; cutting what there is", name)
                    cut = self.writer.cut_clip(measured, *span, out_path, event=event_span)
            if cut is None:
                return False
            _remove_tree(folder)
            logger.info("clip %s cut on its first request", name)
            return True

    def _measured(self, segments: Sequence[Segment]) -> list[Segment]:
        """``segments`` with the end each file's container really reaches; unreadable files left out."""
        measured = []
        for segment in segments:
            duration = probe_duration(self.writer.ffprobe_bin, segment.path)
            if duration is None or duration <= 0:
                continue
            measured.append(Segment(segment.path, segment.start, min(segment.end, segment.start + duration)))
        return measured

    def discard(self, name: str) -> None:
        """Deletes the kept footage of clip ``name`` (its event is deleted)."""
        with self._lock(name):
            _remove_tree(self.parts_dir(name))

    def sweep(self) -> list[Path]:
        """At start-up: deletes half-kept footage a crash left (complete kept clips stay)."""
        removed = []
        for path in self.clips_dir.glob(f".*{PARTS_SUFFIX}.*.partial"):
            _remove_tree(path)
            removed.append(path)
        return removed

    def _lock(self, name: str) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.get(name)
            if lock is None:
                if len(self._locks) > 1024:  # forget idle locks now and then; held ones stay
                    self._locks = {k: v for k, v in self._locks.items() if v.locked()}
                lock = self._locks[name] = threading.Lock()
            return lock


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (free) when both are on one file system, else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _remove_tree(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path)
