"""CPU per camera of the whole daemon (every process it starts, ffmpeg included) and its peak memory.

Runs ``frigate-like run`` on N cameras at detect 768x432 @ 5 fps, busy (the person
video, looped) or idle (the empty first 5 s of it, looped), lets it warm up, then
reads utime+stime of the daemon and all its descendants from /proc over a window.

    .venv/bin/python bench/cpu_per_camera.py --cameras 1 2 4 --modes idle busy --seconds 60

Writes bench/results/cpu_per_camera.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PERSON = SHARED / "media" / "one-by-one-person-detection.mp4"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    ticks = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


def process_name(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    exe = Path(cmd[0].decode()).name if cmd and cmd[0] else "?"
    return "ffmpeg" if "ffmpeg" in exe else "python"


def memory(pids: list[int]) -> dict[str, float]:
    pss = rss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1])
        except OSError:
            continue
    return {"pss_mb": pss / 1024, "rss_sum_mb": rss / 1024}


def shm_mb(marker: str) -> float:
    total = 0
    for entry in Path("/dev/shm").iterdir():
        if marker in entry.name:
            total += entry.stat().st_size
    return total / 1024 / 1024


def make_idle_clip(tmp: Path, ffmpeg: str) -> Path:
    out = tmp / "idle.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-i", str(PERSON), "-t", "5", "-c", "copy", str(out)], check=True)
    return out


def config_for(tmp: Path, cameras: int, video: Path, port: int, threads: int) -> Path:
    cfg: dict[str, Any] = {
        "paths": {"media_dir": str(tmp / "media"), "cache_dir": str(tmp / "cache")},
        "database": {"path": str(tmp / "media" / "frigate.db")},
        "http": {"host": "127.0.0.1", "port": port},
        "mqtt": {"enabled": False},
        "model": {
            "path": str(SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite"),
            "labelmap_path": str(SHARED / "models" / "coco_labelmap.txt"),
            "width": 300,
            "height": 300,
        },
        "detectors": {"cpu": {"type": "cpu", "num_threads": threads}},
        "logger": {"default": "warning"},
        "objects": {"track": ["person"]},
        "cameras": {},
    }
    for i in range(cameras):
        cfg["cameras"][f"cam{i}"] = {
            "ffmpeg": {
                "inputs": [
                    {"path": str(video), "roles": ["detect"], "input_args": "-re -stream_loop -1 -fflags +genpts"}
                ]
            },
            "width": 768,
            "height": 432,
            "fps": 5,
        }
    path = tmp / f"bench-{cameras}.yml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def measure(config: Path, port: int, warmup: float, seconds: float) -> dict[str, Any]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "frigate_like", "run", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/version", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        time.sleep(warmup)
        pids = descendants(proc.pid)
        before, t0 = cpu_ticks(pids), time.monotonic()
        peak: dict[str, float] = {"pss_mb": 0.0, "rss_sum_mb": 0.0}
        stats: dict[str, Any] = {}
        while time.monotonic() - t0 < seconds:
            time.sleep(min(5.0, seconds - (time.monotonic() - t0)))
            mem = memory(descendants(proc.pid))
            peak = {k: max(peak[k], mem[k]) for k in peak}
            stats = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats", timeout=5).read())
        elapsed = time.monotonic() - t0
        pids = descendants(proc.pid)
        after = cpu_ticks(pids)
        by_kind: dict[str, float] = {}
        for pid, t in after.items():
            delta = t - before.get(pid, 0)
            kind = process_name(pid)
            by_kind[kind] = by_kind.get(kind, 0.0) + delta
        total = sum(by_kind.values())
        return {
            "cpu_percent_total": 100.0 * total / CLK_TCK / elapsed,
            "cpu_percent_by_kind": {k: 100.0 * v / CLK_TCK / elapsed for k, v in by_kind.items()},
            "peak_pss_mb": peak["pss_mb"],
            "peak_rss_sum_mb": peak["rss_sum_mb"],
            "shm_mb": shm_mb(str(proc.pid)),
            "seconds": elapsed,
            "stats": stats,
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--modes", nargs="+", default=["idle", "busy"], choices=["idle", "busy"])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument("--threads", type=int, default=1, help="detector num_threads")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "cpu_per_camera.json")
    args = parser.parse_args()

    from frigate_like.video.binaries import find_ffmpeg

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="fl-bench-") as tmpdir:
        tmp = Path(tmpdir)
        idle = make_idle_clip(tmp, find_ffmpeg())
        for mode in args.modes:
            for n in args.cameras:
                port = free_port()  # other daemons may run on this machine
                run_dir = tmp / f"{mode}-{n}"
                run_dir.mkdir()
                config = config_for(run_dir, n, idle if mode == "idle" else PERSON, port, args.threads)
                figures = measure(config, port, args.warmup, args.seconds)
                cams = [v for k, v in figures["stats"].items() if k.startswith("cam")]
                row = {
                    "mode": mode,
                    "cameras": n,
                    "cpu_percent_per_camera": figures["cpu_percent_total"] / n,
                    "cpu_percent_total": figures["cpu_percent_total"],
                    "cpu_percent_by_kind": figures["cpu_percent_by_kind"],
                    "detections_per_second_per_camera": sum(c["detection_fps"] for c in cams) / max(1, n),
                    "inference_ms": [d["inference_speed"] for d in figures["stats"].get("detectors", {}).values()],
                    "skipped_fps": sum(c["skipped_fps"] for c in cams),
                    "peak_pss_mb": figures["peak_pss_mb"],
                    "peak_rss_sum_mb": figures["peak_rss_sum_mb"],
                    "shm_mb": figures["shm_mb"],
                    "seconds": figures["seconds"],
                }
                results.append(row)
                print(
                    f"{mode:4} x{n}: {row['cpu_percent_per_camera']:.1f}% of a core per camera "
                    f"({row['cpu_percent_total']:.1f}% total; {row['cpu_percent_by_kind']}), "
                    f"{row['detections_per_second_per_camera']:.2f} det/s/cam, "
                    f"PSS {row['peak_pss_mb']:.0f} MB + shm {row['shm_mb']:.0f} MB",
                    flush=True,
                )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpu": _cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()}
    args.out.write_text(
        json.dumps({"machine": machine, "args": vars(args) | {"out": str(args.out)}, "results": results}, indent=2)
    )
    print(f"wrote {args.out}")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


if __name__ == "__main__":
    main()
