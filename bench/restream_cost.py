"""What one session per camera costs: an RTSP camera read through the restream against read directly.

The person video (H.264 768×432, 10 fps, a key frame a second) served by the tests' GStreamer RTSP server as a
network camera; `frigate-like run` detects at 5 fps and writes clips + record. With ``restream.enabled`` the
daemon opens one session to the camera and its readers (detect, the segmenter, the always-on live feed of
``live.mp4``) read the local relay; without it, detect and the segmenter each open their own session and
there is no live feed. The two alternate (order swapped each round), each a fresh daemon measured over
``--seconds`` after ``--warmup``. CPU is the daemon's whole process tree from /proc, split by role.

    .venv/bin/python bench/restream_cost.py --rounds 2 --seconds 40 --warmup 15

Writes bench/results/restream_cost.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from cpu_per_camera import _cpu_model, descendants  # noqa: E402
from side_by_side import loadavg, proc_times  # noqa: E402
from web_live import CLK_TCK  # noqa: E402

from tests.integration.daemon import Daemon, demo_config, free_port  # noqa: E402
from tests.integration.rtsp_camera import rtsp_server  # noqa: E402

ROLES = ("main", "camera", "detector", "restream", "ffmpeg_detect", "ffmpeg_segments", "ffmpeg_live", "other")


def role_of(pid: int, root: int, stats: dict[str, Any]) -> str:
    if pid == root:
        return "main"
    if pid == stats["demo"].get("pid"):
        return "camera"
    if pid in {d.get("pid") for d in stats.get("detectors", {}).values()}:
        return "detector"
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "other"
    if any(arg.endswith(b"gst_server.py") for arg in args):
        return "restream"
    if args and Path(args[0].decode()).name.startswith("ffmpeg"):
        if b"rawvideo" in args:
            return "ffmpeg_detect"
        if b"segment" in args:
            return "ffmpeg_segments"
        return "ffmpeg_live"
    return "other"


def measure(tmp: Path, camera_port: int, restream: bool, warmup: float, seconds: float) -> dict[str, Any]:
    cfg = demo_config(tmp)
    cfg["logger"] = {"default": "warning"}
    cfg["restream"]["enabled"] = restream
    cam = cfg["cameras"]["demo"]
    cam["ffmpeg"]["inputs"] = [
        {"path": f"rtsp://127.0.0.1:{camera_port}/cam", "roles": ["detect", "clips", "record"],
         "input_args": "-rtsp_transport tcp"}
    ]  # fmt: skip
    cam["record"] = {"enabled": True, "retain_days": 1}
    cam["clips"] = {"enabled": True, "pre_capture": 5, "post_capture": 5}
    daemon = Daemon(tmp, cfg)
    daemon.start()
    try:
        assert daemon.proc is not None
        root = daemon.proc.pid
        daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["camera_fps"] > 0, 60, what="frames")
        time.sleep(warmup)
        load_start = loadavg()
        before = {pid: t for pid in descendants(root) if (t := proc_times(pid)) is not None}
        t0 = time.monotonic()
        time.sleep(seconds)
        after = {pid: t for pid in descendants(root) if (t := proc_times(pid)) is not None}
        elapsed = time.monotonic() - t0
        stats = daemon.get_json("/api/stats")
        ticks = dict.fromkeys(ROLES, 0)
        for pid, (own, _reaped) in after.items():
            ticks[role_of(pid, root, stats)] += own - before.get(pid, (0, 0))[0]
        by_role = {role: round(100.0 * t / CLK_TCK / elapsed, 2) for role, t in ticks.items()}
        return {
            "restream": restream,
            "cpu_percent": round(sum(by_role.values()), 2),
            "by_role": by_role,
            "restream_clients": stats["demo"].get("restream_clients"),
            "camera_fps": stats["demo"].get("camera_fps"),
            "load_start": load_start,
            "load_end": loadavg(),
        }
    finally:
        daemon.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "restream_cost.json")
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    camera_port = free_port()
    with rtsp_server(camera_port):
        for round_no in range(args.rounds):
            order = (True, False) if round_no % 2 == 0 else (False, True)
            for restream in order:
                with tempfile.TemporaryDirectory(prefix="fl-restream-cost-") as tmpdir:
                    run = measure(Path(tmpdir), camera_port, restream, args.warmup, args.seconds)
                run["round"] = round_no
                print(run, flush=True)
                runs.append(run)
    summary = {
        name: {
            "cpu_percent_median": statistics.median(r["cpu_percent"] for r in runs if r["restream"] is flag),
            "by_role_median": {
                role: statistics.median(r["by_role"][role] for r in runs if r["restream"] is flag) for role in ROLES
            },
        }
        for name, flag in (("restream", True), ("direct", False))
    }
    machine = {"cpu": _cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "runs": runs, "summary": summary}, indent=2))
    print(f"{'':9} {'total':>6} " + " ".join(f"{role:>15}" for role in ROLES))
    for name, row in summary.items():
        roles = " ".join(f"{row['by_role_median'][role]:>15}" for role in ROLES)
        print(f"{name:9} {row['cpu_percent_median']:>6} {roles}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
