"""A stranger's load against the running daemon (issue 19): what it costs an allowed client, and the CPU.

The daemon runs the looped person video (demo config, 5 fps, an API token set so the stranger is not
allowed to change anything). Two phases of ``--seconds`` each:

- quiet: an allowed client (127.0.0.1, the token) asks ``/api/stats`` every 50 ms;
- attacked: the same, while from 127.0.0.2 a stranger holds ``--idle`` connections that send nothing
  (re-opened as the server closes them), 16 MJPEG streams of the worst options
  (``fps=30&h=<2160-i>&bbox=1&timestamp=1&zones=1&mask=1&motion=1&regions=1``) read as fast as they come,
  and ``--logins`` wrong ``POST /api/login`` as fast as the server answers.

Reported per phase: p50/p99 of the allowed client's ``/api/stats``, the daemon's whole process tree CPU
(% of one core), the main process's open descriptors, and the login answers by status. Writes
bench/results/abuse.json and prints a table, with the CPU model and load.

    .venv/bin/python bench/abuse.py --seconds 30 --idle 5000 --logins 1000
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.daemon import Daemon, demo_config  # noqa: E402

TOKEN = "bench-abuse-token-0123456789"
STRANGER = "127.0.0.2"
CLK_TCK = os.sysconf("SC_CLK_TCK")
WORST = "fps=30&bbox=1&timestamp=1&zones=1&mask=1&motion=1&regions=1"


def tree_cpu_s(root: int) -> float:
    """utime + stime of ``root`` and every live descendant (reaped children count through cutime/cstime)."""
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        own = stats.get(pid)
        if own is None:
            continue
        total += sum(int(f) for f in own[11:15]) / CLK_TCK  # utime stime cutime cstime
        todo.extend(children.get(pid, []))
    return total


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


class Stranger:
    """Everything the stranger does at once, from ``STRANGER``, until ``stop``."""

    def __init__(self, port: int, idle: int, logins: int) -> None:
        self.port, self.idle, self.logins = port, idle, logins
        self.stop = threading.Event()
        self.login_statuses: Counter[int] = Counter()
        self.mjpeg_bytes = 0
        self.idle_opened = 0
        self._lock = threading.Lock()

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10, source_address=(STRANGER, 0))

    def hold_idle(self) -> None:
        socks: list[socket.socket] = []
        while not self.stop.is_set():
            socks = [s for s in socks if _open(s)]
            while len(socks) < self.idle and not self.stop.is_set():
                sock = socket.socket()
                try:
                    sock.bind((STRANGER, 0))
                    sock.settimeout(2)
                    sock.connect(("127.0.0.1", self.port))
                except OSError:
                    sock.close()
                    break
                socks.append(sock)
                self.idle_opened += 1
            self.stop.wait(1.0)
        for sock in socks:
            sock.close()

    def watch(self, height: int) -> None:
        while not self.stop.is_set():
            conn = self.connection()
            try:
                conn.request("GET", f"/api/demo?h={height}&{WORST}")
                response = conn.getresponse()
                while not self.stop.is_set() and (chunk := response.read(65536)):
                    with self._lock:
                        self.mjpeg_bytes += len(chunk)
                if response.status != 200:
                    self.stop.wait(0.5)
            except OSError:
                self.stop.wait(0.5)
            finally:
                conn.close()

    def guess(self) -> None:
        conn = self.connection()
        for i in range(self.logins):
            if self.stop.is_set():
                break
            try:
                conn.request("POST", "/api/login", body=json.dumps({"token": f"guess-{i}"}),
                             headers={"Content-Type": "application/json"})  # fmt: skip
                response = conn.getresponse()
                response.read()
                self.login_statuses[response.status] += 1
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = self.connection()
        conn.close()

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=target, daemon=True) for target in (self.hold_idle, self.guess)]
        threads += [threading.Thread(target=self.watch, args=(2160 - i,), daemon=True) for i in range(16)]
        for thread in threads:
            thread.start()
        return threads


def _open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def phase(daemon: Daemon, seconds: float) -> dict[str, Any]:
    assert daemon.proc is not None
    pid = daemon.proc.pid
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    times: list[float] = []
    errors = 0
    cpu0, t0 = tree_cpu_s(pid), time.monotonic()
    fds = 0
    while time.monotonic() - t0 < seconds:
        started = time.perf_counter()
        try:
            conn.request("GET", "/api/stats", headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                times.append((time.perf_counter() - started) * 1000)
            else:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
        fds = max(fds, len(os.listdir(f"/proc/{pid}/fd")))
        time.sleep(0.05)
    cpu = (tree_cpu_s(pid) - cpu0) / (time.monotonic() - t0) * 100
    conn.close()
    times.sort()
    return {
        "stats_requests": len(times),
        "stats_errors": errors,
        "stats_p50_ms": round(statistics.median(times), 1) if times else None,
        "stats_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 1) if times else None,
        "tree_cpu_pct": round(cpu, 1),
        "main_fds_max": fds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--logins", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "abuse.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-abuse-") as work:
        tmp = Path(work)
        cfg = demo_config(tmp, loop=True, fps=5)
        cfg["http"]["api_token"] = TOKEN
        daemon = Daemon(tmp, cfg)
        daemon.start()
        try:
            daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["camera_fps"] > 0, 90, what="frames")
            time.sleep(10)  # past the start-up work
            quiet = phase(daemon, args.seconds)
            stranger = Stranger(daemon.port, args.idle, args.logins)
            threads = stranger.start()
            time.sleep(2)
            attacked = phase(daemon, args.seconds)
            stranger.stop.set()
            for thread in threads:
                thread.join(15)
            attacked.update(
                login_statuses=dict(stranger.login_statuses), idle_connections_opened=stranger.idle_opened,
                mjpeg_mb=round(stranger.mjpeg_bytes / 1e6, 1),
            )  # fmt: skip
            health = daemon.get_json("/api/stats")["service"]
        finally:
            daemon.terminate()
    result = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_before": os.getloadavg(),
        "seconds": args.seconds,
        "idle": args.idle,
        "logins": args.logins,
        "quiet": quiet,
        "attacked": attacked,
        "http_after": health.get("http"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['cpu']}, {result['cores']} cores, load {result['load_before']}")
    print(f"{'phase':<10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'tree CPU %':>11} {'main fds':>9}")
    for name, row in (("quiet", quiet), ("attacked", attacked)):
        print(f"{name:<10} {row['stats_p50_ms']!s:>8} {row['stats_p99_ms']!s:>8} {row['stats_errors']:>7} "
              f"{row['tree_cpu_pct']:>11} {row['main_fds_max']:>9}")  # fmt: skip
    print(f"logins: {attacked['login_statuses']}; idle connections opened: {attacked['idle_connections_opened']}; "
          f"MJPEG received: {attacked['mjpeg_mb']} MB")  # fmt: skip


if __name__ == "__main__":
    main()
