"""Events the real daemon makes of the person video (six visits), at the given detect fps.

Plays the video once in real time through ``frigate-like run`` (demo config, private
media folder), stops the daemon with SIGTERM after the video ends and reads the events
from its SQLite file. Snapshot quality: the real model looks at each event's snapshot
again (the whole frame, letterboxed to a square, as the daemon feeds a region) and
reports the best person score it finds there.

    .venv/bin/python bench/events_per_visit.py --fps 5 10

Writes bench/results/events_per_visit.json and prints one line per run.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from frigate_like.config import DetectorConfig, ModelConfig  # noqa: E402
from frigate_like.detect.api import ModelSpec  # noqa: E402
from frigate_like.detect.tflite import LiteRTDetector  # noqa: E402
from frigate_like.track.regions import yuv_region_to_rgb  # noqa: E402
from tests.integration.daemon import SHARED, Daemon, demo_config  # noqa: E402

PERSON = 0  # label index of "person" in the COCO labelmap


def snapshot_person_score(detector: LiteRTDetector, path: Path) -> float:
    """The best person score the model gives the snapshot at ``path`` (0.0 when it finds none)."""
    bgr = cv2.imread(str(path))
    if bgr is None:
        return 0.0
    height, width = bgr.shape[:2]
    frame = cv2.cvtColor(bgr[: height - height % 2, : width - width % 2], cv2.COLOR_BGR2YUV_I420)
    tensor = np.empty(detector.spec.input_shape, dtype=np.uint8)
    side = max(width, height)
    rows = detector.detect_raw(yuv_region_to_rgb(frame, (0, 0, side, side), tensor))
    scores = rows[rows[:, 0] == PERSON, 1]
    return round(float(scores.max()), 3) if scores.size else 0.0


def model_detector() -> LiteRTDetector:
    model = ModelConfig(path=SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite", width=300, height=300)
    return LiteRTDetector(model, DetectorConfig(type="cpu", num_threads=1), spec=ModelSpec(300, 300))


VIDEO_SECONDS = 139.0


def run_once(fps: int, source: Path | None = None) -> dict[str, Any]:
    """One run; ``source``: a folder holding another frigate_like for the daemon (a worktree of older code)."""
    with tempfile.TemporaryDirectory(prefix="fl-visits-") as tmpdir:
        tmp = Path(tmpdir)
        env = {} if source is None else {"PYTHONPATH": str(source)}
        daemon = Daemon(tmp, demo_config(tmp, loop=False, fps=fps), env=env)
        daemon.start()
        daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["process_fps"] > 0, 60, what="frames")
        first_frame = time.time()
        time.sleep(VIDEO_SECONDS + 6 - 5)  # process_fps needs ~5 s of frames before it is non-zero
        stats = daemon.get_json("/api/stats")
        code, took = daemon.terminate()
        with sqlite3.connect(daemon.db_path) as conn:
            rows = conn.execute("SELECT id, start_time, end_time, top_score FROM event ORDER BY start_time").fetchall()
        detector = model_detector()
        clips = Path(daemon.cfg["paths"]["media_dir"]) / "clips"
        snapshot_scores = [snapshot_person_score(detector, clips / f"demo-{r[0]}.jpg") for r in rows]
        start = first_frame - 5
        return {
            "fps": fps,
            "events": len(rows),
            "starts_s": [round(r[1] - start, 1) for r in rows],
            "lengths_s": [round((r[2] or 0) - r[1], 1) for r in rows],
            "top_scores": [round(r[3], 3) for r in rows],
            "snapshot_person_scores": snapshot_scores,
            "exit_code": code,
            "shutdown_s": round(took, 2),
            "detection_fps_at_end": stats["demo"]["detection_fps"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fps", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--source", type=Path, help="run the daemon of this tree (default: this one)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "events_per_visit.json")
    args = parser.parse_args()
    results = []
    for fps in args.fps:
        result = run_once(fps, args.source)
        results.append(result)
        print(
            f"{fps} fps: {result['events']} events, starts {result['starts_s']} s, "
            f"snapshot person scores {result['snapshot_person_scores']}, "
            f"shutdown {result['shutdown_s']} s (exit {result['exit_code']})",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
