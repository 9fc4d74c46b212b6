"""Why is the same inference slower inside the detector process than in a tight loop? Placement experiments.

All on the shared model, LiteRT, one XNNPACK thread, the same input; blocks of each
variant alternate so that the neighbours' load hits them alike. Per variant and call:
the wall time of ``detect_raw`` where it runs, and from ``/proc/.../schedstat`` of the
thread that runs it, the CPU time it got and the time it sat runnable waiting for a core
(preempted by other processes; on a shared machine that is where wall time goes):

- ``loop``: back to back in this process (how ``bench/detector_overhead.py`` times ``invoke``);
- ``loop, 1 ms idle between``: the same with the thread sleeping 1 ms between calls, as a
  detector does while the camera prepares the next region (CPU idle states, caches);
- ``loop, caches flushed between``: 64 MB written between calls (what the camera's
  motion, colour conversion and ffmpeg do to the caches while the detector waits);
- ``detector process, client on the same core`` / ``on the other core``: through the hub,
  both processes pinned with ``sched_setaffinity``; unpinned as the daemon runs.

Writes bench/results/detector_placement.json.

    .venv/bin/python bench/detector_placement.py [--n 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.detector_overhead import SHARED  # noqa: E402
from frigate_like.config import DetectorConfig, ModelConfig  # noqa: E402
from frigate_like.detect.client import DetectorClient  # noqa: E402
from frigate_like.detect.process import DetectorHub  # noqa: E402
from frigate_like.detect.tflite import LiteRTDetector  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "detector_placement.json"


def schedstat(path: str) -> tuple[int, int]:
    """(ns on a CPU, ns waiting runnable) of one thread."""
    on_cpu, waiting, _ = Path(path).read_text().split()
    return int(on_cpu), int(waiting)


def per_call_ms(samples: list[tuple[float, int, int]]) -> dict[str, float]:
    wall, cpu, wait = (np.array(column, dtype=np.float64) for column in zip(*samples, strict=True))
    return {
        "wall_p50": round(float(np.median(wall)) * 1e3, 3),
        "cpu_mean": round(float(cpu.mean()) / 1e6, 3),
        "runnable_wait_mean": round(float(wait.mean()) / 1e6, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="timed inferences per variant")
    parser.add_argument("--block", type=int, default=20)
    args = parser.parse_args()
    model = ModelConfig(path=SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite", width=300, height=300)
    cpu = DetectorConfig(type="cpu", num_threads=1)
    image = cv2.imread(str(SHARED / "media" / "grace_hopper.bmp"))
    assert image is not None
    tensor = np.ascontiguousarray(cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (300, 300)))
    detector = LiteRTDetector(model, cpu)
    flush = np.empty(64 << 20, np.uint8)
    cores = sorted(os.sched_getaffinity(0))
    me = os.getpid()

    hub = DetectorHub(model, {"cpu": cpu}, ["bench"])
    hub.start()
    client = DetectorClient(hub.channel("bench"))
    client.input[:] = tensor
    child = int(hub.stats()["cpu"]["pid"] or 0)
    metrics = hub.metrics["cpu"]

    own = f"/proc/self/task/{threading.get_native_id()}/schedstat"
    theirs = f"/proc/{child}/schedstat"

    def local(gap: str) -> tuple[float, int, int]:
        if gap == "sleep":
            time.sleep(0.001)
        elif gap == "flush":
            flush.fill(1)
        cpu, wait = schedstat(own)
        started = time.perf_counter()
        detector.detect_raw(tensor)
        elapsed = time.perf_counter() - started
        cpu_after, wait_after = schedstat(own)
        return elapsed, cpu_after - cpu, wait_after - wait

    def remote(placement: str) -> tuple[float, int, int]:
        if placement == "same" and len(cores) > 1:
            os.sched_setaffinity(child, {cores[0]})
            os.sched_setaffinity(me, {cores[0]})
        elif placement == "other" and len(cores) > 1:
            os.sched_setaffinity(child, {cores[1]})
            os.sched_setaffinity(me, {cores[0]})
        else:
            os.sched_setaffinity(child, cores)
            os.sched_setaffinity(me, cores)
        before_busy, before_n = metrics.busy_seconds.value, metrics.detections.value
        cpu, wait = schedstat(theirs)
        client.detect()
        cpu_after, wait_after = schedstat(theirs)
        elapsed = (metrics.busy_seconds.value - before_busy) / max(1, metrics.detections.value - before_n)
        return elapsed, cpu_after - cpu, wait_after - wait

    variants: dict[str, Any] = {
        "loop": lambda: local("none"),
        "loop, 1 ms idle between": lambda: local("sleep"),
        "loop, caches flushed between": lambda: local("flush"),
        "detector process, unpinned": lambda: remote("free"),
        "detector process, client on the same core": lambda: remote("same"),
        "detector process, client on the other core": lambda: remote("other"),
    }
    samples: dict[str, list[tuple[float, int, int]]] = {name: [] for name in variants}
    try:
        for fn in variants.values():
            for _ in range(10):
                fn()
        while len(samples["loop"]) < args.n:
            for name, fn in variants.items():
                samples[name] += [fn() for _ in range(args.block)]
    finally:
        os.sched_setaffinity(me, cores)
        client.close()
        hub.stop()
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    result = {
        "uptime": load,
        "cores": cores,
        "n": args.n,
        "per_call_ms": {name: per_call_ms(values) for name, values in samples.items()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
