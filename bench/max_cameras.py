"""How many busy cameras this machine holds in real time: our daemon at N cameras, for each N given.

Each run is side_by_side.py's busy setup (person video looped, 768x432 @ 5 fps, detect + clips,
snapshots, one detector thread, MQTT on) with N cameras. After ``--warmup`` it samples
``/api/stats`` every 5 s for ``--seconds`` and reports, over the cameras, the lowest mean
``camera_fps`` and ``process_fps``, the total ``skipped_fps`` (frames the capture dropped because
the camera process was behind), detector calls per camera-second (to compare with 1 camera:
a detector that falls behind answers fewer) and the detector's ``inference_speed``.
A camera is held in real time when its camera_fps and process_fps stay at ~5 and nothing is skipped.

    .venv/bin/python bench/max_cameras.py --cameras 4 8 12 --seconds 45 --warmup 20
    .venv/bin/python bench/max_cameras.py --cameras 24 28 --source /work/wt-before   # another tree's daemon

With several ``--source`` trees, each N runs once per tree, the trees in turn (alternating order by N).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_per_camera import PERSON, REPO, free_port, start_daemon, stop_daemon, wait_for_api  # noqa: E402
from side_by_side import config_for, get_stats, loadavg  # noqa: E402


def run(tmp: Path, n: int, mqtt_port: int, warmup: float, seconds: float, source: Path = REPO) -> dict[str, Any]:
    port = free_port()
    run_dir = Path(tempfile.mkdtemp(prefix=f"n{n}-", dir=tmp))
    proc = start_daemon(config_for(run_dir, n, PERSON, port, mqtt_port), source)
    try:
        wait_for_api(port, 120)
        time.sleep(warmup)
        load_start = loadavg()
        samples: dict[str, dict[str, list[float]]] = {}
        inference: list[float] = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            time.sleep(5.0)
            stats = get_stats(port)
            for name, entry in stats.items():
                if not name.startswith("cam"):
                    continue
                per = samples.setdefault(name, {"camera_fps": [], "process_fps": [], "skipped_fps": [], "det": []})
                per["camera_fps"].append(float(entry["camera_fps"]))
                per["process_fps"].append(float(entry["process_fps"]))
                per["skipped_fps"].append(float(entry["skipped_fps"]))
                per["det"].append(float(entry["detection_fps"]))
            inference.extend(float(d.get("inference_speed", 0.0)) for d in stats.get("detectors", {}).values())
        means = {cam: {k: statistics.fmean(v) for k, v in per.items()} for cam, per in samples.items()}
        return {
            "cameras": n,
            "source": str(source),
            "min_camera_fps": round(min(m["camera_fps"] for m in means.values()), 2),
            "min_process_fps": round(min(m["process_fps"] for m in means.values()), 2),
            "skipped_fps_total": round(sum(m["skipped_fps"] for m in means.values()), 2),
            "detector_calls_per_camera_second": round(statistics.fmean(m["det"] for m in means.values()), 3),
            "inference_ms": round(statistics.fmean(inference), 2) if inference else None,
            "load_start": load_start,
            "load_end": loadavg(),
        }
    finally:
        stop_daemon(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--source", type=Path, nargs="+", default=[REPO], help="trees whose daemon runs")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "max_cameras.json")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="fl-maxcam-") as tmpdir:
        for index, n in enumerate(args.cameras):
            for source in args.source if index % 2 == 0 else list(reversed(args.source)):
                row = run(Path(tmpdir), n, args.mqtt_port, args.warmup, args.seconds, source.resolve())
                rows.append(row)
                print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"args": vars(args), "runs": rows}, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
