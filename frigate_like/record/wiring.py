"""Builds the recording parts from the config: the 24/7 maintainer with its retention, the NVR reads,
manual recordings and playback (``app.py`` starts the maintainer's thread and wires the rest)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from frigate_like.db import queries
from frigate_like.db import recordings as rows
from frigate_like.record.camera_writer import CameraSource
from frigate_like.record.export import RecordingExporter
from frigate_like.record.layout import migrate_layout
from frigate_like.record.maintainer import RecordCamera, RecordingMaintainer
from frigate_like.record.manual import ManualRecorder
from frigate_like.record.nvr import Recordings
from frigate_like.record.playback import PlaybackLibrary
from frigate_like.record.retention import ClipWindow, Retention
from frigate_like.record.roots import DEFAULT_RECORDINGS_DIR, AllowedRoots
from frigate_like.video.binaries import find_ffprobe

FrameReader = Callable[[int, float], "np.ndarray | None"]


@dataclass
class RecordingParts:
    maintainer: RecordingMaintainer
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
    cfg: Any,
    ffmpeg_bin: str,
    stop: threading.Event,
    frame_reader: Callable[[str], FrameReader],
    upstream_drops: Callable[[str], Callable[[], int]],
) -> RecordingParts:
    """Everything of ``record/`` for one daemon; ``cfg`` is the loaded FrigateConfig."""
    media = Path(cfg.paths.media_dir)
    migrate_layout(media / "recordings", rows)  # before anything reads or writes recordings
    ffprobe_bin = find_ffprobe()
    recording = {
        name: RecordCamera(name, segment_time(cam.ffmpeg.output_args.get("record", []), 60.0))
        for name, cam in cfg.cameras.items()
        if cam.record.enabled and cam.input_for("record") is not None
    }
    retention = Retention(
        rows,
        media / "recordings",
        retain_days={name: cam.record.retain_days for name, cam in cfg.cameras.items()},
        default_retain_days=cfg.record.retain_days,
        min_free_mb=cfg.record.min_free_mb,
        clip_windows={n: ClipWindow(c.clips.pre_capture, c.clips.max_seconds) for n, c in cfg.cameras.items()},
    )
    maintainer = RecordingMaintainer(
        recording, Path(cfg.paths.cache_dir), media / "recordings", rows, stop,
        retention=retention, ffprobe_bin=ffprobe_bin,
    )  # fmt: skip
    exporter = RecordingExporter(media / "exports", rows, ffmpeg_bin)
    segment_times = {name: cam.segment_time for name, cam in recording.items()}
    roots = AllowedRoots([media, *cfg.paths.recordings_roots], Path(DEFAULT_RECORDINGS_DIR))
    sources = [
        CameraSource(name, index, cam.fps, frame_reader(name), upstream_drops(name))
        for index, (name, cam) in enumerate(cfg.cameras.items())
        if cam.input_for("detect") is not None
    ]
    return RecordingParts(
        maintainer=maintainer,
        recordings=Recordings(cfg.cameras, segment_times, rows, queries, exporter),
        manual=ManualRecorder(sources, roots, ffmpeg_bin),
        playback=PlaybackLibrary(roots, [roots.base, *cfg.paths.recordings_roots], ffprobe_bin),
    )
