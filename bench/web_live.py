"""The web UI's live grid on the real daemon: first paint in headless Chromium, and what extra viewers cost.

Runs ``frigate-like run`` with two looped cameras (the person and the car video, 5 fps). Part 1 opens
the grid ``--loads`` times in a fresh tab and reads, from the page, when every tile had drawn its
first frame (milliseconds since navigation started). Part 2 reads the daemon main process's CPU
time (the WebSocket hub and its JPEG encoder live there) while 0, 1, 2, 4 ... WebSocket clients
subscribe to every camera at the grid's 5 fps, as that many open tabs would.

    .venv/bin/python bench/web_live.py --loads 10 --clients 0 1 2 4 --seconds 20

Writes bench/results/web_live.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.browser import Page, chromium_browser  # noqa: E402
from tests.integration.daemon import SHARED, Daemon, demo_config  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
VIDEOS = {"person": "one-by-one-person-detection.mp4", "car": "car-detection.mp4"}
GRID_FPS = 5


def config(tmp: Path) -> dict[str, Any]:
    cfg = demo_config(tmp, loop=True, fps=5)
    cfg["logger"] = {"default": "warning"}
    template = cfg["cameras"].pop("demo")
    for name, video in VIDEOS.items():
        cam = json.loads(json.dumps(template))
        cam["ffmpeg"]["inputs"][0]["path"] = str(SHARED / "media" / video)
        cfg["cameras"][name] = cam
    return cfg


def first_paints(daemon: Daemon, tmp: Path, loads: int) -> list[float]:
    paints = []
    with chromium_browser(tmp) as browser:
        for _ in range(loads):
            page = Page(browser, f"http://127.0.0.1:{daemon.port}/#/live")
            page.wait_for(f"Object.keys(window.__live?.firstFrameAt || {{}}).length === {len(VIDEOS)}", 30, "frames")
            paints.append(float(page.evaluate("Math.max(...Object.values(window.__live.firstFrameAt))")))
            page.close()
            time.sleep(1)  # the hub goes idle again between loads
    return paints


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Client(threading.Thread):
    """One WebSocket viewer of every camera at the grid's rate; counts the frames it gets."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url = f"ws://127.0.0.1:{port}/skellycam/websocket/connect"
        self.stop, self.frames = stop, 0
        self.subscribed = threading.Event()

    def run(self) -> None:
        from websockets.sync.client import connect

        with connect(self.url, max_size=None) as ws:
            ws.send(json.dumps({"type": "subscribe", "cameras": None, "max_fps": GRID_FPS, "log_level": None}))
            self.subscribed.set()
            while not self.stop.is_set():
                try:
                    message = ws.recv(timeout=1)
                except TimeoutError:
                    continue
                if isinstance(message, bytes):
                    self.frames += 1


def viewers_cpu(daemon: Daemon, clients: int, seconds: float) -> dict[str, Any]:
    assert daemon.proc is not None
    stop = threading.Event()
    running = [Client(daemon.port, stop) for _ in range(clients)]
    for client in running:
        client.start()
        client.subscribed.wait(10)
    time.sleep(3)  # streaming
    before = [c.frames for c in running]
    cpu0, t0 = cpu_seconds(daemon.proc.pid), time.monotonic()
    time.sleep(seconds)
    cpu1, t1 = cpu_seconds(daemon.proc.pid), time.monotonic()
    got = [c.frames - b for c, b in zip(running, before, strict=True)]
    stop.set()
    for client in running:
        client.join(5)
    time.sleep(2)
    return {
        "clients": clients,
        "main_process_cpu_pct": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
        "frames_per_s_per_client": [round(n / (t1 - t0), 1) for n in got],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--clients", type=int, nargs="+", default=[0, 1, 2, 4])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "web_live.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fl-web-live-") as tmpdir:
        tmp = Path(tmpdir)
        daemon = Daemon(tmp, config(tmp))
        daemon.start()
        try:
            daemon.wait_for(
                lambda: all(daemon.get_json("/api/stats")[cam]["camera_fps"] > 3 for cam in VIDEOS), 60, what="frames"
            )
            paints = first_paints(daemon, tmp, args.loads)
            print(f"first paint of every tile: median {statistics.median(paints):.0f} ms, max {max(paints):.0f} ms")
            cpu = []
            for clients in args.clients:
                cpu.append(viewers_cpu(daemon, clients, args.seconds))
                print(cpu[-1])
        finally:
            daemon.terminate()
    report = {
        "load": os.getloadavg(),
        "first_paint_ms": [round(p) for p in paints],
        "first_paint_median_ms": round(statistics.median(paints)),
        "cpu": cpu,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
