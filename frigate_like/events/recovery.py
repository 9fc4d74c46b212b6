"""What a crash leaves of live events, and closing them at the next start.

While an event is live, the event writer keeps two files beside its clip and snapshot:
``<camera>-<id>.live.json`` (rewritten at every DB update: when it was last seen; at its end:
when it ended, while its clip waits for the footage) and ``<camera>-<id>.best.jpg`` (the
snapshot of its best frame so far). Both go once the event is written as ended.

At start, the event writes a crash left in the spill file are read first (the end of an event
may be there, not yet in the database); an event still open after them was cut short by the
crash: it ends at its last update (its end, if it had ended), its clip is cut from the footage
that exists (a clip already cut is kept), its snapshot is the best-frame file (or the snapshot
already written), and has_clip/has_snapshot say what is really on disk.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from frigate_like import files
from frigate_like.events.backlog import Write
from frigate_like.record.clips import ClipCut, ClipWriter, Span
from frigate_like.record.deferred import is_kept
from frigate_like.record.segments import Segment

logger = logging.getLogger(__name__)

LIVE_SUFFIX = ".live.json"
BEST_SUFFIX = ".best.jpg"
TMP_SUFFIX = ".tmp"


class ClipCutter(Protocol):
    def make_clip(
        self, start: float, end: float, out_path: Path, *, event: Span | None = None
    ) -> ClipCut | None: ...


class RecordingRows(Protocol):
    """The 24/7 recordings table (db/recordings.py)."""

    def recordings(self, camera: str, *, after: float | None = ..., before: float | None = ...) -> list[Any]: ...


class RecordedClips:
    """Cuts a camera's clip from its 24/7 recordings: the fallback when the clips cache lacks the footage
    (e.g. a cache on tmpfs, lost with a reboot)."""

    def __init__(self, camera: str, rows: RecordingRows, ffmpeg_bin: str) -> None:
        self.camera = camera
        self._rows = rows
        self._writer = ClipWriter(ffmpeg_bin)

    def make_clip(self, start: float, end: float, out_path: Path, *, event: Span | None = None) -> ClipCut | None:
        rows = [r for r in self._rows.recordings(self.camera, after=start, before=end) if Path(r["path"]).is_file()]
        segments = [Segment(Path(r["path"]), float(r["start_time"]), float(r["end_time"])) for r in rows]
        return self._writer.cut_clip(segments, start, end, out_path, event=event) if segments else None


class CaptureTimes(Protocol):
    """The camera's ``clips`` section, as far as recovery cares."""

    @property
    def pre_capture(self) -> int: ...

    @property
    def post_capture(self) -> int: ...


@dataclass(frozen=True)
class Recovered:
    event_id: str
    end_time: float
    has_clip: bool
    has_snapshot: bool
    clip_gaps: tuple[tuple[float, float], ...] | None = ()  # None: a clip kept from before the crash
    end_announced: bool = False  # it had ended (MQTT said so); only its clip and end write were pending


def media_name(camera: str, event_id: str, suffix: str) -> str:
    """Not Path.with_suffix: the event id itself contains a dot."""
    return f"{camera}-{event_id}{suffix}"


def write_atomically(path: Path, data: bytes) -> None:
    """A crash leaves the old file or the new one under ``path``, never half of one; a failed write
    (disk full) leaves no temp file."""
    files.write_atomically(path, data, tmp=path.with_name(path.name + TMP_SUFFIX))


class LiveFiles:
    """The live-event files in the clips folder."""

    def __init__(self, clips_dir: Path) -> None:
        self.clips_dir = clips_dir

    def record(
        self,
        camera: str,
        event_id: str,
        last_update: float,
        wants_clip: bool,
        best_jpg: bytes | None,
        *,
        ended: bool = False,
    ) -> None:
        """``ended``: the event is over (``last_update`` is its end), its clip not yet cut."""
        if best_jpg is not None:
            write_atomically(self.clips_dir / media_name(camera, event_id, BEST_SUFFIX), best_jpg)
        state = json.dumps({"last_update": last_update, "clip": wants_clip, "ended": ended}).encode()
        write_atomically(self.clips_dir / media_name(camera, event_id, LIVE_SUFFIX), state)

    def remove(self, camera: str, event_id: str) -> None:
        for suffix in (LIVE_SUFFIX, BEST_SUFFIX):
            with contextlib.suppress(OSError):
                (self.clips_dir / media_name(camera, event_id, suffix)).unlink(missing_ok=True)

    def state(self, camera: str, event_id: str) -> tuple[float | None, bool, bool]:
        """(last update, whether it wants a clip, whether it had ended); (None, True, False) when
        there is no readable record."""
        path = self.clips_dir / media_name(camera, event_id, LIVE_SUFFIX)
        try:
            raw = json.loads(path.read_text())
            return float(raw["last_update"]), bool(raw.get("clip", True)), bool(raw.get("ended", False))
        except (OSError, ValueError, KeyError, TypeError):
            return None, True, False

    def best(self, camera: str, event_id: str) -> Path | None:
        path = self.clips_dir / media_name(camera, event_id, BEST_SUFFIX)
        return path if path.is_file() and path.stat().st_size > 0 else None

    def sweep(self) -> list[Path]:
        """Removes half-written files (``*.tmp``) and live files of events no longer open."""
        removed = []
        for path in self.clips_dir.glob(f"*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
        for suffix in (LIVE_SUFFIX, BEST_SUFFIX):
            for path in self.clips_dir.glob(f"*{suffix}"):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
        return removed


def still_open(db_open: list[dict[str, Any]], pending: Iterable[Write]) -> list[dict[str, Any]]:
    """The events a crash left open: those the database has open and those only created in the
    spill file (``pending``, oldest first), less those the spill file ends; each row with the
    spill file's changes applied, oldest first."""
    rows = {str(row["id"]): dict(row) for row in db_open}
    ended: set[str] = set()
    for write in pending:
        if write.op == "create" and write.event_id not in rows:
            rows[write.event_id] = {"id": write.event_id, "end_time": None, **write.fields}
        elif write.op == "update" and write.event_id in rows:
            rows[write.event_id].update({k: v for k, v in write.fields.items() if v is not None})
        if write.fields.get("end_time") is not None:
            ended.add(write.event_id)
    opened = [row for event_id, row in rows.items() if event_id not in ended and "camera" in row]
    return sorted(opened, key=lambda row: float(row["start_time"]))


def close_crashed_events(
    open_events: list[dict[str, Any]],
    live: LiveFiles,
    clip_sources: Mapping[str, ClipCutter],
    capture_times: Callable[[str], CaptureTimes | None],
    recorded: Callable[[str], ClipCutter] | None = None,
) -> list[Recovered]:
    """Decides how each event left open by a crash ends; cuts clips and moves snapshots into place.

    ``capture_times(camera)``: the camera's clips settings (None: a camera no longer configured).
    ``recorded(camera)``: cuts from the 24/7 recordings when the clips cache cannot.
    The caller writes the results to the database, then calls ``live.sweep()``.
    """
    results = []
    for row in open_events:
        camera, event_id, start = str(row["camera"]), str(row["id"]), float(row["start_time"])
        end, wants_clip, end_announced = live.state(camera, event_id)
        best = live.best(camera, event_id)
        if end is None and best is not None:
            end = best.stat().st_mtime
        end = max(start, end if end is not None else start)
        cut: ClipCut | None = None
        clip = live.clips_dir / media_name(camera, event_id, ".mp4")
        # cut before the crash (clips land atomically), or its footage kept for a cut on request
        kept_clip = (clip.is_file() and clip.stat().st_size > 0) or is_kept(clip)
        times = capture_times(camera)
        cutters = [clip_sources.get(camera), recorded(camera) if recorded is not None else None]
        for source in cutters:
            if source is None or cut is not None or kept_clip or not wants_clip or times is None:
                continue
            try:
                cut = source.make_clip(start - times.pre_capture, end + times.post_capture, clip, event=(start, end))
            except Exception:
                logger.exception("event %s: the clip could not be cut from %s", event_id, type(source).__name__)
        snapshot = live.clips_dir / media_name(camera, event_id, ".jpg")
        has_snapshot = snapshot.is_file() and snapshot.stat().st_size > 0  # written before the crash
        if best is not None and not has_snapshot:
            try:
                os.replace(best, snapshot)
                has_snapshot = True
            except OSError as exc:
                logger.error("event %s: cannot keep its best frame %s: %s", event_id, best, exc)
        logger.warning(
            "event %s (%s) was left open by a crash: ended at its last update (%.0f s long); clip: %s, snapshot: %s",
            event_id, camera, end - start, "kept" if kept_clip else cut is not None, has_snapshot,
        )  # fmt: skip
        gaps = cut.gaps if cut is not None else None if kept_clip else ()
        results.append(Recovered(event_id, end, kept_clip or cut is not None, has_snapshot, gaps, end_announced))
    return results
