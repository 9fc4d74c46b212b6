"""Process faults: how long the daemon takes to replace a killed or stopped process, and the
footage each fault costs, before (another checkout, e.g. main) and after (this one), alternating.

Per round and per checkout: ``frigate-like run`` on the person video looped in real time (detect,
clips and 24/7 recording in 5 s segments); once frames flow and a segment is written, three faults
in turn, each given time to settle before the next:

- ``segment ffmpeg SIGKILL``: the camera's ffmpeg that writes segments killed (since issue 21's one ffmpeg
  per input: the one ffmpeg, detect+clips+record);
- ``detector SIGSTOP``: the detector process stopped (SIGKILLed once replaced, or at the end);
- ``camera process SIGKILL``: the camera process killed (its ffmpegs die with it).

Each fault comes after a random 0-5 s wait, so it falls anywhere in a polling watchdog's cycle.

Per fault: ``replaced_s`` (from the signal until ``/api/stats`` shows the new process: a new
segment ffmpeg under the camera process; a new detector pid; a new camera pid *and* its new detect
ffmpeg; polled every 50 ms), ``health`` (what ``service.health`` said: the entry went not ok, and
after how long it was ok again) and ``hole_s``: the longest stretch around the fault (3 s before to
12 s after) that no recording covers, read from the recordings table after the daemon stopped.

    .venv/bin/python bench/faults_processes.py --before /work/main --rounds 2

``--before`` runs ``<dir>/.venv/bin/python -m frigate_like`` from that checkout (read only).
Writes bench/results/faults_processes.json and prints a table.

(Named apart from ``bench/faults.py``, the PostgreSQL outage's benchmark, so both merge as they are.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.rtsp_resume import lscpu_model  # noqa: E402
from tests.integration import process_faults as pf  # noqa: E402
from tests.integration.daemon import Daemon  # noqa: E402

HOLE_BEFORE_S, HOLE_AFTER_S = 3.0, 12.0  # the window around a fault whose recording hole is counted
SETTLE_S = 14.0  # after each fault (≥ HOLE_AFTER_S: the windows do not overlap)
JITTER_S = 5.0  # a random wait before each fault, so it falls anywhere in the old watchdog's 5 s cycle


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def segment_fault(daemon: Daemon) -> pf.Recovery:
    return pf.kill_segment_ffmpeg(daemon, roles=pf.INPUT_ROLES, ok_timeout=10)


def detector_fault(daemon: Daemon) -> pf.Recovery:
    return pf.stop_detector(daemon, timeout=40, ok_timeout=15)


def camera_fault(daemon: Daemon) -> pf.Recovery:
    return pf.kill_camera_process(daemon, ok_timeout=10)


FAULTS = (segment_fault, detector_fault, camera_fault)


def one_run(label: str, checkout: Path | None) -> list[dict[str, Any]]:
    """One daemon of ``checkout`` (None: this one) through every fault; a row per fault."""
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp_name:
        tmp = Path(tmp_name)
        command = None
        env = {}
        if checkout is not None:
            command = [str(checkout / ".venv" / "bin" / "python"), "-m", "frigate_like"]
            env = {"PYTHONPATH": str(checkout)}
        daemon = Daemon(tmp, pf.recovery_config(tmp), env=env, command=command)
        daemon.start()
        recoveries: list[pf.Recovery] = []
        try:
            daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["camera_fps"] > 0, 60, what="frames")
            time.sleep(8)  # a finished segment, a loaded detector
            for fault in FAULTS:
                time.sleep(random.uniform(0.0, JITTER_S))  # anywhere in a 5 s watchdog poll's cycle (before)
                recovery = fault(daemon)
                recoveries.append(recovery)
                time.sleep(max(0.0, recovery.at + SETTLE_S - time.time()))
        finally:
            daemon.terminate()
        rows = pf.recordings(daemon.db_path)
    result = []
    for recovery in recoveries:
        hole = pf.longest_hole(rows, recovery.at - HOLE_BEFORE_S, recovery.at + HOLE_AFTER_S)
        row = {"checkout": label, **asdict(recovery), "hole_s": round(hole, 2)}
        print(json.dumps(row), flush=True)
        result.append(row)
    return result


def summary(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| fault | checkout | replaced (s) | footage hole (s) | health entry: not ok seen / ok again after (s) |",
             "|---|---|---|---|---|"]  # fmt: skip
    faults = list(dict.fromkeys(r["fault"] for r in rows))
    for fault in faults:
        for label in dict.fromkeys(r["checkout"] for r in rows):
            mine = [r for r in rows if r["fault"] == fault and r["checkout"] == label]
            replaced = [r["replaced_after"] for r in mine if r["replaced_after"] is not None]
            holes = [r["hole_s"] for r in mine]
            seen = sum(1 for r in mine if r["seen_not_ok"])
            oks = [r["ok_after"] for r in mine if r["ok_after"] is not None]

            def fig(values: list[float]) -> str:
                if not values:
                    return "—"
                return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"

            lines.append(f"| {fault} | {label} | {fig(replaced)} | {fig(holes)} | {seen}/{len(mine)} / {fig(oks)} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="the checkout to compare with (e.g. /work/main)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "faults_processes.json")
    args = parser.parse_args()
    runs: list[tuple[str, Path | None]] = [("after", None)]
    if args.before is not None:
        runs.insert(0, ("before", args.before))
    machine = {"cpu": lscpu_model(), "cores": os.cpu_count(), "uptime_start": uptime()}
    print(json.dumps(machine), flush=True)
    rows: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        for label, checkout in runs:  # alternating: the load of the moment weighs on both alike
            rows.extend(one_run(label, checkout))
    machine["uptime_end"] = uptime()
    lines = summary(rows)
    print("\n".join(lines))
    print(machine)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "rows": rows, "table": lines}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
