"""CPU of every thread of the daemon, its camera processes and its detector, at N cameras.

The side-by-side config (``side_by_side.config_for``: detect + clips, snapshots, MQTT on), the
person video looped (``busy``) or its empty first seconds (``idle``). After ``--warmup`` it
reads ``/proc/<pid>/task/*/stat`` of each process twice, ``--seconds`` apart. Thread names
come from ``py-spy dump`` when py-spy is installed (``pip install py-spy``; Python 3.11 does
not name its threads for the OS), else the thread ids are shown.

    .venv/bin/python bench/threads_cpu.py --cameras 4 --mode busy --seconds 45

Writes ``bench/results/threads_cpu.json`` and prints % of one core per process and thread.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_per_camera import (  # noqa: E402
    CLK_TCK,
    PERSON,
    REPO,
    _cpu_model,
    free_port,
    make_idle_clip,
    start_daemon,
    stop_daemon,
    wait_for_api,
)
from side_by_side import config_for, get_stats  # noqa: E402


def thread_ticks(pid: int) -> dict[int, int]:
    ticks = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[int(task.name)] = int(fields[11]) + int(fields[12])
    return ticks


def thread_names(pid: int) -> dict[int, str]:
    """tid → the Python thread's name, from py-spy (empty when py-spy is not installed)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return {}
    dump = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=30).stdout
    # "Thread 10305 (idle): "tracked-objects"" (the id is the OS thread id in decimal or hex)
    names = {}
    for match in re.finditer(r'^Thread (0x[0-9A-Fa-f]+|\d+) \([^)]*\): "([^"]*)"', dump, re.MULTILINE):
        names[int(match.group(1), 0)] = match.group(2)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--mode", choices=["busy", "idle"], default="busy")
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--source", type=Path, help="run the daemon of this tree (default: this one)")
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "threads_cpu.json")
    args = parser.parse_args()

    from frigate_like.video.binaries import find_ffmpeg

    with tempfile.TemporaryDirectory(prefix="fl-threads-") as tmpdir:
        tmp = Path(tmpdir)
        video = PERSON if args.mode == "busy" else make_idle_clip(tmp, find_ffmpeg())
        port = free_port()
        proc = start_daemon(config_for(tmp, args.cameras, video, port, args.mqtt_port), args.source)
        try:
            wait_for_api(port, 90)
            time.sleep(args.warmup)
            stats = get_stats(port)
            pids = {"main": proc.pid}
            pids |= {f"camera {k}": int(v["pid"]) for k, v in stats.items() if k.startswith("cam") and v.get("pid")}
            pids |= {f"detector {k}": int(v["pid"]) for k, v in stats.get("detectors", {}).items() if v.get("pid")}
            load = os.getloadavg()[0]
            before = {role: thread_ticks(pid) for role, pid in pids.items()}
            began = time.monotonic()
            time.sleep(args.seconds)
            elapsed = time.monotonic() - began
            after = {role: thread_ticks(pid) for role, pid in pids.items()}
            names = {role: thread_names(pid) for role, pid in pids.items()}
        finally:
            stop_daemon(proc)

    processes: dict[str, Any] = {}
    for role in pids:
        threads = {
            names[role].get(tid, str(tid)): 100.0 * (ticks - before[role].get(tid, 0)) / CLK_TCK / elapsed
            for tid, ticks in after[role].items()
        }
        busy = {name: round(pct, 3) for name, pct in sorted(threads.items(), key=lambda kv: -kv[1]) if pct > 0}
        processes[role] = {"cpu_percent": round(sum(threads.values()), 3), "threads": busy}
        print(f"{role}: {processes[role]['cpu_percent']:.2f} % of a core")
        for name, pct in busy.items():
            print(f"    {name:28s} {pct:.2f}")
    doc = {"machine": {"cpu": _cpu_model(), "cores": os.cpu_count()}, "args": vars(args),
           "load": [load, os.getloadavg()[0]], "processes": processes}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"load {doc['load']}; wrote {args.out}")


if __name__ == "__main__":
    main()
