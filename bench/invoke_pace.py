"""Why a paced ``invoke()`` costs more CPU than a back-to-back one: the model's CPU per call at several paces.

The daemon calls the detector about 1.1 times a second per busy camera, idle in between; round 1 of
issue 21 measured the bare ``Interpreter.invoke()`` at 14.3 ms of CPU per call at that pace, and the
runtimes bench 7.2 ms back to back. This runs the shared SSD model (LiteRT, one XNNPACK thread) on one
real frame crop, in blocks that alternate:

- ``back_to_back``: calls one after another;
- ``paced_<rate>``: ``rate`` calls a second, sleeping in between (as in the daemon);
- ``paced_<rate>+spin``: the same while another process spins on the other core (keeps the machine out
  of idle states, touches no memory);
- ``paced_<rate>+thrash``: the same while another process streams through 64 MB (evicts the caches).

CPU per call is the thread's CPU time (``time.thread_time``) around ``invoke()``, so sleeping and the
neighbours cost nothing here; the median per variant is reported.

    .venv/bin/python bench/invoke_pace.py --rounds 3 --calls 40

Writes ``bench/results/invoke_pace.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from frigate_like.detect.tflite import Interpreter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from cpu_per_camera import _cpu_model  # noqa: E402

SHARED = ROOT.parent / "shared"


def _spin(stop: mp.synchronize.Event) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def _thrash(stop: mp.synchronize.Event) -> None:
    block = np.ones(64 * 1024 * 1024 // 8)
    while not stop.is_set():
        block += 1.0


@contextmanager
def neighbour(kind: str | None) -> Iterator[None]:
    if kind is None:
        yield
        return
    stop = mp.Event()
    proc = mp.Process(target=_spin if kind == "spin" else _thrash, args=(stop,), daemon=True)
    proc.start()
    time.sleep(0.5)
    try:
        yield
    finally:
        stop.set()
        proc.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=40, help="calls per variant and round")
    parser.add_argument("--rate", type=float, default=5.0, help="calls a second when paced")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "invoke_pace.json")
    args = parser.parse_args()
    interpreter = Interpreter(model_path=str(SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite"), num_threads=1)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    _, height, width, _ = detail["shape"]
    frame = cv2.imread(str(SHARED / "media" / "cat_720p.jpg"))
    if frame is None:
        raise SystemExit(f"cannot read {SHARED / 'media' / 'cat_720p.jpg'}")
    interpreter.set_tensor(detail["index"], cv2.resize(frame, (width, height))[np.newaxis].astype(np.uint8))
    for _ in range(10):
        interpreter.invoke()
    pace = f"paced_{args.rate:g}"
    variants: dict[str, tuple[float, str | None]] = {
        "back_to_back": (0.0, None),
        pace: (1.0 / args.rate, None),
        f"{pace}+spin": (1.0 / args.rate, "spin"),
        f"{pace}+thrash": (1.0 / args.rate, "thrash"),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    loads = [os.getloadavg()[0]]
    for round_ in range(args.rounds):
        order = list(variants) if round_ % 2 == 0 else list(reversed(variants))
        for name in order:
            interval, kind = variants[name]
            with neighbour(kind):
                for _ in range(args.calls):
                    if interval:
                        time.sleep(interval)
                    started = time.thread_time()
                    interpreter.invoke()
                    samples[name].append(time.thread_time() - started)
        loads.append(os.getloadavg()[0])
    summary = {name: round(1000 * statistics.median(values), 2) for name, values in samples.items()}
    report = {"cpu_model": _cpu_model(), "cpus": os.cpu_count(), "load_1min": loads, "calls": args.calls,
              "rounds": args.rounds, "cpu_ms_per_call_median": summary,
              "samples_ms": {k: [round(1000 * v, 3) for v in vs] for k, vs in samples.items()}}  # fmt: skip
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for name, value in summary.items():
        print(f"{name:20s} {value:6.2f} ms of CPU per call")
    print(f"load {loads}; wrote {args.out}")


if __name__ == "__main__":
    main()
