"""What a crash leaves of live events, and closing them at the next start.

While an event is live, the event writer keeps two files beside its clip and snapshot:
``<camera>-<id>.live.json`` (rewritten at every DB update: when it was last seen) and
``<camera>-<id>.best.jpg`` (the snapshot of its best frame so far). Both go when the event
ends. At start, an event the database still has open was cut short by a crash: it ends at
its last update, its clip is cut from the footage that exists, its snapshot is the best-frame
file, and has_clip/has_snapshot say what is really on disk.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from frigate_like import files
from frigate_like.record.clips import ClipCut, ClipWriter, Span
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
    clip_gaps: tuple[tuple[float, float], ...] = ()


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
        self, camera: str, event_id: str, last_update: float, wants_clip: bool, best_jpg: bytes | None
    ) -> None:
        if best_jpg is not None:
            write_atomically(self.clips_dir / media_name(camera, event_id, BEST_SUFFIX), best_jpg)
        state = json.dumps({"last_update": last_update, "clip": wants_clip}).encode()
        write_atomically(self.clips_dir / media_name(camera, event_id, LIVE_SUFFIX), state)

    def remove(self, camera: str, event_id: str) -> None:
        for suffix in (LIVE_SUFFIX, BEST_SUFFIX):
            with contextlib.suppress(OSError):
                (self.clips_dir / media_name(camera, event_id, suffix)).unlink(missing_ok=True)

    def state(self, camera: str, event_id: str) -> tuple[float | None, bool]:
        """(last update, whether it wants a clip); (None, True) when there is no readable record."""
        path = self.clips_dir / media_name(camera, event_id, LIVE_SUFFIX)
        try:
            raw = json.loads(path.read_text())
            return float(raw["last_update"]), bool(raw.get("clip", True))
        except (OSError, ValueError, KeyError, TypeError):
            return None, True

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
        end, wants_clip = live.state(camera, event_id)
        best = live.best(camera, event_id)
        if end is None and best is not None:
            end = best.stat().st_mtime
        end = max(start, end if end is not None else start)
        cut: ClipCut | None = None
        times = capture_times(camera)
        cutters = [clip_sources.get(camera), recorded(camera) if recorded is not None else None]
        for source in cutters:
            if source is None or cut is not None or not wants_clip or times is None:
                continue
            clip = live.clips_dir / media_name(camera, event_id, ".mp4")
            try:
                cut = source.make_clip(start - times.pre_capture, end + times.post_capture, clip, event=(start, end))
            except Exception:
                logger.exception("event %s: the clip could not be cut from %s", event_id, type(source).__name__)
        has_snapshot = False
        if best is not None:
            try:
                os.replace(best, live.clips_dir / media_name(camera, event_id, ".jpg"))
                has_snapshot = True
            except OSError as exc:
                logger.error("event %s: cannot keep its best frame %s: %s", event_id, best, exc)
        logger.warning(
            "event %s (%s) was left open by a crash: ended at its last update (%.0f s long); clip: %s, snapshot: %s",
            event_id, camera, end - start, cut is not None, has_snapshot,
        )  # fmt: skip
        results.append(Recovered(event_id, end, cut is not None, has_snapshot, cut.gaps if cut is not None else ()))
    return results
