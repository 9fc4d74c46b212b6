"""Soak: N cameras for M minutes with 24/7 recording and events; memory, recording gaps, events DB vs MQTT.

Each camera plays the person video in a loop (-re: real time) with detect, clips and record on
one input. Every ``--interval`` s the RSS of each process of the daemon is sampled (main,
camera:<name>, detector, ffmpeg by role). At the end (SIGTERM) the recordings table is read
for gaps between consecutive segments of a camera, and every event id published on MQTT
(fresh topic prefix) is looked up in the database.

    nice -n 10 .venv/bin/python bench/soak.py --cameras 4 --minutes 10

Writes bench/results/soak.json (summary) and bench/results/soak_rss.csv (time series).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_per_camera import SHARED, descendants  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PERSON = SHARED / "media" / "one-by-one-person-detection.mp4"
GAP_S = 1.5  # more missing between two recordings than this is a gap


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config_for(tmp: Path, cameras: int, port: int, prefix: str) -> Path:
    cfg: dict[str, Any] = {
        "paths": {"media_dir": str(tmp / "media"), "cache_dir": str(tmp / "cache")},
        "database": {"path": str(tmp / "media" / "frigate.db")},
        "http": {"host": "127.0.0.1", "port": port},
        "mqtt": {"enabled": True, "host": "127.0.0.1", "port": 1883, "topic_prefix": prefix, "client_id": prefix},
        "model": {
            "path": str(SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite"),
            "labelmap_path": str(SHARED / "models" / "coco_labelmap.txt"),
            "width": 300,
            "height": 300,
        },
        "detectors": {"cpu": {"type": "cpu", "num_threads": 1}},
        "logger": {"default": "warning"},
        "objects": {"track": ["person"]},
        "record": {"enabled": True},
        "cameras": {},
    }
    for i in range(cameras):
        cfg["cameras"][f"cam{i}"] = {
            "ffmpeg": {
                "inputs": [
                    {
                        "path": str(PERSON),
                        "roles": ["detect", "clips", "record"],
                        "input_args": "-re -stream_loop -1 -fflags +genpts",
                    }
                ]
            },
            "width": 768,
            "height": 432,
            "fps": 5,
            "clips": {"enabled": True, "pre_capture": 5, "post_capture": 5},
            "snapshots": {"enabled": True},
        }
    path = tmp / "soak.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def roles_of(pid: int, main: int, stats: dict[str, Any]) -> str:
    """A stable name for one process of the daemon."""
    if pid == main:
        return "main"
    for name, entry in stats.items():
        if isinstance(entry, dict) and entry.get("pid") == pid:
            return f"camera:{name}"
        if isinstance(entry, dict) and entry.get("capture_pid") == pid:
            return f"ffmpeg:{name}:detect"
    for name, entry in stats.get("detectors", {}).items():
        if entry.get("pid") == pid:
            return f"detector:{name}"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return "?"
    if "ffmpeg" in cmd:
        camera = next((c for c in stats if f"/{c}/" in cmd), "?")
        return f"ffmpeg:{camera}:segments"
    return "other"


class EventIds:
    """Every event id seen on ``<prefix>/events``, with its message types."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.kinds: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/events", qos=1)
        self.client.on_message = self._on_message

    def _on_message(self, _c: Any, _u: Any, message: Any) -> None:
        event = json.loads(message.payload)
        with self._lock:
            self.kinds.setdefault(event["after"]["id"], []).append(event["type"])

    def start(self) -> None:
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def recording_gaps(db: Path) -> dict[str, list[tuple[float, float]]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT camera, start_time, end_time FROM recordings ORDER BY camera, start_time")
        gaps: dict[str, list[tuple[float, float]]] = {}
        last: dict[str, float] = {}
        for camera, start, end in rows:
            gaps.setdefault(camera, [])
            if camera in last and start - last[camera] > GAP_S:
                gaps[camera].append((last[camera], start))
            last[camera] = max(end, last.get(camera, end))
    return gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between RSS samples")
    args = parser.parse_args()
    prefix = f"soak-{uuid.uuid4().hex[:8]}"
    port = free_port()
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp_name:
        tmp = Path(tmp_name)
        config = config_for(tmp, args.cameras, port, prefix)
        events = EventIds(prefix)
        events.start()
        log = (tmp / "daemon.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "frigate_like", "run", "-c", str(config)], stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip
        started = time.monotonic()
        load_start = os.getloadavg()
        try:
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(args.interval)
                if proc.poll() is not None:
                    raise SystemExit(f"the daemon exited with {proc.returncode}; see its log")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats", timeout=10) as response:
                        stats = json.loads(response.read())
                except OSError:
                    continue  # not up yet
                at = round(time.monotonic() - started)
                for pid in descendants(proc.pid):
                    samples.append({"t": at, "process": roles_of(pid, proc.pid, stats), "pid": pid,
                                    "rss_mb": round(rss_kb(pid) / 1024, 1)})  # fmt: skip
                print(f"{at:>5} s: main {rss_kb(proc.pid) / 1024:.1f} MB", flush=True)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
            log.close()
            time.sleep(2)  # the last MQTT messages
            events.stop()
        gaps = recording_gaps(tmp / "media" / "frigate.db")
        with sqlite3.connect(tmp / "media" / "frigate.db") as conn:
            rows = {r[0]: r[1:] for r in conn.execute("SELECT id, end_time, has_clip, has_snapshot FROM event")}
            recordings = dict(conn.execute("SELECT camera, SUM(duration) FROM recordings GROUP BY camera").fetchall())
        clips = tmp / "media" / "clips"
        published = events.kinds
        missing = [i for i in published if i not in rows]
        open_events = [i for i, r in rows.items() if r[0] is None]
        files_missing = [
            i for i, r in rows.items()
            if (r[1] and not any(clips.glob(f"*-{i}.mp4"))) or (r[2] and not any(clips.glob(f"*-{i}.jpg")))
        ]  # fmt: skip
        log_text = (tmp / "daemon.log").read_text(errors="replace")
    by_process: dict[str, list[tuple[int, float]]] = {}
    for s in samples:
        by_process.setdefault(s["process"], []).append((s["t"], s["rss_mb"]))
    summary = {
        "cameras": args.cameras,
        "minutes": args.minutes,
        "exit_code": code,
        "load_at_start": load_start,
        "load_at_end": os.getloadavg(),
        "rss_mb_first_last_max": {
            name: {"first": v[0][1], "last": v[-1][1], "max": max(x for _, x in v)} for name, v in by_process.items()
        },
        "recorded_seconds": recordings,
        "recording_gaps": {c: [(round(a, 1), round(b - a, 1)) for a, b in g] for c, g in gaps.items()},
        "events_on_mqtt": len(published),
        "events_in_db": len(rows),
        "mqtt_events_missing_in_db": missing,
        "db_events_left_open": open_events,
        "db_events_with_missing_files": files_missing,
        "mqtt_ids_with_more_than_one_new": [i for i, k in published.items() if k.count("new") > 1],
        "log_errors": [line for line in log_text.splitlines() if " ERROR " in line][:20],
    }
    (out_dir / "soak.json").write_text(json.dumps(summary, indent=2) + "\n")
    with (out_dir / "soak_rss.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["t", "process", "pid", "rss_mb"])
        writer.writeheader()
        writer.writerows(samples)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
