"""Events the real daemon makes of the person video (six visits), at the given detect fps.

Plays the video once in real time through ``frigate-like run`` (demo config, private
media folder), stops the daemon with SIGTERM after the video ends and reads the events
from its SQLite file.

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

from tests.integration.daemon import Daemon, demo_config  # noqa: E402

VIDEO_SECONDS = 139.0


def run_once(fps: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fl-visits-") as tmpdir:
        tmp = Path(tmpdir)
        daemon = Daemon(tmp, demo_config(tmp, loop=False, fps=fps))
        daemon.start()
        daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["process_fps"] > 0, 60, what="frames")
        first_frame = time.time()
        time.sleep(VIDEO_SECONDS + 6 - 5)  # process_fps needs ~5 s of frames before it is non-zero
        stats = daemon.get_json("/api/stats")
        code, took = daemon.terminate()
        with sqlite3.connect(daemon.db_path) as conn:
            rows = conn.execute("SELECT start_time, end_time, top_score FROM event ORDER BY start_time").fetchall()
        start = first_frame - 5
        return {
            "fps": fps,
            "events": len(rows),
            "starts_s": [round(r[0] - start, 1) for r in rows],
            "lengths_s": [round((r[1] or 0) - r[0], 1) for r in rows],
            "top_scores": [round(r[2], 3) for r in rows],
            "exit_code": code,
            "shutdown_s": round(took, 2),
            "detection_fps_at_end": stats["demo"]["detection_fps"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fps", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "events_per_visit.json")
    args = parser.parse_args()
    results = []
    for fps in args.fps:
        result = run_once(fps)
        results.append(result)
        print(
            f"{fps} fps: {result['events']} events, starts {result['starts_s']} s, "
            f"shutdown {result['shutdown_s']} s (exit {result['exit_code']})",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
