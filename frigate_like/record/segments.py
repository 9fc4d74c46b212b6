"""Indexes the cache segments ffmpeg writes for one camera and role, from its csv segment lists.

ffmpeg (run with ``TZ=UTC``) writes ``<cache_dir>/<camera>/<role>/%Y%m%d%H%M%S.mp4`` and,
per run, ``segments-<run>.csv`` with a ``filename,start,end`` line appended when a segment
is finished (start/end: seconds of that run's output stream). No segment is ever probed
except an orphan (a file no list mentions whose ffmpeg is gone), and that only once.

Wall-clock times: a file's name is when ffmpeg opened it (UTC, 1 s resolution), and footage
is captured before it is written, so every finished segment ``j`` of a run bounds the run's
stream origin: ``origin <= name_j + 1 - start_j``. Each segment takes the tightest bound of
its neighbours in the same run (a sliding window, so a drifting camera clock is followed),
and ``start = origin + start_offset``: consecutive segments of a run are contiguous, and an
initial burst (ffmpeg writing what it buffered while probing the stream) does not skew them.

An orphan left by a killed ffmpeg (the segment it was writing, never listed) follows the last
segment its run listed: it starts where that one ends (when that agrees with its name), not at
its name's whole second, which would put it up to 1 s early and make the hole
before the next run look up to 1 s longer than it is.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

SEGMENT_NAME = re.compile(r"^(\d{14})\.mp4$")
LIST_NAME = re.compile(r"^segments-(.+)\.csv$")
ORIGIN_WINDOW = 6  # segments on each side whose bounds fix one segment's origin
PROBE_TIMEOUT_S = 15.0
RUN_ENDS_KEPT = 16  # runs whose footage end is remembered for an orphan they may have left


@dataclass(frozen=True, slots=True)
class Segment:
    """A finished cache segment: ``path`` covers wall-clock ``[start, end)`` (epoch seconds)."""

    path: Path
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    name_time: float  # epoch of the file name (UTC, whole seconds)
    start: float  # seconds in the run's output stream
    end: float


@dataclass(slots=True)
class _SegmentList:
    """What has been read of one run's csv list."""

    path: Path
    inode: int
    mtime_ns: int = 0  # the active run's list is the one appended to last
    offset: int = 0
    entries: list[_Entry] = field(default_factory=list)


def segment_name_time(name: str) -> float | None:
    """Epoch seconds of a ``%Y%m%d%H%M%S.mp4`` segment name (UTC), or None if it is not one."""
    match = SEGMENT_NAME.match(name)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


class SegmentIndex:
    """Finished segments of ``<cache_dir>/<camera>/<role>``; call ``refresh()`` for the current list.

    ``segment_time`` is ffmpeg's ``-segment_time`` for this role: a file nobody lists that has
    not grown for twice that long (or that an ffmpeg restart left behind) is an orphan. With
    ``ffprobe_bin`` an orphan is probed once and kept if readable; otherwise it is reported in
    ``broken`` for the owner to delete. Not thread-safe: one owner thread.
    """

    def __init__(
        self,
        cache_dir: Path,
        camera: str,
        role: str,
        *,
        segment_time: float = 10.0,
        ffprobe_bin: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folder = cache_dir / camera / role
        self.segment_time = segment_time
        self._ffprobe_bin = ffprobe_bin
        self._clock = clock
        self._lists: dict[str, _SegmentList] = {}
        self._salvaged: dict[str, Segment | None] = {}  # orphan name -> probed segment (None: unreadable)
        self._unnamed_warned: set[str] = set()
        self._run_ends: dict[str, float] = {}  # last listed segment of each run -> where its footage ends
        self.in_progress: Path | None = None
        self.broken: list[Path] = []

    def refresh(self) -> list[Segment]:
        """Reads what the lists gained since the last call; returns the finished segments by start."""
        files, lists = self._scan()
        for name in set(self._lists) - set(lists):
            del self._lists[name]
        for name, stat in lists.items():
            self._read_list(name, stat)
        newest_list = max(lists, key=lambda name: (lists[name].st_mtime_ns, name), default=None)
        listed = self._listed_segments(files)
        self._prune_lists(newest_list, files)
        segments = list(listed.values())
        newest = self._lists.get(newest_list) if newest_list is not None else None
        segments.extend(self._unlisted(files, self._all_listed_names(), newest))
        segments.sort(key=lambda seg: (seg.start, seg.path.name))
        return segments

    # -- csv lists --------------------------------------------------------------------------------
    def _scan(self) -> tuple[dict[str, os.stat_result], dict[str, os.stat_result]]:
        files: dict[str, os.stat_result] = {}
        lists: dict[str, os.stat_result] = {}
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    try:
                        if entry.name.endswith(".mp4"):
                            files[entry.name] = entry.stat()
                        elif LIST_NAME.match(entry.name):
                            lists[entry.name] = entry.stat()
                    except FileNotFoundError:
                        continue  # deleted between listing and stat
        except FileNotFoundError:
            pass  # ffmpeg has not started yet
        return files, lists

    def _read_list(self, name: str, stat: os.stat_result) -> None:
        state = self._lists.get(name)
        if state is None or state.inode != stat.st_ino or stat.st_size < state.offset:
            if state is not None:
                logger.debug("segment list %s was replaced or truncated; reading it again", name)
            state = _SegmentList(path=self.folder / name, inode=stat.st_ino)
            self._lists[name] = state
        state.mtime_ns = stat.st_mtime_ns
        if stat.st_size == state.offset:
            return
        try:
            with state.path.open("rb") as handle:
                handle.seek(state.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line without its newline is still being written
        state.offset += len(complete)
        for row in csv.reader(io.StringIO(complete.decode("utf-8", errors="replace"))):
            entry = self._parse_row(row, name)
            if entry is not None:
                state.entries.append(entry)

    def _parse_row(self, row: list[str], list_name: str) -> _Entry | None:
        if not row:
            return None
        try:
            file_name = Path(row[0]).name
            start, end = float(row[1]), float(row[2])
        except (IndexError, ValueError):
            logger.warning("%s: skipping malformed segment list line %r", list_name, row)
            return None
        name_time = segment_name_time(file_name)
        if name_time is None:
            self._warn_unnamed(file_name)
            return None
        return _Entry(file_name, name_time, start, end)

    def _listed_segments(self, files: dict[str, os.stat_result]) -> dict[str, Segment]:
        """Segments of every list whose file still exists; a name listed again later wins.

        (A name repeats when ffmpeg opened two segments within one second, the second
        overwriting the first: only faster-than-real-time input does that.)
        """
        listed: dict[str, Segment] = {}
        for state in sorted(self._lists.values(), key=lambda s: (s.mtime_ns, s.path.name)):
            bounds = [e.name_time + 1.0 - e.start for e in state.entries]
            origin = 0.0
            for k, entry in enumerate(state.entries):
                origin = min(bounds[max(0, k - ORIGIN_WINDOW) : k + ORIGIN_WINDOW + 1])
                if entry.name in files:
                    path = self.folder / entry.name
                    listed[entry.name] = Segment(path, origin + entry.start, origin + entry.end)
            if state.entries:  # where this run's footage ends so far (origin: the last entry's)
                self._run_ends[state.entries[-1].name] = origin + state.entries[-1].end
            # Forget entries whose files are gone, keeping the window before the oldest file
            # left: a run's list grows by thousands of lines a day, the cache does not.
            alive = next((k for k, e in enumerate(state.entries) if e.name in files), len(state.entries))
            del state.entries[: max(0, alive - ORIGIN_WINDOW)]
        for name in sorted(self._run_ends)[:-RUN_ENDS_KEPT]:
            del self._run_ends[name]
        return listed

    def _all_listed_names(self) -> set[str]:
        return {entry.name for state in self._lists.values() for entry in state.entries}

    def _prune_lists(self, newest: str | None, files: dict[str, os.stat_result]) -> None:
        """Deletes lists of finished runs once every segment they name is gone."""
        for name, state in list(self._lists.items()):
            if name == newest or any(entry.name in files for entry in state.entries):
                continue
            logger.debug("removing spent segment list %s", state.path)
            state.path.unlink(missing_ok=True)
            del self._lists[name]

    # -- files no list mentions -------------------------------------------------------------------
    def _unlisted(
        self, files: dict[str, os.stat_result], listed: set[str], newest: _SegmentList | None
    ) -> list[Segment]:
        """Decides for each unlisted file: in progress, salvaged orphan, or broken."""
        now = self._clock()
        candidates = sorted(name for name in files if name not in listed)
        self.in_progress = None
        self.broken = []
        for name in list(self._salvaged):
            if name not in files or name in listed:
                del self._salvaged[name]  # gone, or ffmpeg listed it after all: the list wins
        salvaged: list[Segment] = []
        for name in candidates:
            name_time = segment_name_time(name)
            if name_time is None:
                self._warn_unnamed(name)
                continue
            active = max(files[name].st_mtime, name_time)
            if (
                name == candidates[-1]
                and now - active < 2 * self.segment_time
                and _written_by_current_run(name_time, files[name], newest)
            ):
                self.in_progress = self.folder / name
                continue
            segment = self._salvage(name, name_time, self._run_end_before(name))
            if segment is None:
                self.broken.append(self.folder / name)
            else:
                salvaged.append(segment)
        return salvaged

    def _run_end_before(self, name: str) -> float | None:
        """Where the orphan ``name`` starts if it follows the last segment a run listed (that run's
        ffmpeg was killed while writing it): the end of the latest run end named before it."""
        before = [other for other in self._run_ends if other < name]
        return self._run_ends[max(before)] if before else None

    def _salvage(self, name: str, name_time: float, follows: float | None = None) -> Segment | None:
        if name in self._salvaged:
            return self._salvaged[name]
        duration = probe_duration(self._ffprobe_bin, self.folder / name) if self._ffprobe_bin else None
        path = self.folder / name
        # The name is the second ffmpeg opened it (floored: up to 1 s early); the end of the run's last listed
        # segment is finer, and up to 1 s late (its origin is an upper bound): the two agree within [-1, 2) s.
        start = follows if follows is not None and name_time - 1.0 <= follows < name_time + 2.0 else name_time
        segment = Segment(path, start, start + duration) if duration else None
        if segment is None:
            logger.warning("orphaned cache segment %s is unreadable (its ffmpeg was killed)", path)
        else:
            logger.info("salvaged orphaned cache segment %s (%.1f s)", path, duration)
        self._salvaged[name] = segment
        return segment

    def _warn_unnamed(self, name: str) -> None:
        if name not in self._unnamed_warned:
            self._unnamed_warned.add(name)
            logger.warning("%s: %s is not a %%Y%%m%%d%%H%%M%%S.mp4 segment name; ignored", self.folder, name)


def _written_by_current_run(name_time: float, stat: os.stat_result, newest: _SegmentList | None) -> bool:
    """False when the newest run's list shows the file predates that run (an ffmpeg restart)."""
    if newest is None:
        return True
    if newest.entries:
        # The current run opens its next segment after listing the last one: a later name.
        return name_time > newest.entries[-1].name_time
    # The run has listed nothing yet: its list was created at start, before its first segment.
    return stat.st_mtime_ns >= newest.mtime_ns - 1_000_000_000


def probe_duration(ffprobe_bin: str | None, path: Path) -> float | None:
    """The container duration ffprobe reads from ``path``, or None if unreadable."""
    if not ffprobe_bin:
        return None
    args = [ffprobe_bin, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)]
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.warning("ffprobe of %s failed: %s", path, exc)
        return None
    try:
        duration = float(result.stdout.strip())
    except ValueError:
        return None
    return duration if result.returncode == 0 and duration > 0 else None

