"""LiteRT vs OpenVINO vs ONNX Runtime, in one invocation: inference, whole-daemon CPU, cameras held in real time.

1. ``invoke``: per runtime, 1 and 2 threads, batch 1 and 4: ms of wall time (p50) and
   ms of this process's CPU time per image for a whole detection (inference + decode/NMS
   for the raw runtimes), the variants built once and timed in alternating blocks.
   A batch a runtime refuses is reported with its error.
2. ``daemon``: ``frigate-like run`` with N cameras (768x432 @ 5 fps, busy = the person
   video, idle = its empty first 5 s, looped), CPU of every process of the daemon
   (ffmpeg included) from /proc, per camera; the runtimes alternate within each
   (mode, cameras) pair.
3. ``realtime``: busy cameras on the runtime with the least busy CPU in (2), adding
   cameras until one run is not held: held = ``skipped_fps`` 0 for every camera in every
   /api/stats sample of the window.

Every section records ``uptime`` before and after (the machine may be shared).

    .venv/bin/python bench/runtimes.py                         # everything (~30 min)
    .venv/bin/python bench/runtimes.py --sections invoke
    .venv/bin/python bench/runtimes.py --sections daemon --cameras 1 4 --seconds 40
    .venv/bin/python bench/runtimes.py --sections realtime --realtime 12 16 20 24
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.cpu_per_camera import (  # noqa: E402
    PERSON,
    _cpu_model,
    config_for,
    make_idle_clip,
    measure,
    start_daemon,
    stop_daemon,
    wait_for_api,
)
from bench.detector_overhead import SHARED  # noqa: E402
from frigate_like.config import ModelConfig  # noqa: E402
from frigate_like.detect.api import Detector  # noqa: E402
from frigate_like.detect.runtimes import Candidate, create_detector  # noqa: E402
from frigate_like.detect.ssd import RawSSDDetector  # noqa: E402
from frigate_like.detect.tflite import Interpreter  # noqa: E402
from frigate_like.errors import DetectorUnavailable  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "runtimes.json"
RUNTIMES = {"litert": "cpu", "openvino": "openvino", "onnx": "onnx"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


# --- 1. inference ------------------------------------------------------------------------------


def litert_batch(model: ModelConfig, threads: int, batch: int) -> Callable[[np.ndarray], object]:
    """LiteRT with its input resized to ``batch`` images (XNNPACK may refuse: the error is the answer)."""
    interpreter = Interpreter(model_path=str(model.path), num_threads=threads)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, [batch, model.height, model.width, 3])
    interpreter.allocate_tensors()

    def run(images: np.ndarray) -> object:
        interpreter.set_tensor(index, images)
        interpreter.invoke()
        return None

    return run


def build_variant(
    model: ModelConfig, runtime: str, threads: int, batch: int, cache: Path
) -> Callable[[np.ndarray], object]:
    if runtime == "litert" and batch > 1:
        return litert_batch(model, threads, batch)
    if runtime == "openvino" and batch > 1:
        from frigate_like.detect.ov_runtime import OpenVINODetector

        ov = OpenVINODetector(model, Candidate("openvino", None, threads), batch=batch)
        return ov.detect_batch
    detector: Detector = create_detector(model, Candidate(RUNTIMES[runtime], None, threads), cache_dir=cache)
    if batch > 1:
        assert isinstance(detector, RawSSDDetector)
        return detector.detect_batch
    return lambda images: detector.detect_raw(images[0])


def bench_invoke(model: ModelConfig, image: np.ndarray, rounds: int, block: int, cache: Path) -> dict[str, Any]:
    variants: dict[str, tuple[Callable[[np.ndarray], object], np.ndarray]] = {}
    refused: dict[str, str] = {}
    for runtime in RUNTIMES:
        for threads in (1, 2):
            for batch in (1, 4):
                name = f"{runtime} threads={threads} batch={batch}"
                try:
                    fn = build_variant(model, runtime, threads, batch, cache)
                    images = np.repeat(image[np.newaxis], batch, axis=0)
                    fn(images)
                except (RuntimeError, ValueError, DetectorUnavailable) as exc:
                    refused[name] = str(exc).strip().splitlines()[0][:200]
                    continue
                variants[name] = (fn, images)
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for fn, images in variants.values():  # warm-up
        for _ in range(5):
            fn(images)
    for _ in range(rounds):
        for name, (fn, images) in variants.items():
            c0 = time.process_time()
            for _ in range(block):
                started = time.perf_counter()
                fn(images)
                wall[name].append((time.perf_counter() - started) / images.shape[0])
            cpu[name].append((time.process_time() - c0) / (block * images.shape[0]))
    return {
        "per_image_ms": {
            name: {
                "wall_p50": round(float(np.median(wall[name])) * 1e3, 2),
                "cpu_mean": round(float(np.mean(cpu[name])) * 1e3, 2),
            }
            for name in variants
        },
        "refused": refused,
    }


# --- 2. and 3. the daemon ----------------------------------------------------------------------


def daemon_config(folder: Path, cameras: int, video: Path, port: int, runtime: str) -> Path:
    path = config_for(folder, cameras, video, port, 1)
    cfg = yaml.safe_load(path.read_text())
    cfg["detectors"] = {"det": {"type": RUNTIMES[runtime], "num_threads": 1}}
    path.write_text(yaml.safe_dump(cfg))
    return path


def held_in_real_time(port: int, seconds: float) -> tuple[bool, float]:
    """Sample /api/stats every 5 s for ``seconds``: (no camera ever skipped, worst skipped_fps sum)."""
    worst, started = 0.0, time.monotonic()
    while time.monotonic() - started < seconds:
        time.sleep(5.0)
        stats = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats", timeout=10).read())
        worst = max(worst, sum(v["skipped_fps"] for k, v in stats.items() if k.startswith("cam")))
    return worst == 0.0, worst


def run_daemon(
    tmp: Path, tag: str, cameras: int, video: Path, runtime: str, warmup: float, seconds: float
) -> dict[str, Any]:
    folder = tmp / tag
    folder.mkdir()
    port = free_port()
    before = uptime()
    figures = measure(daemon_config(folder, cameras, video, port, runtime), port, warmup, seconds)
    cams = [v for k, v in figures["stats"].items() if k.startswith("cam")]
    return {
        "runtime": runtime,
        "cameras": cameras,
        "cpu_percent_per_camera": round(figures["cpu_percent_total"] / cameras, 2),
        "cpu_percent_by_kind": {k: round(v, 2) for k, v in figures["cpu_percent_by_kind"].items()},
        "detections_per_second_per_camera": round(sum(c["detection_fps"] for c in cams) / cameras, 2),
        "skipped_fps": sum(c["skipped_fps"] for c in cams),
        "inference_ms": [d["inference_speed"] for d in figures["stats"].get("detectors", {}).values()],
        "uptime_before": before,
        "uptime_after": uptime(),
    }


def realtime_trial(tmp: Path, cameras: int, runtime: str, warmup: float, seconds: float) -> dict[str, Any]:
    folder = tmp / f"realtime-{cameras}"
    folder.mkdir()
    port = free_port()
    config = daemon_config(folder, cameras, PERSON, port, runtime)
    before = uptime()
    proc = start_daemon(config)
    try:
        wait_for_api(port, 120)
        time.sleep(warmup)
        held, worst = held_in_real_time(port, seconds)
    finally:
        stop_daemon(proc, 60)
    return {"cameras": cameras, "held": held, "worst_skipped_fps": worst, "uptime_before": before, "after": uptime()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", nargs="+", default=["invoke", "daemon", "realtime"])
    parser.add_argument("--rounds", type=int, default=10, help="invoke: blocks per variant")
    parser.add_argument("--block", type=int, default=10, help="invoke: calls per block")
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--modes", nargs="+", default=["busy", "idle"])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument("--realtime", type=int, nargs="+", default=[12, 16, 20, 24, 28])
    parser.add_argument("--realtime-seconds", type=float, default=60.0, help="window with skipped_fps 0 to be held")
    parser.add_argument("--realtime-runtime", default=None, help="default: the least busy CPU in the daemon section")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    model = ModelConfig(path=SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite", width=300, height=300)
    bgr = cv2.imread(str(SHARED / "media" / "grace_hopper.bmp"))
    assert bgr is not None
    image = np.ascontiguousarray(cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (300, 300)))
    result: dict[str, Any] = {
        "machine": {"cpu": _cpu_model(), "lscpu": lscpu_model()},
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")

    with tempfile.TemporaryDirectory(prefix="fl-runtimes-") as tmpdir:
        tmp = Path(tmpdir)
        if "invoke" in args.sections:
            before = uptime()
            result["invoke"] = bench_invoke(model, image, args.rounds, args.block, tmp / "models")
            result["invoke"]["uptime"] = [before, uptime()]
            print(json.dumps(result["invoke"], indent=2), flush=True)
            save()
        if "daemon" in args.sections:
            from frigate_like.video.binaries import find_ffmpeg

            idle = make_idle_clip(tmp, find_ffmpeg())
            rows = []
            for mode in args.modes:
                for n in args.cameras:
                    for runtime in RUNTIMES:  # alternate the runtimes within each pair
                        row = run_daemon(
                            tmp, f"{mode}-{n}-{runtime}", n, PERSON if mode == "busy" else idle, runtime,
                            args.warmup, args.seconds,
                        )  # fmt: skip
                        row["mode"] = mode
                        rows.append(row)
                        print(json.dumps(row), flush=True)
                        result["daemon"] = rows
                        save()
        if "realtime" in args.sections:
            runtime = args.realtime_runtime or best_runtime(result.get("daemon", []))
            trials = []
            for n in args.realtime:
                trial = realtime_trial(tmp, n, runtime, args.warmup, args.realtime_seconds)
                trials.append(trial)
                print(json.dumps(trial), flush=True)
                result["realtime"] = {"runtime": runtime, "trials": trials}
                save()
                if not trial["held"]:
                    break
            held = [t["cameras"] for t in trials if t["held"]]
            result["realtime"]["largest_held"] = max(held) if held else None
            save()
    print(f"wrote {args.out}")


def best_runtime(rows: list[dict[str, Any]]) -> str:
    busy = [r for r in rows if r["mode"] == "busy" and r["cameras"] == max((x["cameras"] for x in rows), default=0)]
    return min(busy, key=lambda r: r["cpu_percent_per_camera"])["runtime"] if busy else "litert"


def lscpu_model() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "")


if __name__ == "__main__":
    main()
