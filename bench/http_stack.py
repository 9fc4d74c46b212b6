"""The HTTP stack before and after a change, side by side: latency, 64 MJPEG viewers, a stalled client.

Each tree (``--before``, ``--after``: checkouts of this repository) runs as the real daemon on the looped
person video (``python -m frigate_like run`` with ``PYTHONPATH=<tree>``), over the same SQLite file
pre-filled with ``--events`` events (real migrations, real thumbnails), alternating in one run (order
swapped each round). Per run:

- **latency**: ``--requests`` sequential keep-alive GETs each of ``/api/events?limit=100``, ``/api/stats``
  and ``/api/demo/latest.jpg``: p50 / p99 in ms;
- **64 MJPEG viewers** of ``/api/demo?fps=5`` for ``--seconds``: frames each received per second (min, median),
  against the camera's detect rate, and the main process's CPU meanwhile;
- **a stalled client**: one more MJPEG client that never reads while 16 others do: the others' frame
  rates during the stall, and whether (and when) the server closed the stalled connection.

    .venv/bin/python bench/http_stack.py --before /work/wt-before --after . --rounds 2

Writes bench/results/http_stack.json and prints a table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
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
sys.path.insert(0, str(REPO / "bench"))

from api_latency import CLK_TCK, daemon_config, fill, free_port  # noqa: E402
from cpu_per_camera import _cpu_model  # noqa: E402

BOUNDARY = b"\r\n--frame\r\n"


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def time_path(base: str, path: str, count: int) -> dict[str, Any]:
    session = requests.Session()
    for _ in range(10):
        session.get(base + path, timeout=30).raise_for_status()
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        response = session.get(base + path, timeout=30)
        times.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p99_ms": round(percentile(times, 0.99), 2)}


class Viewer(threading.Thread):
    """An MJPEG client on a raw socket counting frame boundaries; ``stalled`` ones never read."""

    def __init__(self, port: int, stop: threading.Event, stalled: bool = False) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        if stalled:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.sendall(b"GET /api/demo?fps=5 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # the camera's rate
        self.stop, self.stalled, self.frames, self.closed_at = stop, stalled, 0, None
        self._tail = b""

    def run(self) -> None:
        if self.stalled:
            return
        with self.sock:
            while not self.stop.is_set():
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    return
                data = self._tail + chunk
                self.frames += data.count(BOUNDARY)
                self._tail = data[-(len(BOUNDARY) - 1) :]

    def closed_by_server(self, server_port: int, wait: float) -> bool:
        """For a stalled client: True once the server has let go of the connection within ``wait`` seconds.

        Seen from the server's side (/proc/net/tcp): its socket for this client is gone, no longer
        ESTABLISHED, or orphaned (inode 0: closed by the daemon, the kernel still flushing it). The client
        side cannot tell: a FIN queued behind data it never reads does not arrive."""
        client_port = self.sock.getsockname()[1]
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            entry = server_socket(server_port, client_port)
            if entry is None or entry[0] != "01" or entry[1] == "0":
                return True
            time.sleep(0.5)
        return False


def server_socket(server_port: int, client_port: int) -> tuple[str, str] | None:
    """(state, inode) of the server's end of a loopback connection, from /proc/net/tcp."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            return fields[3], fields[9]
    return None


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def watch(port: int, pid: int, viewers: int, seconds: float, stalled: bool = False) -> dict[str, Any]:
    stop = threading.Event()
    clients = [Viewer(port, stop) for _ in range(viewers)]
    stuck = Viewer(port, stop, stalled=True) if stalled else None
    for client in clients:
        client.start()
    time.sleep(3)
    before = [c.frames for c in clients]
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    rates = sorted((c.frames - b) / (t1 - t0) for c, b in zip(clients, before, strict=True))
    row: dict[str, Any] = {
        "viewers": viewers, "main_cpu_pct": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
        "fps_min": round(rates[0], 2), "fps_median": round(statistics.median(rates), 2),
    }  # fmt: skip
    if stuck is not None:
        # the socket buffers fill first (up to 4 MB on loopback: ~30 s of frames), then the server's own
        # allowance for a client that reads nothing runs: wait up to 120 s more
        started = time.monotonic()
        row["stalled_dropped"] = stuck.closed_by_server(port, 120)
        row["stalled_dropped_after_s"] = round(time.monotonic() - started + seconds + 3, 1)
        stuck.sock.close()
    stop.set()
    for client in clients:
        with contextlib.suppress(OSError):
            client.sock.shutdown(socket.SHUT_RDWR)
        client.join(5)
    time.sleep(2)
    return row


def run_tree(tree: Path, db: Path, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fl-http-stack-") as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "media").mkdir()
        shutil.copy(db, tmp / "media" / "frigate.db")
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(tree)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "frigate_like", "run", "-c", str(daemon_config(tmp, port))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tree,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    stats = requests.get(base + "/api/stats", timeout=5).json()
                    if stats["demo"]["process_fps"] > 0:
                        break
                except (requests.RequestException, KeyError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{tree}: the daemon did not start")
                time.sleep(0.5)
            time.sleep(5)
            load = os.getloadavg()[0]
            latency = {p: time_path(base, p, args.requests) for p in ("/api/events?limit=100", "/api/stats",
                                                                       "/api/demo/latest.jpg")}  # fmt: skip
            camera_fps = requests.get(base + "/api/stats", timeout=5).json()["demo"]["process_fps"]
            mjpeg = watch(port, proc.pid, args.viewers, args.seconds)
            stall = watch(port, proc.pid, 16, args.seconds, stalled=True)
            return {"tree": str(tree), "load_start": load, "load_end": os.getloadavg()[0], "latency": latency,
                    "camera_fps": camera_fps, "mjpeg": mjpeg, "stall": stall}  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=REPO)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--viewers", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "http_stack.json")
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="fl-http-stack-db-") as dbdir:
        db = Path(dbdir) / "events.db"
        fill(db, args.events, time.time())
        for round_no in range(args.rounds):
            order = ("before", "after") if round_no % 2 == 0 else ("after", "before")
            for name in order:
                run = run_tree(getattr(args, name).resolve(), db, args)
                run["code"], run["round"] = name, round_no
                print(json.dumps(run), flush=True)
                runs.append(run)
    machine = {"cpu": _cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "runs": runs}, indent=2))
    print(f"{'code':6} {'load':>5} {'events p50/p99':>15} {'stats p50/p99':>14} {'latest p50/p99':>15} "
          f"{'64 viewers fps min/med':>22} {'main %':>6} {'stall: others min fps':>21} {'dropped':>8}")  # fmt: skip
    for r in runs:
        lat = r["latency"]
        cells = [f"{lat[p]['p50_ms']}/{lat[p]['p99_ms']}" for p in lat]
        print(f"{r['code']:6} {r['load_start']:>5.2f} {cells[0]:>15} {cells[1]:>14} {cells[2]:>15} "
              f"{r['mjpeg']['fps_min']:>10}/{r['mjpeg']['fps_median']:<11} {r['mjpeg']['main_cpu_pct']:>6} "
              f"{r['stall']['fps_min']:>21} {r['stall'].get('stalled_dropped_after_s')!s:>8}")  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
