"""Benchmark: what a detection costs through the detector process compared with invoking the model in place.

Measures, on the shared COCO SSD model with one XNNPACK thread:
- ``invoke``: ``Interpreter.invoke()`` alone, in this process;
- ``detect_raw``: ``LiteRTDetector.detect_raw()`` in this process (input copy + invoke + rows);
- ``client``: ``DetectorClient.detect()`` through a ``DetectorHub`` with one detector process;
and, with no model at all, the round trip of three IPC designs (ours, SimpleQueue + Semaphore,
and Frigate 0.8's mp.Queue + mp.Event) so the wire's own cost is visible.

The three model timings run interleaved in blocks so that drift (clock, cache, neighbours)
hits them alike. Writes ``bench/results/detector_overhead.json``.

    .venv/bin/python bench/detector_overhead.py [--n 500] [--warmup 50]

``--paced RATE`` measures CPU instead of wall time, at the daemon's pace (RATE calls per second,
idle in between, so caches are as cold as in the daemon): the bare ``invoke()`` in this process
(its CPU time per call: the floor) against a call through the detector process (that process's
utime+stime from /proc per call, everything in it counted: the wire, post-processing, metrics,
its liveness thread), alternating in blocks; plus that process's CPU per second with no call
at all. Writes ``bench/results/detector_cpu_per_call.json``.

    .venv/bin/python bench/detector_overhead.py --paced 5 --n 150
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import queue
import statistics
import time
from collections.abc import Callable
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from frigate_like.config import DetectorConfig, ModelConfig
from frigate_like.detect.channel import RequestQueue
from frigate_like.detect.client import DetectorClient
from frigate_like.detect.process import DetectorHub
from frigate_like.detect.tflite import Interpreter, LiteRTDetector

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
RESULTS = ROOT / "bench" / "results" / "detector_overhead.json"


def summary(samples_s: list[float]) -> dict[str, float]:
    ms = np.array(samples_s) * 1000.0
    return {
        "mean_ms": round(float(ms.mean()), 4),
        "p50_ms": round(float(np.percentile(ms, 50)), 4),
        "p95_ms": round(float(np.percentile(ms, 95)), 4),
    }


def timed(fn: Callable[[], object], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"nproc": mp.cpu_count(), "cpu": cpu, "python": platform.python_version()}


# --- the IPC designs alone: a responder that answers at once -------------------------------


def _echo_pipe(requests: RequestQueue, responses: list[Any], stop: Any) -> None:
    while not stop.value:
        request = requests.get(1.0)
        if request is not None and request[0] >= 0:
            responses[request[0]].release()


def _echo_simple_queue(requests: Any, responses: list[Any]) -> None:
    while (index := requests.get()) >= 0:
        responses[index].release()


def _echo_frigate(requests: Any, events: list[Any]) -> None:
    while True:
        try:
            index = requests.get(timeout=1.0)
        except queue.Empty:
            continue
        if index < 0:
            return
        events[index].set()


def ipc_alternatives(ctx: BaseContext, n: int, warmup: int) -> dict[str, dict[str, float]]:
    results = {}

    stop = ctx.RawValue("b", 0)
    pipe, sem = RequestQueue(ctx), ctx.Semaphore(0)
    proc = ctx.Process(target=_echo_pipe, args=(pipe, [sem], stop))  # type: ignore[attr-defined]
    proc.start()

    def pipe_round_trip() -> None:
        pipe.put(0, 1)
        sem.acquire(timeout=2.0)

    timed(pipe_round_trip, warmup)
    results["pipe_semaphore (ours)"] = summary(timed(pipe_round_trip, n))
    stop.value = 1
    pipe.put(-1, 0)
    proc.join()
    pipe.close()

    simple, sem = ctx.SimpleQueue(), ctx.Semaphore(0)
    proc = ctx.Process(target=_echo_simple_queue, args=(simple, [sem]))  # type: ignore[attr-defined]
    proc.start()

    def simple_round_trip() -> None:
        simple.put(0)
        sem.acquire(timeout=2.0)

    timed(simple_round_trip, warmup)
    results["simplequeue_semaphore"] = summary(timed(simple_round_trip, n))
    simple.put(-1)
    proc.join()

    frigate_queue, event = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_echo_frigate, args=(frigate_queue, [event]))  # type: ignore[attr-defined]
    proc.start()

    def frigate_round_trip() -> None:
        frigate_queue.put(0)
        event.wait(timeout=2.0)
        event.clear()

    timed(frigate_round_trip, warmup)
    results["queue_event (frigate 0.8)"] = summary(timed(frigate_round_trip, n))
    frigate_queue.put(-1)
    proc.join()
    frigate_queue.close()
    frigate_queue.join_thread()
    return results


# --- the model: in place vs through the detector process ------------------------------------


def process_cpu(pid: int) -> float:
    """utime+stime of process ``pid`` in seconds (every thread of it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def paced(interpreter: Any, client: DetectorClient, pid: int, rate: float, n: int, block: int) -> dict[str, Any]:
    """CPU per call at ``rate`` calls/s: bare invoke (this thread's CPU) and through the detector (its process's)."""
    gap = 1.0 / rate
    bare: list[float] = []
    hub_cpu = 0.0
    hub_calls = 0
    while hub_calls < n:
        size = min(block, n - hub_calls)
        for _ in range(size):
            started = time.thread_time()
            interpreter.invoke()
            bare.append(time.thread_time() - started)
            time.sleep(gap)
        before = process_cpu(pid)
        for _ in range(size):
            client.detect()
            time.sleep(gap)
        hub_cpu += process_cpu(pid) - before
        hub_calls += size
    before = process_cpu(pid)
    time.sleep(10.0)
    idle = (process_cpu(pid) - before) / 10.0
    floor = statistics.fmean(bare) * 1000.0
    through = hub_cpu / hub_calls * 1000.0
    return {
        "rate_per_s": rate,
        "calls": hub_calls,
        "bare_invoke_cpu_ms_per_call": round(floor, 3),
        "detector_process_cpu_ms_per_call": round(through, 3),
        "overhead_cpu_ms_per_call": round(through - floor, 3),
        "detector_process_idle_cpu_ms_per_s": round(idle * 1000.0, 3),
        "note": "/proc CPU has clock-tick (10 ms) resolution: blocks of calls are summed, not single calls",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="timed detections per variant")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--block", type=int, default=50, help="interleave variants in blocks of this size")
    parser.add_argument("--paced", type=float, help="CPU per call at this many calls per second (see above)")
    args = parser.parse_args()

    model_file = SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite"
    model = ModelConfig(path=model_file, width=300, height=300)
    cpu = DetectorConfig(type="cpu", num_threads=1)
    image = cv2.imread(str(SHARED / "media" / "grace_hopper.bmp"))
    assert image is not None, "cannot read grace_hopper.bmp"
    tensor = np.ascontiguousarray(cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (300, 300)))

    interpreter = Interpreter(model_path=str(model_file), num_threads=1)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor[np.newaxis])
    in_process = LiteRTDetector(model, cpu)

    hub = DetectorHub(model, {"cpu": cpu}, ["bench"])
    hub.start()
    client = DetectorClient(hub.channel("bench"))
    try:
        client.input[:] = tensor
        assert np.array_equal(client.detect(), in_process.detect_raw(tensor)), "results differ"
        if args.paced:
            pid = hub.stats()["cpu"]["pid"]
            assert isinstance(pid, int)
            for _ in range(args.warmup):
                interpreter.invoke()
                client.detect()
            figures = paced(interpreter, client, pid, args.paced, args.n, args.block) | {"machine": machine()}
            figures["load"] = Path("/proc/loadavg").read_text().split()[:3]
            out = RESULTS.with_name("detector_cpu_per_call.json")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(figures, indent=2) + "\n")
            print(json.dumps(figures, indent=2))
            return

        variants: dict[str, Callable[[], object]] = {
            "invoke": interpreter.invoke,
            "detect_raw": lambda: in_process.detect_raw(tensor),
            "client": client.detect,
        }
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for fn in variants.values():
            timed(fn, args.warmup)
        metrics = hub.metrics["cpu"]
        detections, busy = metrics.detections.value, metrics.busy_seconds.value
        while len(samples["client"]) < args.n:
            size = min(args.block, args.n - len(samples["client"]))
            for name, fn in variants.items():
                samples[name] += timed(fn, size)
        # The detector process's own detect_raw time for exactly the timed requests.
        in_child_ms = (metrics.busy_seconds.value - busy) / (metrics.detections.value - detections) * 1000.0
        detector_speed = hub.stats()["cpu"]["inference_speed"]
    finally:
        client.close()
        hub.stop()

    figures = {name: summary(values) for name, values in samples.items()}
    mean = {name: statistics.fmean(values) * 1000.0 for name, values in samples.items()}
    median = {name: statistics.median(values) * 1000.0 for name, values in samples.items()}
    result = {
        "machine": machine(),
        "model": model_file.name,
        "num_threads": 1,
        "n": args.n,
        "warmup": args.warmup,
        "timings": figures,
        "detector_inference_speed_ema_ms": detector_speed,
        "detect_raw_in_detector_process_mean_ms": round(in_child_ms, 4),
        "overhead_ms": {
            "wire (client - detect_raw in the detector), mean": round(mean["client"] - in_child_ms, 4),
            "client - detect_raw in this process, mean": round(mean["client"] - mean["detect_raw"], 4),
            "client - detect_raw in this process, p50": round(median["client"] - median["detect_raw"], 4),
            "total (client - invoke), mean": round(mean["client"] - mean["invoke"], 4),
            "total (client - invoke), p50": round(median["client"] - median["invoke"], 4),
        },
        "ipc_round_trip_no_model": ipc_alternatives(mp.get_context("spawn"), args.n * 4, args.warmup),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
