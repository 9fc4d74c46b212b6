"""CPU cost of keeping detection apart from storage: one ffmpeg per input vs detect + segment ffmpegs.

Runs the commands ``video.ffmpeg`` builds for a camera with detect, clips and record on one input,
on the person video (768x432, 10 fps) decoded as fast as it goes for ``--seconds`` of footage,
(a) as one ffmpeg with all outputs (Frigate 0.8's layout) and (b) as the two ffmpegs the capture
now runs, and sums their user+system CPU time. Each layout runs ``--repeat`` times; medians.

    nice -n 10 .venv/bin/python bench/split_capture_cpu.py --seconds 60 --repeat 3

Writes bench/results/split_capture_cpu.json and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from frigate_like.config import config_from_dict  # noqa: E402
from frigate_like.video.binaries import find_ffmpeg  # noqa: E402
from frigate_like.video.ffmpeg import active_roles, build_command, ffmpeg_env, process_roles  # noqa: E402

SHARED = REPO.parent / "shared"
PERSON = SHARED / "media" / "one-by-one-person-detection.mp4"


def camera(seconds: float) -> Any:
    raw = {
        "model": {
            "path": str(SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite"),
            "labelmap_path": str(SHARED / "models" / "coco_labelmap.txt"),
        },
        "cameras": {
            "bench": {
                "ffmpeg": {
                    "inputs": [{"path": str(PERSON), "roles": ["detect", "clips", "record"]}],
                    "input_args": f"-t {seconds:g}",  # as fast as it decodes: CPU per second of footage
                },
                "width": 768,
                "height": 432,
                "fps": 5,
                "record": {"enabled": True},
            }
        },
    }
    return config_from_dict(raw).cameras["bench"]


def run_layout(groups: list[tuple[str, ...]], seconds: float) -> float:
    """CPU seconds (user + system) of running the commands of ``groups`` side by side to the end."""
    cam = camera(seconds)
    inp = cam.ffmpeg.inputs[0]
    with tempfile.TemporaryDirectory(prefix="split-cpu-") as cache:
        procs = []
        before = os.times()
        for roles in groups:
            command = build_command(cam, inp, Path(cache), find_ffmpeg(), f"{time.time_ns()}", roles)
            assert command is not None
            for role in roles:
                if role != "detect":
                    (Path(cache) / "bench" / role).mkdir(parents=True, exist_ok=True)
            procs.append(
                subprocess.Popen(command.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ffmpeg_env())
            )
        for proc in procs:
            assert proc.wait() == 0, proc.args
        after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of footage per run")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cam = camera(args.seconds)
    inp = cam.ffmpeg.inputs[0]
    layouts = {"one ffmpeg": [active_roles(cam, inp)], "detect + segments": process_roles(cam, inp, split=True)}
    runs: dict[str, list[float]] = {name: [] for name in layouts}
    for _ in range(args.repeat):
        for name, groups in layouts.items():  # interleaved: machine load drifts alike for both
            runs[name].append(run_layout(groups, args.seconds))
    medians = {name: statistics.median(values) for name, values in runs.items()}
    extra = medians["detect + segments"] - medians["one ffmpeg"]
    result = {
        "cpu_model": platform.processor() or _cpu_model(),
        "load_before": os.getloadavg(),
        "footage_seconds": args.seconds,
        "cpu_seconds": runs,
        "median_cpu_seconds": medians,
        "extra_cpu_seconds_per_footage_second": extra / args.seconds,
        "extra_percent": 100.0 * extra / medians["one ffmpeg"],
    }
    out = REPO / "bench" / "results" / "split_capture_cpu.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, value in medians.items():
        print(f"{name:>18}: {value:.2f} CPU s for {args.seconds:g} s of footage ({value / args.seconds:.3f} cores)")
    print(f"extra: {extra / args.seconds * 100:.2f} % of one core ({result['extra_percent']:.1f} % more); {out}")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    main()
