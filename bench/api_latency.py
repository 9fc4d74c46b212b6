"""HTTP API benchmark: /api/events latency over 100 000 events, and the CPU each extra MJPEG viewer adds.

Part 1 fills a fresh SQLite file (real migrations) with ``--events`` events spread over 30 days on
4 cameras and 5 labels, each with a real 175 px thumbnail cut from the shared footage, serves it
with the daemon's own app factory and waitress settings, and times sequential requests over
keep-alive HTTP (p50/p95). Part 2 runs the real daemon on the looped person video and reads the
main process's CPU time (the HTTP server, the live view and its encoders live there) while N
clients watch the MJPEG stream with the same options, then with N different heights.

    .venv/bin/python bench/api_latency.py --events 100000 --requests 200 --viewers 1 10 40 --seconds 20

Writes bench/results/api_latency.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
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
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PERSON = SHARED / "media" / "one-by-one-person-detection.mp4"
CLK_TCK = os.sysconf("SC_CLK_TCK")
CAMERAS = ["front", "back", "side", "garage"]
LABELS = ["person", "car", "dog", "cat", "bicycle"]
DAY = 86_400.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- part 1: event listing latency ----------------------------------------------------------------------
def real_thumbnail() -> str:
    import numpy as np

    from frigate_like.events.snapshot import thumbnail_b64
    from frigate_like.video.binaries import find_ffmpeg

    raw = subprocess.run(
        [find_ffmpeg(), "-v", "error", "-ss", "9", "-i", str(PERSON), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "yuv420p", "pipe:"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    frame = np.frombuffer(raw, np.uint8).reshape(432 * 3 // 2, 768)
    return thumbnail_b64(frame, (380, 10, 520, 390))


def fill(db_path: Path, count: int, now: float) -> dict[str, Any]:
    from frigate_like.db.database import open_database
    from frigate_like.db.models import Event
    from frigate_like.migrations import MIGRATIONS_DIR

    class Settings:
        path = db_path
        url = None

    db = open_database(Settings(), MIGRATIONS_DIR)
    thumbnail = real_thumbnail()
    rng = random.Random(3)
    step = 30 * DAY / count
    started = time.monotonic()
    rows = []
    for i in range(count):
        start = now - 30 * DAY + i * step + rng.random() * step
        rows.append(
            {"id": f"{start}-{i:06d}", "camera": rng.choice(CAMERAS), "label": rng.choice(LABELS),
             "start_time": start, "end_time": start + rng.uniform(5, 60), "top_score": rng.uniform(0.7, 0.95),
             "false_positive": False, "zones": rng.choice([[], ["porch"], ["driveway"], ["porch", "driveway"]]),
             "thumbnail": thumbnail, "has_clip": rng.random() < 0.8, "has_snapshot": rng.random() < 0.9}
        )  # fmt: skip
    with db.atomic():
        for at in range(0, count, 500):
            Event.insert_many(rows[at : at + 500]).execute()
    db.execute_sql("ANALYZE")
    return {"fill_s": round(time.monotonic() - started, 1), "thumbnail_bytes": len(thumbnail),
            "db_mb": round(db_path.stat().st_size / 2**20, 1)}  # fmt: skip


def query_plan(sql_filters: str) -> str:
    from frigate_like.db.models import Event

    cursor = Event._meta.database.execute_sql(
        f"EXPLAIN QUERY PLAN SELECT id FROM event WHERE {sql_filters} ORDER BY start_time DESC LIMIT 100"
    )
    return " / ".join(str(row[-1]) for row in cursor.fetchall())


def time_requests(base: str, path: str, count: int) -> dict[str, Any]:
    session = requests.Session()
    for _ in range(10):  # warm-up: connections, SQLite page cache
        session.get(base + path, timeout=30).raise_for_status()
    times, size, rows = [], 0, 0
    for _ in range(count):
        t0 = time.perf_counter()
        response = session.get(base + path, timeout=30)
        times.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
        size, rows = len(response.content), len(response.json())
    times.sort()
    return {"path": path, "rows": rows, "kb": round(size / 1024), "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1), "requests": count}  # fmt: skip


def latency(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from frigate_like.api import ApiServices, create_app
    from frigate_like.api.server import HttpServer
    from frigate_like.db import queries

    now = time.time()
    filled = fill(tmp / "events.db", args.events, now)
    app = create_app(ApiServices(config=None, stats=dict, public_config=dict, events=queries))
    port = free_port()
    server = HttpServer(app, "127.0.0.1", port)
    server.start()
    base = f"http://127.0.0.1:{port}"
    after = now - 7 * DAY
    paths = [
        "/api/events?limit=100",
        "/api/events?limit=100&include_thumbnails=0",
        f"/api/events?camera=garage&label=dog&after={after:.0f}&limit=100",
        f"/api/events?camera=garage&label=dog&after={after:.0f}&limit=100&include_thumbnails=0",
    ]
    results = [time_requests(base, path, args.requests) for path in paths]
    plan = query_plan(f"camera = 'garage' AND label = 'dog' AND start_time > {after} AND false_positive = 0")
    server.stop()
    return {**filled, "events": args.events, "filtered_plan": plan, "results": results}


# -- part 2: CPU per MJPEG viewer ----------------------------------------------------------------------
def daemon_config(tmp: Path, port: int) -> Path:
    cfg = yaml.safe_load((REPO / "config" / "demo.yml").read_text())
    cfg["paths"] = {"media_dir": str(tmp / "media"), "cache_dir": str(tmp / "cache")}
    cfg["database"] = {"path": str(tmp / "media" / "frigate.db")}
    cfg["http"] = {"host": "127.0.0.1", "port": port}
    cfg["mqtt"] = {"enabled": False}
    cfg["logger"] = {"default": "warning"}
    cfg["model"]["path"] = str(SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite")
    cfg["model"]["labelmap_path"] = str(SHARED / "models" / "coco_labelmap.txt")
    cfg["cameras"]["demo"]["ffmpeg"]["inputs"][0]["path"] = str(PERSON)
    path = tmp / "daemon.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


class Viewer(threading.Thread):
    """One MJPEG client on a raw socket: reads and discards, so the client costs next to nothing."""

    def __init__(self, port: int, path: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        # the Host a browser on this machine sends: the access policy refuses any other
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        status = self.sock.recv(1 << 16)
        if not status.startswith(b"HTTP/1.1 200"):
            first_line = status.split(b"\r\n", 1)[0]
            raise RuntimeError(f"{path}: {first_line!r}")
        self.stop, self.received = stop, len(status)

    def run(self) -> None:
        with self.sock:
            while not self.stop.is_set():
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    return
                self.received += len(chunk)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def watch(port: int, pid: int, paths: list[str], seconds: float) -> dict[str, Any]:
    stop = threading.Event()
    viewers = [Viewer(port, path, stop) for path in paths]
    for viewer in viewers:
        viewer.start()
    time.sleep(3)  # every viewer connected and streaming
    before = [v.received for v in viewers]
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    got = [v.received - b for v, b in zip(viewers, before, strict=True)]
    stop.set()
    for viewer in viewers:
        viewer.sock.shutdown(socket.SHUT_RDWR)
        viewer.join(5)
    time.sleep(2)  # the daemon notices the hang-ups and frees the encoders
    return {"viewers": len(paths), "distinct_options": len(set(paths)),
            "cpu_pct": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
            "kb_per_viewer_s": round(min(got, default=0) / 1024 / (t1 - t0), 1) if paths else 0.0}  # fmt: skip


def mjpeg_cpu(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "frigate_like", "run", "-c", str(daemon_config(tmp, port))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/stats", timeout=5).json()["demo"]["process_fps"] > 0:
                    break
            except (requests.RequestException, KeyError):
                pass
            time.sleep(0.5)
        phases = [watch(port, proc.pid, [], args.seconds)]
        for n in args.viewers:
            phases.append(watch(port, proc.pid, ["/api/demo"] * n, args.seconds))
        distinct = max(args.viewers)
        phases.append(watch(port, proc.pid, [f"/api/demo?h={360 + 2 * i}" for i in range(distinct)], args.seconds))
    finally:
        proc.terminate()
        proc.wait(30)
    same = {p["viewers"]: p["cpu_pct"] for p in phases if p["distinct_options"] <= 1}
    lo, hi = min(args.viewers), max(args.viewers)
    return {
        "phases": phases,
        "cpu_pct_per_extra_viewer_same_options": round((same[hi] - same[lo]) / (hi - lo), 2),
        "cpu_pct_per_extra_viewer_distinct_options": round((phases[-1]["cpu_pct"] - same[lo]) / (hi - lo), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 10, 40])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp_name:
        tmp = Path(tmp_name)
        report = {
            "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
            "latency": latency(args, tmp),
            "mjpeg": mjpeg_cpu(args, tmp),
        }
    out = REPO / "bench" / "results" / "api_latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    for row in report["latency"]["results"]:
        print(f"{row['path']:<90} rows {row['rows']:>3}  {row['kb']:>5} KB  p50 {row['p50_ms']:>7} ms  "
              f"p95 {row['p95_ms']:>7} ms")  # fmt: skip
    print("filtered query plan:", report["latency"]["filtered_plan"])
    for phase in report["mjpeg"]["phases"]:
        print(f"{phase['viewers']:>3} viewers, {phase['distinct_options']:>2} option sets: "
              f"{phase['cpu_pct']:>6} % of a core, {phase['kb_per_viewer_s']} KB/s each")  # fmt: skip
    mjpeg = report["mjpeg"]
    print(f"CPU per extra viewer, same options: {mjpeg['cpu_pct_per_extra_viewer_same_options']} %, "
          f"distinct options: {mjpeg['cpu_pct_per_extra_viewer_distinct_options']} %")  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
