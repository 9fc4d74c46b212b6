"""Playback of recording folders (the seed's /skellycam/playback/*): list, load, serve videos, timestamps.

A recording folder holds videos directly or in ``synchronized_videos/`` (that one first, as
SkellyCam does), with per-frame CSVs in ``timestamps/camera_timestamps/<video_id>.csv``. One
recording is loaded at a time; its videos are served by id. Every path is confined to the
allowed roots (:class:`AllowedRoots`), and a video is checked again when served, so a link
swapped in after loading does not lead out of them.
"""

from __future__ import annotations

import csv
import json
import logging
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from frigate_like.errors import Conflict, NotFound
from frigate_like.files import resolve_inside
from frigate_like.record.roots import AllowedRoots

logger = logging.getLogger(__name__)

VIDEO_TYPES = {
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
}
SYNCHRONIZED = "synchronized_videos"
TIMESTAMP_DIRS = (
    Path("timestamps") / "camera_timestamps",
    Path(SYNCHRONIZED) / "timestamps" / "camera_timestamps",
    Path(SYNCHRONIZED) / "timestamps",
    Path("timestamps"),
)
OUR_COLUMN = "timestamp_from_zero_s"  # written by record/camera_writer.py, seconds → served in ms
PROBE_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Video:
    video_id: str
    path: Path  # resolved

    @property
    def mimetype(self) -> str:
        return VIDEO_TYPES.get(self.path.suffix.lower(), "application/octet-stream")


def video_files(folder: Path) -> list[Path]:
    """Video files directly in ``folder``, by name."""
    try:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_TYPES and p.is_file())
    except OSError:
        return []


def video_folder(recording: Path) -> Path | None:
    """``synchronized_videos/`` when it holds videos, else the folder itself when it does, else None."""
    for folder in (recording / SYNCHRONIZED, recording):
        if video_files(folder):
            return folder
    return None


def find_timestamps_csv(recording: Path, vid: str) -> Path | None:
    """The CSV of video ``vid``: ``<vid>.csv`` in a timestamps folder, else one whose name contains it."""
    for sub in TIMESTAMP_DIRS:
        exact = recording / sub / f"{vid}.csv"
        if exact.is_file():
            return exact
    for sub in TIMESTAMP_DIRS:
        folder = recording / sub
        if folder.is_dir():
            for candidate in sorted(folder.glob("*.csv")):
                if vid in candidate.stem:
                    return candidate
    return None


def read_timestamps(path: Path) -> tuple[list[str], list[float]]:
    """(columns, timestamps in ms): our ``timestamp_from_zero_s`` column × 1000, else the first time column as is."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        lowered = [name.strip().lower() for name in header]
        if OUR_COLUMN in lowered:
            column, scale = lowered.index(OUR_COLUMN), 1000.0
        else:
            column = next((i for i, n in enumerate(lowered) if "timestamp" in n or "time" in n), -1)
            scale = 1.0
        if column < 0:
            return header, []
        values = []
        for row in reader:
            try:
                values.append(round(float(row[column]) * scale, 3))
            except (IndexError, ValueError):
                continue
        return header, values


class PlaybackLibrary:
    """The recordings people can play back, and the one loaded now."""

    def __init__(self, roots: AllowedRoots, listing_dirs: Sequence[Path], ffprobe_bin: str | None = None) -> None:
        self.roots = roots
        self.listing_dirs = list(dict.fromkeys(Path(d).expanduser() for d in listing_dirs))
        self._ffprobe = ffprobe_bin
        self._lock = threading.Lock()
        self._loaded: Path | None = None
        self._videos: dict[str, Video] = {}
        self._probed: dict[tuple[str, float, int], tuple[int | None, float | None]] = {}

    # -- listing ----------------------------------------------------------------------------------
    def recordings(self) -> list[dict[str, Any]]:
        """Every recording folder in the listing folders, newest name first."""
        entries = []
        for parent in self.listing_dirs:
            try:
                children = sorted((c for c in parent.iterdir() if c.is_dir()), key=lambda c: c.name, reverse=True)
            except OSError:
                continue
            for child in children:
                real = child.resolve()
                folder = video_folder(real) if self.roots.contains(real) else None
                if folder is not None:
                    entries.append(self._describe(real, folder))
        return entries

    def _describe(self, recording: Path, folder: Path) -> dict[str, Any]:
        videos = self._servable(folder)
        frames, duration = None, None
        for path in videos:
            count, seconds = self._frames_and_duration(recording, path)
            if count is not None and (frames is None or count > frames):
                frames, duration = count, seconds
        return {
            "name": recording.name,
            "path": str(recording),
            "video_count": len(videos),
            "total_size_bytes": sum(_size(p) for p in videos),
            "created_timestamp": _created(recording),
            "total_frames": frames,
            "duration_seconds": round(duration, 3) if duration else None,
            "fps": round(frames / duration, 3) if frames and duration else None,
        }

    def _servable(self, folder: Path, warn: bool = False) -> list[Path]:
        """The videos of ``folder`` that really lie inside the roots (a link out of them is left out)."""
        inside = []
        for path in video_files(folder):
            if self.roots.contains(path.resolve()):
                inside.append(path)
            elif warn:
                logger.warning("playback: %s links outside the allowed folders; not served", path)
        return inside

    def _frames_and_duration(self, recording: Path, video: Path) -> tuple[int | None, float | None]:
        """From the video's timestamp CSV when there is one, else from the container's header (ffprobe)."""
        csv_path = self._timestamps_csv(recording, video.stem)
        if csv_path is not None:
            try:
                _, values = read_timestamps(csv_path)
            except (OSError, csv.Error, UnicodeDecodeError):
                values = []
            if values:
                interval = (values[-1] - values[0]) / 1000.0 / max(1, len(values) - 1)
                return len(values), (values[-1] - values[0]) / 1000.0 + interval  # the last frame lasts too
        return self._probe(video)

    def _probe(self, video: Path) -> tuple[int | None, float | None]:
        try:
            stat = video.stat()
        except OSError:
            return None, None
        key = (str(video), stat.st_mtime, stat.st_size)
        if key not in self._probed:
            self._probed[key] = probe_frames(self._ffprobe, video)
        return self._probed[key]

    # -- loading --------------------------------------------------------------------------------
    def load(self, recording_path: str) -> dict[str, Any]:
        """Loads a recording folder (only under the allowed roots); its videos become playable."""
        recording = self.roots.resolve(recording_path)
        if not recording.is_dir():
            raise NotFound(f"no recording folder at {recording}")
        folder = video_folder(recording)
        servable = self._servable(folder, warn=True) if folder is not None else []
        videos = {path.stem: Video(path.stem, path.resolve()) for path in servable}
        if not videos:
            raise NotFound(f"no videos in {recording} or {recording / SYNCHRONIZED}")
        with self._lock:
            self._loaded, self._videos = recording, videos
        logger.info("playback: loaded %s (%d video(s))", recording, len(videos))
        return {
            "recording_path": str(recording),
            "videos": [
                {
                    "video_id": video.video_id,
                    "filename": video.path.name,
                    "size_bytes": _size(video.path),
                    "stream_url": f"/skellycam/playback/video/{video.video_id}",
                }
                for video in videos.values()
            ],
        }

    def video(self, vid: str) -> Video:
        """A loaded video, checked again against the roots; ``NotFound`` otherwise."""
        with self._lock:
            video = self._videos.get(vid)
        if video is None:
            raise NotFound(f"video {vid!r} is not in the loaded recording")
        try:
            real = resolve_inside(self.roots.roots, video.path, what="video")
        except NotFound:
            real = None
        if real != video.path:
            raise NotFound(f"video {vid!r} is no longer available")
        return video

    def _timestamps_csv(self, recording: Path, vid: str) -> Path | None:
        """The real path of ``vid``'s CSV when it lies inside the roots (a link out of them is no CSV)."""
        found = find_timestamps_csv(recording, vid)
        if found is None:
            return None
        try:
            return resolve_inside(self.roots.roots, found, what="timestamps file")
        except NotFound:
            logger.warning("playback: %s links outside the allowed folders; not read", found)
            return None

    # -- timestamps -----------------------------------------------------------------------------
    def timestamps(self) -> dict[str, Any]:
        """``{"timestamps": {video_id: [ms, ...]}}`` for each loaded video that has a CSV."""
        recording, videos = self._current()
        result: dict[str, list[float]] = {}
        for vid in videos:
            csv_path = self._timestamps_csv(recording, vid)
            if csv_path is None:
                continue
            try:
                _, values = read_timestamps(csv_path)
            except (OSError, csv.Error, UnicodeDecodeError) as exc:
                logger.warning("playback: cannot read %s: %s", csv_path, exc)
                continue
            result[vid] = values
        return {"timestamps": result}

    def timestamp_info(self, vid: str) -> dict[str, Any]:
        """What the CSV of one loaded video holds: where it is, its columns, frames, first/last, rate."""
        recording, videos = self._current()
        if vid not in videos:
            raise NotFound(f"video {vid!r} is not in the loaded recording")
        csv_path = self._timestamps_csv(recording, vid)
        if csv_path is None:
            raise NotFound(f"no timestamps CSV for {vid!r} in {recording}")
        columns, values = read_timestamps(csv_path)
        duration = (values[-1] - values[0]) / 1000.0 if len(values) > 1 else 0.0
        return {
            "video_id": vid,
            "timestamps_path": str(csv_path),
            "columns": columns,
            "frame_count": len(values),
            "first_timestamp_ms": values[0] if values else None,
            "last_timestamp_ms": values[-1] if values else None,
            "duration_seconds": round(duration, 6),
            "mean_fps": round((len(values) - 1) / duration, 3) if duration > 0 else None,
        }

    def _current(self) -> tuple[Path, dict[str, Video]]:
        with self._lock:
            if self._loaded is None:
                raise Conflict("no recording is loaded; POST /skellycam/playback/load first")
            return self._loaded, dict(self._videos)


def probe_frames(ffprobe_bin: str | None, video: Path) -> tuple[int | None, float | None]:
    """(frames, seconds) from the first video stream's header; (None, None) when unknown."""
    if not ffprobe_bin:
        return None, None
    args = [
        ffprobe_bin, "-v", "error", "-select_streams", "v:0",
        "-show_entries", "stream=nb_frames,duration:format=duration", "-of", "json", str(video),
    ]  # fmt: skip
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False).stdout
        info = json.loads(out or "{}")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None, None
    stream = (info.get("streams") or [{}])[0]
    frames = _number(stream.get("nb_frames"))
    duration = _number(stream.get("duration")) or _number(info.get("format", {}).get("duration"))
    return (int(frames) if frames else None), duration


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _created(recording: Path) -> str | None:
    """When the recording started (its statistics file), else the folder's modification time; local ISO."""
    for stats in sorted((recording / "timestamps").glob("*_statistics.json")):
        try:
            started = json.loads(stats.read_text(encoding="utf-8")).get("started_unix_s")
            if started:
                return datetime.fromtimestamp(float(started)).isoformat(timespec="seconds")
        except (OSError, ValueError, TypeError, AttributeError):
            continue
    try:
        return datetime.fromtimestamp(recording.stat().st_mtime).isoformat(timespec="seconds")
    except OSError:
        return None
