"""Checks of what a daemon run left behind: events in its SQLite file, clips, snapshots, processes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from frigate_like.record.clips import ClipWriter
from frigate_like.record.deferred import DeferredClips
from frigate_like.video.binaries import find_ffmpeg, find_ffprobe
from tests.integration.daemon import SHARED

MODEL = SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite"


def db_events(db_path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM event ORDER BY start_time").fetchall()
    return [dict(row) for row in rows]


def event_clip(clips_dir: Path, camera: str, event_id: str) -> Path:
    """The event's clip file: an event keeps only its footage when it ends (record/deferred.py), so
    the clip is cut here exactly as its first request would (a daemon stopped serves no request)."""
    name = f"{camera}-{event_id}.mp4"
    DeferredClips(clips_dir, ClipWriter(find_ffmpeg(), ffprobe_bin=find_ffprobe())).ensure(name)
    return clips_dir / name


def clip_duration(path: Path) -> float:
    ffprobe = find_ffprobe()
    assert ffprobe, "ffprobe is needed to check clips"
    out = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


def person_score(jpg_path: Path) -> float:
    """Runs the real model over a snapshot as the daemon's detector sees a frame: undistorted squares
    (the left, middle and right frame-high squares), never the whole frame squashed to 300x300,
    which the detector is never shown. The best person score."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(MODEL), num_threads=1)
    interpreter.allocate_tensors()
    image = cv2.imread(str(jpg_path))
    assert image is not None, f"{jpg_path} is not a readable image"
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    height, width = rgb.shape[:2]
    side = min(height, width)
    best = 0.0
    for left in sorted({0, (width - side) // 2, width - side}):
        tensor = cv2.resize(rgb[:side, left : left + side], (300, 300))[np.newaxis]
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
        interpreter.invoke()
        outputs = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
        classes, scores = outputs[1][0], outputs[2][0]
        best = max([best, *(float(s) for c, s in zip(classes, scores, strict=True) if int(c) == 0)])
    return best


def is_gone(pid: int) -> bool:
    """True when no live process has this pid (gone, or a zombie waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, their children...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return {p for p in found if not is_gone(p)}
