"""Test helper: real cache segments, written by ffmpeg exactly as the capture contract says."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from frigate_like.video.binaries import find_ffmpeg, find_ffprobe

SEGMENT_TIME = 5  # shorter than the daemon's 10 s to keep the tests short


CLIPS_CODECS = ("-c", "copy", "-an")
RECORD_CODECS = ("-c:v", "copy", "-c:a", "aac")  # the record role's default: audio kept


def segmenter_args(ffmpeg: str, source: Path, folder: Path, run: str, *, seconds: float,
                   read_rate: float | None, codecs: tuple[str, ...] = CLIPS_CODECS) -> list[str]:
    """The clips-role (or, with RECORD_CODECS, record-role) ffmpeg command of docs/internals.md."""
    pacing = [] if read_rate is None else ["-readrate", str(read_rate)]  # -readrate 1 == -re
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning", *pacing, "-i", str(source),
        "-t", str(seconds), *codecs,
        "-f", "segment", "-segment_time", str(SEGMENT_TIME), "-segment_format", "mp4",
        "-reset_timestamps", "1", "-strftime", "1",
        "-segment_list", str(folder / f"segments-{run}.csv"), "-segment_list_type", "csv",
        str(folder / "%Y%m%d%H%M%S.mp4"),
    ]


def start_segmenter(source: Path, folder: Path, *, seconds: float, read_rate: float | None,
                    codecs: tuple[str, ...] = CLIPS_CODECS, run: str | None = None) -> subprocess.Popen[bytes]:
    """Starts ffmpeg (TZ=UTC, as the capture process runs it) writing segments into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    run = run or str(int(time.time() * 1000))
    args = segmenter_args(find_ffmpeg(), source, folder, run, seconds=seconds, read_rate=read_rate, codecs=codecs)
    return subprocess.Popen(args, env={**os.environ, "TZ": "UTC"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def write_segments(source: Path, folder: Path, *, seconds: float, read_rate: float | None,
                   codecs: tuple[str, ...] = CLIPS_CODECS, run: str | None = None) -> None:
    """Runs the segmenter to the end; fails loudly if ffmpeg does."""
    process = start_segmenter(source, folder, seconds=seconds, read_rate=read_rate, codecs=codecs, run=run)
    _, stderr = process.communicate(timeout=seconds * 3 + 30)
    if process.returncode != 0:
        raise RuntimeError(f"segmenter failed: {stderr.decode(errors='replace')}")


def copy_cache(src: Path, dst: Path) -> Path:
    """A private copy of a segment folder (tests may delete and corrupt files in it)."""
    shutil.copytree(src, dst)
    return dst


def ffprobe() -> str:
    found = find_ffprobe()
    if found is None:
        raise RuntimeError("these tests need ffprobe")
    return found
