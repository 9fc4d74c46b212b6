"""CPU of the daemon's main process serving live frames to MJPEG viewers and WebSocket clients.

Runs ``frigate-like run`` on one busy camera (the person video, looped, detect 768x432 @ 5 fps),
then for each scenario attaches viewers for a window and reads utime+stime of the main
process (where live frames are drawn and encoded) from /proc:

- ``none``: no viewer;
- ``mjpeg``: ``--viewers`` MJPEG viewers of the full-size stream (``/api/<camera>?h=432&fps=5``);
- ``websocket``: ``--viewers`` WebSocket clients (full size, every camera);
- ``both``: both kinds at once.

With one live pipeline, ``both`` costs about what one kind costs (one encode per frame
for all); with separate encoders it costs both. Run it on another checkout (``--source``:
a folder holding an older ``frigate_like``) to compare.

    .venv/bin/python bench/live_encode.py --viewers 2 --seconds 30
    .venv/bin/python bench/live_encode.py --source /tmp/base --out bench/results/live_encode_base.json

Writes bench/results/live_encode.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_per_camera import CLK_TCK, PERSON, REPO, _cpu_model, config_for, cpu_ticks, free_port  # noqa: E402

SCENARIOS = ("none", "mjpeg", "websocket", "both")
WS_PATH = "/skellycam/websocket/connect"


class Viewers:
    """MJPEG and WebSocket clients that read (and count) everything they are sent, until ``stop()``."""

    def __init__(self, port: int, mjpeg: int, websocket: int) -> None:
        self._stop = threading.Event()
        self.received = {"mjpeg": 0, "websocket": 0}
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._mjpeg, args=(port,), daemon=True) for _ in range(mjpeg)]
        self._threads += [threading.Thread(target=self._websocket, args=(port,), daemon=True) for _ in range(websocket)]
        for thread in self._threads:
            thread.start()

    def _count(self, kind: str, n: int) -> None:
        with self._lock:
            self.received[kind] += n

    def _mjpeg(self, port: int) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/cam0?h=432&fps=5", timeout=10) as response:
            while not self._stop.is_set():
                chunk = response.read1(65536)
                if not chunk:
                    return
                self._count("mjpeg", chunk.count(b"--frame\r\n"))

    def _websocket(self, port: int) -> None:
        with connect(f"ws://127.0.0.1:{port}{WS_PATH}", max_size=None) as ws:
            while not self._stop.is_set():
                try:
                    message = ws.recv(timeout=0.5)
                except TimeoutError:
                    continue
                if isinstance(message, bytes):
                    self._count("websocket", 1)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)


def run(source: Path, viewers: int, warmup: float, seconds: float) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="fl-bench-live-") as tmpdir:
        tmp = Path(tmpdir)
        port = free_port()
        config = config_for(tmp, 1, PERSON, port, 1)
        env = dict(os.environ, PYTHONPATH=str(source))
        proc = subprocess.Popen(
            [sys.executable, "-m", "frigate_like", "run", "-c", str(config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=source,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/version", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.5)
            time.sleep(warmup)
            for scenario in SCENARIOS:
                mjpeg = viewers if scenario in ("mjpeg", "both") else 0
                websocket = viewers if scenario in ("websocket", "both") else 0
                clients = Viewers(port, mjpeg, websocket)
                time.sleep(3.0)  # connected and streaming before the window opens
                before, t0 = cpu_ticks([proc.pid])[proc.pid], time.monotonic()
                received_before = dict(clients.received)
                time.sleep(seconds)
                elapsed = time.monotonic() - t0
                cpu = 100.0 * (cpu_ticks([proc.pid])[proc.pid] - before) / CLK_TCK / elapsed
                frames = {k: (clients.received[k] - received_before[k]) / elapsed for k in clients.received}
                clients.stop()
                row = {"scenario": scenario, "mjpeg_viewers": mjpeg, "websocket_clients": websocket,
                       "main_process_cpu_percent": cpu, "frames_per_second_received": frames}  # fmt: skip
                rows.append(row)
                print(f"{scenario:9} main process {cpu:5.1f}% of a core; frames/s received {frames}", flush=True)
                time.sleep(2.0)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=2, help="viewers of each kind")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--source", type=Path, default=REPO, help="folder holding the frigate_like to run")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "live_encode.json")
    args = parser.parse_args()
    rows = run(args.source, args.viewers, args.warmup, args.seconds)
    machine = {"cpu": _cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
               "load_average": os.getloadavg()}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "args": {k: str(v) for k, v in vars(args).items()},
                                    "results": rows}, indent=2))  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
