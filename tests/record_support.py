"""Test helpers for record/: a database with the real migrations, cache runs as ffmpeg leaves them, ffprobe."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import peewee as pw

from frigate_like.db.database import open_database
from frigate_like.migrations import MIGRATIONS_DIR
from tests.segment_footage import RECORD_CODECS, ffprobe, write_segments


@dataclass(frozen=True)
class DbSettings:
    path: Path
    url: str | None = None


def open_test_db(folder: Path) -> pw.Database:
    """A fresh SQLite file in ``folder`` with every migration applied and the models bound."""
    return open_database(DbSettings(path=folder / "frigate.db"), MIGRATIONS_DIR)


def run_name(at: float, launch: int = 0) -> str:
    """A capture run id (``<UTC time>-<pid>-<launch>``) as ``CameraCapture._launch`` makes them."""
    return f"{time.strftime('%Y%m%d%H%M%S', time.gmtime(at))}-4242-{launch}"


def fake_run(folder: Path, run: str, start: float, durations: list[float], size: int = 1000) -> list[Path]:
    """What a record ffmpeg run leaves in the cache: segment files named by their UTC open time, and its
    csv list (``name,start,end`` of the run's stream). The files hold filler bytes: nothing probes them."""
    folder.mkdir(parents=True, exist_ok=True)
    lines, paths, offset = [], [], 0.0
    for duration in durations:
        name = datetime.fromtimestamp(int(start + offset), UTC).strftime("%Y%m%d%H%M%S.mp4")
        path = folder / name
        path.write_bytes(b"\0" * size)
        paths.append(path)
        lines.append(f"{name},{offset:.6f},{offset + duration:.6f}\n")
        offset += duration
    (folder / f"segments-{run}.csv").write_text("".join(lines))
    return paths


def car_record_cache(cache: Path, shared_dir: Path) -> Path:
    """20 s of the car video (with its AAC audio) cut by a record-role ffmpeg at 4x speed: 4 segments."""
    write_segments(shared_dir / "media" / "car-detection.mp4", cache / "car" / "record", seconds=20,
                   read_rate=4, codecs=RECORD_CODECS, run=run_name(time.time()))
    return cache


def count_frames(path: Path) -> int:
    """Frames of the first video stream, decoded and counted (``ffprobe -count_frames``)."""
    out = subprocess.run(
        [ffprobe(), "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    return int(out.strip())


def streams(path: Path) -> dict[str, str]:
    """codec_type → codec_name of a media file."""
    out = subprocess.run(
        [ffprobe(), "-v", "error", "-show_entries", "stream=codec_type,codec_name", "-of", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return {s["codec_type"]: s["codec_name"] for s in json.loads(out)["streams"]}


def duration(path: Path) -> float:
    out = subprocess.run(
        [ffprobe(), "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return float(out.strip())


def decodes_cleanly(path: Path, ffmpeg: str) -> bool:
    """True when ffmpeg decodes every frame of every stream without an error."""
    result = subprocess.run(
        [ffmpeg, "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return result.returncode == 0 and not result.stderr.strip()
