"""Live video at camera quality: what viewers of live.mp4, of the RTSP restream and of the JPEG WebSocket cost.

A 1280×720 15 fps H.264 camera (lavfi testsrc, a key frame a second) is served by the tests' GStreamer RTSP
server; the daemon detects at 640×360 5 fps and records (clips + record), so every reader goes through the
restream. The daemon's CPU (its whole process tree: main process, camera process, ffmpegs, the restream
server) is read from /proc over ``--seconds`` with 0, 1 and 8 viewers of each kind:

- ``live.mp4``: HTTP readers of /api/<camera>/live.mp4 (one ffmpeg and one fan-out serve them all);
- ``rtsp``: ``ffmpeg -c copy -f null`` readers of rtsp://127.0.0.1:<port>/<camera> (not the daemon's processes);
- ``websocket``: WebSocket clients of the JPEG live view (bench/web_live.py's client) at 5 fps.

Delay: frames are told apart by their bytes (copied, never re-encoded, a frame's slice data is the same
everywhere). A direct reader of the camera and a reader of live.mp4 (and one of the restream) note when each
frame arrives; the delay is the later arrival minus the direct one, i.e. what the daemon's path adds.

    .venv/bin/python bench/live_view.py --seconds 15

Writes bench/results/live_view.json and prints a table.
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
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from cpu_per_camera import _cpu_model, cpu_ticks, descendants  # noqa: E402
from web_live import CLK_TCK  # noqa: E402
from web_live import Client as WebSocketClient  # noqa: E402

from frigate_like.restream import fmp4  # noqa: E402
from frigate_like.restream.live import LIVE_MOVFLAGS  # noqa: E402
from tests.integration.daemon import Daemon, free_port  # noqa: E402
from tests.integration.rtsp_camera import rtsp_server  # noqa: E402
from tests.integration.test_live_view import camera_config, make_source  # noqa: E402


def tree_cpu(root: int) -> float:
    return sum(cpu_ticks(descendants(root)).values()) / CLK_TCK


class HttpViewer(threading.Thread):
    """A live.mp4 reader; with ``arrivals``, notes when each frame (by its last bytes) arrived."""

    def __init__(self, url: str, stop: threading.Event, arrivals: dict[bytes, float] | None = None) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.arrivals, self.bytes = url, stop, arrivals, 0

    def run(self) -> None:
        reader = fmp4.BoxReader()
        with urllib.request.urlopen(self.url, timeout=10) as response:
            while not self.stop.is_set():
                chunk = response.read1(1 << 16)
                if not chunk:
                    return
                self.bytes += len(chunk)
                if self.arrivals is not None:
                    now = time.monotonic()
                    for box in reader.feed(chunk):
                        if box.kind == b"mdat":
                            self.arrivals.setdefault(box.data[-256:], now)


class FfmpegViewer(threading.Thread):
    """An RTSP reader through ffmpeg; with ``arrivals``, remuxed to fMP4 on a pipe and each frame noted."""

    def __init__(self, url: str, stop: threading.Event, arrivals: dict[bytes, float] | None = None) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.arrivals = url, stop, arrivals

    def run(self) -> None:
        out = ["-f", "mp4", "-movflags", LIVE_MOVFLAGS, "-flush_packets", "1", "pipe:1"] if self.arrivals is not None else ["-f", "null", "-"]  # noqa: E501
        proc = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", self.url,
             "-map", "0:v:0", "-c", "copy", *out],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert proc.stdout is not None
        reader = fmp4.BoxReader()
        try:
            while not self.stop.is_set():
                chunk = os.read(proc.stdout.fileno(), 1 << 16) if self.arrivals is not None else b""
                if self.arrivals is None:
                    self.stop.wait(0.5)
                    continue
                if not chunk:
                    return
                now = time.monotonic()
                for box in reader.feed(chunk):
                    if box.kind == b"mdat":
                        self.arrivals.setdefault(box.data[-256:], now)
        finally:
            proc.terminate()
            proc.wait(5)
            proc.stdout.close()


def measure(daemon: Daemon, kind: str, viewers: int, seconds: float, restream: str) -> dict[str, Any]:
    assert daemon.proc is not None
    stop = threading.Event()
    running: list[threading.Thread] = []
    for _ in range(viewers):
        if kind == "live.mp4":
            running.append(HttpViewer(f"http://127.0.0.1:{daemon.port}/api/demo/live.mp4", stop))
        elif kind == "rtsp":
            running.append(FfmpegViewer(restream, stop))
        else:
            running.append(WebSocketClient(daemon.port, stop))
    for viewer in running:
        viewer.start()
    time.sleep(4)  # connected and streaming
    cpu0, t0 = tree_cpu(daemon.proc.pid), time.monotonic()
    time.sleep(seconds)
    cpu1, t1 = tree_cpu(daemon.proc.pid), time.monotonic()
    stats = daemon.get_json("/api/stats")["demo"]
    stop.set()
    for viewer in running:
        viewer.join(10)
    time.sleep(2)
    row = {
        "kind": kind, "viewers": viewers, "daemon_cpu_pct": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
        "live_viewers": stats.get("live_viewers"), "restream_clients": stats.get("restream_clients"),
        "camera_fps": stats.get("camera_fps"),
    }  # fmt: skip
    print(row, flush=True)
    return row


def delays(camera: str, daemon: Daemon, restream: str, seconds: float) -> dict[str, Any]:
    """Arrival of each frame at live.mp4 and at the restream minus its arrival at a direct reader of the camera."""
    stop = threading.Event()
    direct: dict[bytes, float] = {}
    live: dict[bytes, float] = {}
    relayed: dict[bytes, float] = {}
    readers = [
        FfmpegViewer(camera, stop, direct),
        HttpViewer(f"http://127.0.0.1:{daemon.port}/api/demo/live.mp4", stop, live),
        FfmpegViewer(restream, stop, relayed),
    ]
    for reader in readers:
        reader.start()
    time.sleep(seconds)
    stop.set()
    for reader in readers:
        reader.join(10)
    result: dict[str, Any] = {}
    for name, seen in (("live.mp4", live), ("restream", relayed)):
        lags = sorted(seen[key] - direct[key] for key in seen.keys() & direct.keys())
        if lags:
            result[name] = {
                "frames": len(lags), "median_ms": round(1000 * statistics.median(lags)),
                "p95_ms": round(1000 * lags[int(0.95 * (len(lags) - 1))]), "max_ms": round(1000 * lags[-1]),
            }  # fmt: skip
    print("delay after a direct reader of the camera:", result, flush=True)
    return result


KINDS = ("live.mp4", "rtsp", "websocket")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="which viewers to measure")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "live_view.json")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="fl-live-view-") as tmpdir:
        tmp = Path(tmpdir)
        source = make_source(tmp / "camera.mp4", seconds=int(60 + 7 * (args.seconds + 8) * len(args.viewers)))
        camera_port = free_port()
        cfg = camera_config(tmp, camera_port, token=None)
        cfg["logger"] = {"default": "warning"}
        restream = f"rtsp://127.0.0.1:{cfg['restream']['rtsp_port']}/demo"
        daemon = Daemon(tmp, cfg)
        with rtsp_server(camera_port, source):
            daemon.start()
            try:
                daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["live_streaming"], 60, what="live")
                time.sleep(5)
                rows.append(measure(daemon, "none", 0, args.seconds, restream))
                for kind in args.kinds:
                    for viewers in args.viewers:
                        rows.append(measure(daemon, kind, viewers, args.seconds, restream))
                delay = delays(f"rtsp://127.0.0.1:{camera_port}/cam", daemon, restream, args.seconds)
            finally:
                daemon.terminate()
    base = rows[0]["daemon_cpu_pct"]
    for row in rows[1:]:
        row["per_viewer_pct"] = round((row["daemon_cpu_pct"] - base) / row["viewers"], 2)
    machine = {"cpu": _cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
               "load_before_and_after": os.getloadavg()}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "cpu": rows, "delay": delay}, indent=2))
    print(f"{'kind':10} {'viewers':>7} {'daemon CPU %':>12} {'per viewer %':>12}")
    for row in rows:
        print(f"{row['kind']:10} {row['viewers']:>7} {row['daemon_cpu_pct']:>12} {row.get('per_viewer_pct', ''):>12}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
