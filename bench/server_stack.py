"""The HTTP server stack of two checkouts side by side (issue 23): latency, 64 MJPEG viewers, a stalled client.

Runs the real daemon (the looped person video at 5 fps) from each ``--checkout`` in turn, with that checkout's
own ``.venv``, alternating over ``--rounds``, and measures on each:

- p50/p99 of ``--requests`` sequential keep-alive GETs of ``/api/events?limit=25``, ``/api/stats`` and
  ``/api/demo/latest.jpg``;
- 64 concurrent MJPEG viewers (``/api/demo?fps=5``): the frames each one received per second;
- one client that opens the MJPEG stream and never reads, beside 8 viewers: the viewers' frame rate
  meanwhile, and when the server let go of the stalled connection (its send timeout is 30 s, counted
  once the socket buffers are full; None: still held after 90 s).

    .venv/bin/python bench/server_stack.py --checkout ../wt-main --checkout . --rounds 2

Writes bench/results/server_stack.json (with the CPU model and the load averages) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.daemon import Daemon, demo_config  # noqa: E402

CAMERA = "demo"
CAMERA_FPS = 5
VIEWERS = 64
STALL_VIEWERS = 8
FRAME_MARK = b"Content-Type: image/jpeg"
SEND_TIMEOUT_S = 30.0  # api/bridge.py's, the same in both checkouts


def cpu_model() -> str:
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(base: str, path: str, count: int) -> dict[str, Any]:
    with requests.Session() as session:
        for _ in range(10):  # warm-up: the connection, caches
            session.get(base + path, timeout=10).raise_for_status()
        times = []
        for _ in range(count):
            started = time.perf_counter()
            session.get(base + path, timeout=10).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return {"path": path, "p50_ms": round(statistics.median(times), 2), "p99_ms": round(percentile(times, 0.99), 2)}


class Viewer(threading.Thread):
    """Reads one MJPEG stream; remembers when each frame began."""

    def __init__(self, url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.stop = url, stop
        self.frames: list[float] = []
        self.error: str | None = None

    def run(self) -> None:
        tail = b""
        try:
            with requests.get(self.url, stream=True, timeout=30) as response:
                if response.status_code != 200:
                    self.error = f"HTTP {response.status_code}: {response.raw.read(300).decode(errors='replace')}"
                    return
                while not self.stop.is_set():
                    chunk = response.raw.read(16384)
                    if not chunk:
                        self.error = "stream ended"
                        return
                    data = tail + chunk
                    self.frames += [time.monotonic()] * data.count(FRAME_MARK)
                    tail = data[-(len(FRAME_MARK) - 1) :]
        except (requests.RequestException, OSError) as exc:
            self.error = str(exc)

    def fps(self, start: float, end: float) -> float:
        return sum(1 for t in self.frames if start <= t < end) / (end - start)


def watch(url: str, count: int, warmup: float, seconds: float) -> tuple[list[float], list[str]]:
    stop = threading.Event()
    viewers = [Viewer(url, stop) for _ in range(count)]
    for viewer in viewers:
        viewer.start()
    time.sleep(warmup)
    start = time.monotonic()
    time.sleep(seconds)
    end = time.monotonic()
    stop.set()
    for viewer in viewers:
        viewer.join(15)
    return [round(v.fps(start, end), 2) for v in viewers], [v.error for v in viewers if v.error]


def camera_fps(base: str) -> float:
    """What the camera itself delivers now: the viewers cannot get more."""
    return float(requests.get(f"{base}/api/stats", timeout=10).json()[CAMERA]["camera_fps"])


def http_connections(base: str) -> int:
    return int(requests.get(f"{base}/api/stats", timeout=10).json()["service"]["http"]["connections"])


def streams_free(base: str, timeout: float = 60) -> None:
    """Waits until the previous viewers' streams are closed on the server (an MJPEG request gets 200 again)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with requests.get(f"{base}/api/{CAMERA}?fps={CAMERA_FPS}", stream=True, timeout=10) as probe:
            if probe.status_code == 200 and http_connections(base) <= 2:
                return
        time.sleep(1)
    raise RuntimeError("the MJPEG viewers of the last phase are still open")


def stalled_client(base: str, port: int, seconds: float, wait: float) -> dict[str, Any]:
    streams_free(base)
    before = http_connections(base)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", port))
    stalled.sendall(f"GET /api/{CAMERA}?fps={CAMERA_FPS} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())  # never read
    opened = time.monotonic()
    try:
        fps, errors = watch(f"{base}/api/{CAMERA}?fps={CAMERA_FPS}", STALL_VIEWERS, 3.0, seconds)
        dropped_after = None
        while time.monotonic() - opened < wait:  # the viewers have gone: is the stalled one still held?
            if http_connections(base) <= before:
                dropped_after = round(time.monotonic() - opened, 1)
                break
            time.sleep(1)
    finally:
        stalled.close()
    return {
        "viewers_fps_min": min(fps), "viewers_fps_median": statistics.median(fps), "viewer_errors": errors,
        "stalled_dropped_after_s": dropped_after, "waited_s": wait,
    }  # fmt: skip


def measure(checkout: Path, requests_per_path: int, seconds: float) -> dict[str, Any]:
    python = checkout / ".venv" / "bin" / "python"
    package = subprocess.run([str(python), "-c", "import frigate_like; print(frigate_like.__file__)"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="fl-server-stack-") as tmpdir:
        tmp = Path(tmpdir)
        cfg = demo_config(tmp, loop=True, fps=CAMERA_FPS)
        cfg["logger"] = {"default": "warning"}
        daemon = Daemon(tmp, cfg, command=[str(python), "-m", "frigate_like"])
        result: dict[str, Any] = {"checkout": str(checkout), "commit": commit, "package": package}
        daemon.start()
        try:
            daemon.wait_for(lambda: daemon.get_json("/api/stats")[CAMERA]["camera_fps"] > 3, 60, what="frames")
            base = f"http://127.0.0.1:{daemon.port}"
            result["load_before"] = os.getloadavg()
            paths = ["/api/events?limit=25", "/api/stats", f"/api/{CAMERA}/latest.jpg"]
            result["latency"] = [latency(base, path, requests_per_path) for path in paths]
            fps, errors = watch(f"{base}/api/{CAMERA}?fps={CAMERA_FPS}", VIEWERS, 5.0, seconds)
            result["mjpeg"] = {"viewers": VIEWERS, "asked_fps": CAMERA_FPS, "fps_min": min(fps),
                               "fps_median": statistics.median(fps), "errors": errors[:5],
                               "camera_fps_after": camera_fps(base)}  # fmt: skip
            result["stalled"] = stalled_client(base, daemon.port, seconds, SEND_TIMEOUT_S + 60)
            result["stalled"]["camera_fps_after"] = camera_fps(base)
            result["load_after"] = os.getloadavg()
        finally:
            code, took = daemon.terminate()
            result["exit"] = {"code": code, "seconds": round(took, 2)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkout", type=Path, action="append", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "server_stack.json")
    args = parser.parse_args()
    runs = []
    for round_number in range(args.rounds):
        for checkout in args.checkout:
            run = measure(checkout.resolve(), args.requests, args.seconds)
            run["round"] = round_number
            runs.append(run)
            lat = ", ".join(f"{r['path']} {r['p50_ms']}/{r['p99_ms']} ms" for r in run["latency"])
            print(f"[{round_number}] {run['commit']}: p50/p99 {lat}; 64 MJPEG fps min {run['mjpeg']['fps_min']} "
                  f"median {run['mjpeg']['fps_median']}; stalled: {run['stalled']}; exit {run['exit']}; "
                  f"load {run['load_before'][0]:.2f}", flush=True)  # fmt: skip
    report = {"cpu": cpu_model(), "cores": os.cpu_count(), "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
