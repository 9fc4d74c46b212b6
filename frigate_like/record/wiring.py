"""Builds the recording parts from the config: the 24/7 maintainer with its retention, the NVR reads,
manual recordings and playback (``app.py`` starts the maintainer's thread; the camera registry's
subscribers give the maintainer and the manual recorder their cameras)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from frigate_like.config import CameraConfig, FrigateConfig
from frigate_like.db import queries
from frigate_like.db import recordings as rows
from frigate_like.record.export import RecordingExporter
from frigate_like.record.layout import migrate_layout
from frigate_like.record.maintainer import RecordingMaintainer
from frigate_like.record.manual import ManualRecorder
from frigate_like.record.nvr import Recordings
from frigate_like.record.playback import PlaybackLibrary
from frigate_like.record.retention import ClipWindow, Retention
from frigate_like.record.roots import DEFAULT_RECORDINGS_DIR, AllowedRoots
from frigate_like.video.binaries import find_ffprobe


@dataclass
class RecordingParts:
    maintainer: RecordingMaintainer
    retention: Retention  # run by the maintainer's thread
    recordings: Recordings
    manual: ManualRecorder
    playback: PlaybackLibrary


def segment_time(args: list[str], default: float) -> float:
    """The ``-segment_time`` of a role's output args."""
    try:
        return float(args[args.index("-segment_time") + 1])
    except (ValueError, IndexError):
        return default


def build_recording_parts(
    cfg: FrigateConfig, cameras: Mapping[str, CameraConfig], ffmpeg_bin: str, stop: threading.Event
) -> RecordingParts:
    """Everything of ``record/`` for one daemon, with no camera yet (the registry adds them).

    ``cameras``: the running cameras' configs, read at each request and each retention pass
    (``CameraRegistry.configs``).
    """
    media = Path(cfg.paths.media_dir)
    migrate_layout(media / "recordings", rows)  # before anything reads or writes recordings
    ffprobe_bin = find_ffprobe()
    exporter = RecordingExporter(media / "exports", rows, ffmpeg_bin, min_free_mb=cfg.record.min_free_mb)
    retention = Retention(
        rows,
        media / "recordings",
        cameras=cameras,  # each pass reads the running cameras' resolved record and clips settings
        default_retain_days=cfg.record.retain_days,  # a camera no longer running: the global values
        min_free_mb=cfg.record.min_free_mb,
        default_clip_window=ClipWindow(max_seconds=cfg.clips.max_seconds),
        spare=exporter.release,  # low disk space takes stored exports before any recording
    )
    maintainer = RecordingMaintainer(
        Path(cfg.paths.cache_dir), media / "recordings", rows, stop, retention=retention, ffprobe_bin=ffprobe_bin
    )
    roots = AllowedRoots([media, *cfg.paths.recordings_roots], Path(DEFAULT_RECORDINGS_DIR))
    return RecordingParts(
        maintainer=maintainer,
        retention=retention,
        recordings=Recordings(cameras, maintainer.segment_time, rows, queries, exporter),
        manual=ManualRecorder([], roots, ffmpeg_bin),
        playback=PlaybackLibrary(roots, [roots.base, *cfg.paths.recordings_roots], ffprobe_bin),
    )
