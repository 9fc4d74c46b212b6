"""Checks of what a daemon run left behind: events in its SQLite file, clips, snapshots, processes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from frigate_like.video.binaries import find_ffprobe
from tests.integration.daemon import SHARED

MODEL = SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite"


def db_events(db_path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM event ORDER BY start_time").fetchall()
    return [dict(row) for row in rows]


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
    """Runs the real model over a whole snapshot; the best person score."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(MODEL), num_threads=1)
    interpreter.allocate_tensors()
    image = cv2.imread(str(jpg_path))
    assert image is not None, f"{jpg_path} is not a readable image"
    tensor = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (300, 300))[np.newaxis]
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
    interpreter.invoke()
    outputs = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
    classes, scores = outputs[1][0], outputs[2][0]
    return max((float(s) for c, s in zip(classes, scores, strict=True) if int(c) == 0), default=0.0)


def is_gone(pid: int) -> bool:
    """True when no live process has this pid (gone, or a zombie waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
