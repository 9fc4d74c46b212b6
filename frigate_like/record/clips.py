"""Cuts event clips from cached segments (concat demuxer, no re-encode) and keeps the cache bounded.

``ClipWriter`` turns a time span into one mp4, kept only once it is checked to be playable;
``ClipCache`` is one camera's ``clips`` cache: it knows which spans open events still need
and deletes every other segment.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from frigate_like.record.segments import Segment, SegmentIndex, probe_duration

logger = logging.getLogger(__name__)

CLIP_TIMEOUT_S = 120.0
EDGE_EPSILON_S = 0.05  # an inpoint/outpoint this close to a file's edge is left out
CLIPS_SEGMENT_TIME = 10.0  # ffmpeg's -segment_time for the clips role
GAP_TOLERANCE_S = 1.0  # missing footage between two segments worth a warning
DEFAULT_MARGIN_S = 30.0  # an event may be reported some seconds after its first frame
# A written clip may be this much shorter than its footage (rounding, a segment's last frame) ...
SHORT_SLACK_S, SHORT_SLACK_RATIO = 2.0, 0.2
# ... and this much longer: stream copy starts at the key frame before ``start``, and a camera's
# "smart" codec may send one every 30 s or more; longer still means timestamps gone wrong.
LONG_SLACK_S, LONG_SLACK_RATIO = 60.0, 1.0


Span = tuple[float, float]  # (from, to) in unix seconds
Gap = Span  # footage missing there


@dataclass(frozen=True)
class ClipCut:
    """A clip written: ``gaps`` are the stretches of it that have no footage (see :func:`missing`)."""

    path: Path
    gaps: tuple[Gap, ...] = ()


class ClipWriter:
    """Writes ``[start, end]`` of a camera's segments to one mp4 by stream copy."""

    def __init__(self, ffmpeg_bin: str, *, ffprobe_bin: str | None = None, timeout: float = CLIP_TIMEOUT_S) -> None:
        """``ffprobe_bin``: checks each clip's duration (default: ``ffprobe`` on PATH; without one only
        the mp4's structure is checked)."""
        self.ffmpeg_bin = ffmpeg_bin
        self.ffprobe_bin = ffprobe_bin or shutil.which("ffprobe")
        self.timeout = timeout

    def cut_clip(
        self, segments: Sequence[Segment], start: float, end: float, out_path: Path, *, event: Span | None = None
    ) -> ClipCut | None:
        """Writes ``out_path`` atomically; None (logged) when no segment overlaps, ffmpeg fails or what it
        wrote is not playable (see :func:`unplayable`: ffmpeg may exit 0 when the disk filled up).

        ``event``: the part of ``[start, end]`` that must be there (the event itself, without its
        pre and post capture); footage missing at its edges counts as a gap (default: all of it).

        With stream copy the clip begins at the key frame at or before ``start``, so it may
        be up to one GOP longer than asked.
        """
        parts = sorted((s for s in segments if s.end > start and s.start < end), key=lambda s: s.start)
        if not parts:
            logger.warning("no clip %s: no cached segment overlaps %.3f-%.3f", out_path.name, start, end)
            return None
        if parts[0].start > start + GAP_TOLERANCE_S or parts[-1].end < end - GAP_TOLERANCE_S:
            logger.info(
                "clip %s: footage covers %.3f-%.3f of %.3f-%.3f", out_path.name,
                max(start, parts[0].start), min(end, parts[-1].end), start, end,
            )
        holes = missing(parts, event if event is not None else (start, end))
        for gap_start, gap_end in holes:
            logger.warning(
                "clip %s has a gap: %.1f s of footage missing from %.3f to %.3f (its ffmpeg stopped or restarted)",
                out_path.name, gap_end - gap_start, gap_start, gap_end,
            )  # fmt: skip
        tmp_path = out_path.with_name(f".{out_path.name}.{os.getpid()}.partial")
        try:
            with tempfile.TemporaryDirectory(prefix="clip-") as work:
                concat_list = Path(work) / "concat.txt"
                concat_list.write_text(concat_script(parts, start, end), encoding="utf-8")
                ok = self._run_ffmpeg(concat_list, tmp_path, out_path)
            if not ok:
                return None
            problem = unplayable(tmp_path, footage_seconds(parts, start, end), self.ffprobe_bin)
            if problem is not None:
                logger.error("clip %s is not kept: %s", out_path.name, problem)
                return None
            tmp_path.replace(out_path)  # atomic: never half a clip under the final name
            return ClipCut(out_path, tuple(holes))
        except OSError as exc:
            logger.error("clip %s could not be written: %s", out_path, exc)
            return None
        finally:
            _remove_quietly(tmp_path)

    def _run_ffmpeg(self, concat_list: Path, tmp_path: Path, out_path: Path) -> bool:
        args = [
            self.ffmpeg_bin, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "concat",  # the concat demuxer joins files without decoding them
            "-safe", "0",  # the list holds absolute paths
            "-i", str(concat_list),
            "-map", "0:v", "-map", "0:a?",  # video, plus audio where a role kept it
            "-c", "copy",  # no re-encode
            "-movflags", "+faststart",  # index first, so a browser can play while downloading
            "-f", "mp4", str(tmp_path),  # the temp name has no .mp4 suffix: name the muxer
        ]
        started = time.monotonic()
        try:
            result = subprocess.run(args, capture_output=True, text=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            logger.error("clip %s: ffmpeg took longer than %.0f s", out_path.name, self.timeout)
            return False
        if result.returncode != 0:
            logger.error("clip %s: ffmpeg failed (%d): %s", out_path.name, result.returncode,
                         result.stderr.strip()[-2000:])
            return False
        logger.debug("clip %s written in %.2f s", out_path.name, time.monotonic() - started)
        return True


def footage_seconds(parts: Sequence[Segment], start: float, end: float) -> float:
    """Seconds of ``parts`` within ``[start, end]``: what a clip cut from them should last."""
    return sum(max(0.0, min(end, s.end) - max(start, s.start)) for s in parts)


def unplayable(path: Path, expected: float, ffprobe_bin: str | None) -> str | None:
    """Why the mp4 at ``path`` cannot be kept as a clip of ``expected`` seconds; None when it can.

    Its top-level boxes must include ``moov`` and fill the file exactly (a write cut short leaves
    a box running past the end); ffprobe (when there is one) must read a duration close to
    ``expected``. An exit status of 0 proves nothing: ffmpeg 5.1 exits 0 when its trailer
    could not be written.
    """
    problem = mp4_structure_problem(path)
    if problem is not None or not ffprobe_bin:
        return problem
    duration = probe_duration(ffprobe_bin, path)
    if duration is None:
        return "ffprobe finds no duration in it"
    shortest = expected - max(SHORT_SLACK_S, SHORT_SLACK_RATIO * expected)
    longest = expected + max(LONG_SLACK_S, LONG_SLACK_RATIO * expected)
    if not shortest <= duration <= longest:
        return f"it lasts {duration:.1f} s where its footage lasts {expected:.1f} s"
    return None


def mp4_structure_problem(path: Path) -> str | None:
    """What is wrong with the top-level boxes of the mp4 at ``path`` (None: a ``moov``, and the boxes
    end exactly where the file does)."""
    try:
        size = path.stat().st_size
        found = []
        with path.open("rb") as mp4:
            offset = 0
            while offset < size:
                mp4.seek(offset)
                header = mp4.read(16)
                if len(header) < 8:
                    return f"{size - offset} stray byte(s) at its end"
                box_size, kind = int.from_bytes(header[:4], "big"), header[4:8].decode("latin-1")
                if box_size == 1 and len(header) == 16:
                    box_size = int.from_bytes(header[8:16], "big")  # a 64-bit size
                elif box_size == 0:
                    box_size = size - offset  # the box runs to the end of the file
                if box_size < 8 or offset + box_size > size:
                    return f"its {kind!r} box is cut short ({size} bytes written)"
                found.append(kind)
                offset += box_size
    except OSError as exc:
        return f"it cannot be read: {exc}"
    if "moov" not in found:
        return f"it has no moov box (only {', '.join(found) or 'nothing'})"
    return None


def gaps(parts: Sequence[Segment], tolerance: float = GAP_TOLERANCE_S) -> list[tuple[float, float]]:
    """Spans between consecutive segments (sorted by start) longer than ``tolerance`` seconds."""
    return [
        (before.end, after.start)
        for before, after in zip(parts, parts[1:], strict=False)
        if after.start - before.end > tolerance
    ]


def missing(parts: Sequence[Segment], event: Span, tolerance: float = GAP_TOLERANCE_S) -> list[Gap]:
    """Holes in a clip made of ``parts`` (sorted), longer than ``tolerance``: between two segments, and
    where the ``event`` span starts before the first or ends after the last. Pre and post capture that
    is not there is no hole: the camera had only just started, or the daemon stopped."""
    found = []
    if parts[0].start - event[0] > tolerance:
        found.append((event[0], parts[0].start))
    found.extend(gaps(parts, tolerance))
    if event[1] - parts[-1].end > tolerance:
        found.append((parts[-1].end, event[1]))
    return [(round(a, 3), round(b, 3)) for a, b in found]


def remove_partial_clips(folder: Path) -> list[Path]:
    """Deletes temp files a crashed ``cut_clip`` left in ``folder`` (call at start-up, before any cut)."""
    removed = []
    for path in folder.glob(".*.partial"):
        _remove_quietly(path)
        removed.append(path)
    if removed:
        logger.info("removed %d unfinished clip(s) from %s", len(removed), folder)
    return removed


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):  # e.g. its folder is not a folder: then nothing was written
        path.unlink(missing_ok=True)


def concat_script(parts: Sequence[Segment], start: float, end: float) -> str:
    """An ffconcat script for ``parts`` (sorted) trimmed to ``[start, end]`` with inpoint/outpoint."""
    lines = ["ffconcat version 1.0"]
    for index, segment in enumerate(parts):
        lines.append(f"file {_quote(segment.path.resolve())}")
        inpoint = start - segment.start if index == 0 else 0.0
        outpoint = end - segment.start if index == len(parts) - 1 else segment.duration
        if inpoint > EDGE_EPSILON_S:
            lines.append(f"inpoint {inpoint:.6f}")
        if outpoint < segment.duration - EDGE_EPSILON_S:
            lines.append(f"outpoint {outpoint:.6f}")
    return "\n".join(lines) + "\n"


def _quote(path: Path) -> str:
    """A path as an ffconcat single-quoted string (``'`` becomes ``'\\''``)."""
    return "'" + str(path).replace("'", "'\\''") + "'"


class ClipSettings(Protocol):
    """The camera's ``clips`` section, as far as the cache cares."""

    @property
    def pre_capture(self) -> int: ...

    @property
    def max_seconds(self) -> int: ...


class DeferredKeeper(Protocol):
    """Keeps a clip's footage for a cut when it is first asked for (record/deferred.py DeferredClips)."""

    def keep(
        self, segments: Sequence[Segment], start: float, end: float, out_path: Path, *, event: Span | None = None
    ) -> ClipCut | None: ...


class ClipCache:
    """One camera's cached ``clips`` segments: holds for open events, clips, cleanup.

    Driven from one thread (the event processor): ``hold(event_id, clip_start)`` when an event
    starts (``clip_start`` = event start - pre_capture), ``clip_ready(clip_end)`` until the
    post-capture footage is on disk, ``make_clip(clip_start, clip_end, path)``, then
    ``release(event_id)``; ``maintain()`` every few seconds deletes what nobody needs.
    """

    def __init__(
        self,
        cache_dir: Path,
        camera: str,
        clips_cfg: ClipSettings,
        ffmpeg_bin: str,
        *,
        ffprobe_bin: str | None = None,
        segment_time: float = CLIPS_SEGMENT_TIME,
        margin: float = DEFAULT_MARGIN_S,
        clock: Callable[[], float] = time.time,
        deferred: DeferredKeeper | None = None,
    ) -> None:
        """``deferred``: keeps each clip's footage for a cut on its first request (record/deferred.py)
        instead of cutting it now; None cuts at once."""
        self.camera = camera
        self.pre_capture = float(clips_cfg.pre_capture)
        self.max_seconds = float(clips_cfg.max_seconds)
        self.margin = margin
        self.index = SegmentIndex(
            cache_dir, camera, "clips", segment_time=segment_time, ffprobe_bin=ffprobe_bin, clock=clock
        )
        self.writer = ClipWriter(ffmpeg_bin, ffprobe_bin=ffprobe_bin)
        self.deferred = deferred
        self._clock = clock
        self._holds: dict[str, float] = {}
        self._truncated: set[str] = set()  # events already warned about
        self._segments: list[Segment] = []

    def hold(self, event_id: str, start: float) -> None:
        """Keeps footage from ``start`` (already minus pre_capture) until ``release(event_id)``."""
        self._holds[event_id] = start

    def release(self, event_id: str) -> None:
        self._holds.pop(event_id, None)
        self._truncated.discard(event_id)

    def segments(self) -> list[Segment]:
        """The finished segments now in the cache, by start time."""
        self._segments = self.index.refresh()
        return self._segments

    def clip_ready(self, end_time: float) -> bool:
        """True once the finished segments reach ``end_time`` (so post-capture footage is on disk)."""
        segments = self.segments()
        return bool(segments) and segments[-1].end >= end_time

    def make_clip(self, start: float, end: float, out_path: Path, *, event: Span | None = None) -> ClipCut | None:
        """Cuts ``[start, end]`` into ``out_path`` (mp4), or keeps its footage for a later cut (``deferred``);
        None when no cached footage overlaps or it could not be written."""
        segments = self.segments()
        if self.deferred is not None and not self._spans_a_gap(segments, start, end, event):
            return self.deferred.keep(segments, start, end, out_path, event=event)
        # footage with a gap (an ffmpeg restart: a full disk, a camera that dropped) is cut at once, while
        # its runs are all in the cache: a later concat of kept runs came out short (issue 21, not understood yet)
        return self.writer.cut_clip(segments, start, end, out_path, event=event)

    @staticmethod
    def _spans_a_gap(segments: list[Segment], start: float, end: float, event: Span | None) -> bool:
        parts = sorted((s for s in segments if s.end > start and s.start < end), key=lambda s: s.start)
        return bool(parts) and bool(missing(parts, event if event is not None else (start, end)))

    def has_footage(self, start: float, end: float) -> bool:
        """Whether a finished segment in the cache overlaps ``[start, end]`` (a failed clip may be retried)."""
        return any(s.end > start and s.start < end for s in self.segments())

    def maintain(self) -> list[Path]:
        """Deletes segments nobody needs, broken orphans, and anything older than max_seconds."""
        segments = self.segments()
        now = self._clock()
        keep_from = now - self.pre_capture - self.margin
        if self._holds:
            keep_from = min(keep_from, min(self._holds.values()))
        hard_limit = now - self.max_seconds
        self._warn_truncated(hard_limit)
        doomed = [s.path for s in segments if s.end < keep_from or s.end < hard_limit]
        doomed.extend(self.index.broken)
        deleted: list[Path] = []
        for path in doomed:
            try:
                path.unlink()
                deleted.append(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                logger.warning("cannot delete cache segment %s: %s", path, exc)
        if deleted:
            logger.debug("%s: deleted %d cache segment(s)", self.camera, len(deleted))
            self._segments = [s for s in self._segments if s.path not in set(deleted)]
        return deleted

    def _warn_truncated(self, hard_limit: float) -> None:
        for event_id, start in self._holds.items():
            if start < hard_limit and event_id not in self._truncated:
                self._truncated.add(event_id)
                logger.warning(
                    "%s: event %s is longer than clips.max_seconds (%.0f s); its clip will be truncated",
                    self.camera, event_id, self.max_seconds,
                )
