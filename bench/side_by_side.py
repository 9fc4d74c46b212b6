"""Our daemon BEFORE and AFTER a change, alternating in one run, with the CPU split by role.

Each round runs every (mode, cameras) pair once with each tree, the trees alternating, so load
from other users of the machine hits both alike. Cameras: detect 768x432 @ 5 fps + clips on one
input (the person video looped = busy, its empty first 5 s looped = idle), snapshots on,
one detector thread, MQTT on (a local broker; unique topic prefix). Over ``--seconds`` after
``--warmup`` it reads /proc for the daemon and all its descendants and splits the CPU into:

- ``ffmpeg_detect`` / ``ffmpeg_segments``: the long-running ffmpegs (by their outputs);
- ``detector``: the detector processes (pids from /api/stats ``detectors``);
- ``camera``: the camera processes (pids from /api/stats per camera);
- ``main``: the daemon's own process; ``other``: any other live descendant;
- ``reaped``: children that ended within the window (clip cuts, probes): the growth of
  cutime+cstime of the live processes.

Detector calls per camera-second: each camera's ``detection_fps``, sampled every 5 s and averaged.
The load average (``/proc/loadavg``) is recorded at the start and end of every run.

    .venv/bin/python bench/side_by_side.py --before /work/wt-cpu-before --cameras 1 4 --modes busy idle \\
        --rounds 2 --seconds 60 --warmup 30

``--after-input-args "-skip_loop_filter all"`` adds a third code, the after tree with those ffmpeg
input args on every camera: what an option a user can set would save, in the same run.

Writes ``bench/results/side_by_side.json`` and prints one line per run and a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_per_camera import (  # noqa: E402
    CLK_TCK,
    PERSON,
    REPO,
    _cpu_model,
    descendants,
    free_port,
    make_idle_clip,
    start_daemon,
    stop_daemon,
    wait_for_api,
)
from cpu_per_camera import config_for as base_config  # noqa: E402

ROLES = ("ffmpeg_detect", "ffmpeg_segments", "detector", "camera", "main", "other", "reaped")


def config_for(tmp: Path, cameras: int, video: Path, port: int, mqtt_port: int, input_args: str = "") -> Path:
    """cpu_per_camera's config plus clips and snapshots on every camera and MQTT on; ``input_args``
    are added to every camera's input (an option a user could set, measured as a third tree)."""
    path = base_config(tmp, cameras, video, port, threads=1)
    cfg: dict[str, Any] = yaml.safe_load(path.read_text())
    cfg["mqtt"] = {"enabled": True, "host": "127.0.0.1", "port": mqtt_port, "topic_prefix": f"sbs-{uuid.uuid4().hex}"}
    cfg["clips"] = {"max_seconds": 300}
    for cam in cfg["cameras"].values():
        cam["ffmpeg"]["inputs"][0]["roles"] = ["detect", "clips"]
        if input_args:
            cam["ffmpeg"]["inputs"][0]["input_args"] += " " + input_args
        cam["clips"] = {"enabled": True, "pre_capture": 5, "post_capture": 5}
        cam["snapshots"] = {"enabled": True, "bounding_box": True}
    path.write_text(yaml.safe_dump(cfg))
    return path


def proc_times(pid: int) -> tuple[int, int] | None:
    """(own utime+stime, reaped children's cutime+cstime) in clock ticks; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def role_of(pid: int, root: int, detectors: set[int], cameras: set[int]) -> str:
    if pid == root:
        return "main"
    if pid in detectors:
        return "detector"
    if pid in cameras:
        return "camera"
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "other"
    if args and b"ffmpeg" in Path(args[0].decode()).name.encode():
        return "ffmpeg_detect" if b"pipe:" in args else "ffmpeg_segments"
    return "other"


def get_stats(port: int) -> dict[str, Any]:
    return dict(json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats", timeout=5).read()))


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def measure(source: Path, config: Path, port: int, cameras: int, warmup: float, seconds: float) -> dict[str, Any]:
    proc = start_daemon(config, source)
    try:
        wait_for_api(port, 90)
        time.sleep(warmup)
        load_start = loadavg()
        pids = descendants(proc.pid)
        before = {pid: t for pid in pids if (t := proc_times(pid)) is not None}
        t0 = time.monotonic()
        rates: list[float] = []
        stats: dict[str, Any] = {}
        while time.monotonic() - t0 < seconds:
            time.sleep(min(5.0, max(0.0, seconds - (time.monotonic() - t0))))
            stats = get_stats(port)
            rates.extend(float(v["detection_fps"]) for k, v in stats.items() if k.startswith("cam"))
        elapsed = time.monotonic() - t0
        after = {pid: t for pid in descendants(proc.pid) if (t := proc_times(pid)) is not None}
        detectors = {int(d["pid"]) for d in stats.get("detectors", {}).values() if d.get("pid")}
        camera_pids = {int(v["pid"]) for k, v in stats.items() if k.startswith("cam") and v.get("pid")}
        ticks = dict.fromkeys(ROLES, 0)
        for pid, (own, reaped) in after.items():
            own0, reaped0 = before.get(pid, (0, 0))
            ticks[role_of(pid, proc.pid, detectors, camera_pids)] += own - own0
            ticks["reaped"] += reaped - reaped0
        # a live process gone within the window: what it used before the window started is not counted
        by_role = {k: 100.0 * v / CLK_TCK / elapsed for k, v in ticks.items()}
        total = sum(by_role.values())
        calls = statistics.fmean(rates) if rates else 0.0
        det_ms = [float(d.get("inference_speed", 0.0)) for d in stats.get("detectors", {}).values()]
        return {
            "cpu_percent_total": round(total, 2),
            "cpu_percent_per_camera": round(total / cameras, 2),
            "cpu_percent_by_role": {k: round(v, 2) for k, v in by_role.items()},
            "detector_calls_per_camera_second": round(calls, 3),
            "detector_cpu_ms_per_call": round(10.0 * by_role["detector"] / (calls * cameras), 2) if calls else None,
            "inference_ms": det_ms,
            "load_start": load_start,
            "load_end": loadavg(),
            "seconds": round(elapsed, 1),
        }
    finally:
        stop_daemon(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="a worktree of the code before the change")
    parser.add_argument("--after", type=Path, default=REPO, help="the code after (default: this tree)")
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--modes", nargs="+", default=["busy", "idle"], choices=["idle", "busy"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=30.0)
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument(
        "--after-input-args",
        default="",
        help="also run the after tree with these ffmpeg input args added (a third code, 'after+args')",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "side_by_side.json")
    args = parser.parse_args()

    from frigate_like.video.binaries import find_ffmpeg

    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="fl-sbs-") as tmpdir:
        tmp = Path(tmpdir)
        idle = make_idle_clip(tmp, find_ffmpeg())
        for rnd in range(args.rounds):
            for mode in args.modes:
                for n in args.cameras:
                    order = ["before", "after"] + (["after+args"] if args.after_input_args else [])
                    if rnd % 2:
                        order.reverse()
                    for code in order:
                        port = free_port()
                        run_dir = tmp / f"{rnd}-{mode}-{n}-{code}"
                        run_dir.mkdir()
                        video = idle if mode == "idle" else PERSON
                        extra = args.after_input_args if code == "after+args" else ""
                        config = config_for(run_dir, n, video, port, args.mqtt_port, extra)
                        row = {"round": rnd, "code": code, "mode": mode, "cameras": n}
                        row |= measure(trees[code.split("+")[0]], config, port, n, args.warmup, args.seconds)
                        runs.append(row)
                        print(json.dumps(row), flush=True)
    summary = summarise(runs)
    for line in summary:
        print(line)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpu": _cpu_model(), "cores": os.cpu_count()}
    doc = {"machine": machine, "trees": {k: str(v) for k, v in trees.items()}, "args": vars(args), "runs": runs}
    args.out.write_text(json.dumps(doc, indent=2, default=str))
    print(f"wrote {args.out}")


def summarise(runs: list[dict[str, Any]]) -> list[str]:
    lines = []
    for mode in sorted({r["mode"] for r in runs}):
        for n in sorted({r["cameras"] for r in runs}):
            codes = {c: [r for r in runs if r["mode"] == mode and r["cameras"] == n and r["code"] == c]
                     for c in ("before", "after", "after+args")}  # fmt: skip
            if not codes["before"]:
                continue
            per = {c: statistics.fmean(r["cpu_percent_per_camera"] for r in rs) for c, rs in codes.items() if rs}
            for code in ("after", "after+args"):
                if code in per:
                    ratio = per[code] / per["before"] if per["before"] else float("nan")
                    lines.append(
                        f"{mode} x{n}: before {per['before']:.2f} %/camera, {code} {per[code]:.2f} %/camera, "
                        f"{code}/before {ratio:.2f}"
                    )
    return lines


if __name__ == "__main__":
    main()
