"""What a busy camera's one ffmpeg spends its CPU on, part by part, in real time (``-re``).

The daemon's capture command for the person video (768x432, 10 fps H.264 with B-frames), built by
``video/ffmpeg.py`` for the side-by-side bench's camera, and the same with roles taken away or
options added, all running side by side for
``--seconds`` after a few seconds of start-up, ``--rounds`` times; each one's stdout is read
and discarded as the camera process would. CPU = utime+stime of each ffmpeg from /proc,
in % of one core.

- ``today``: decode, ``fps=5`` + scale, raw frames on a pipe, and the clips segments (copy);
- ``detect_only``: without the segments output;
- ``decode_null``: decode every frame, output nothing (the decode's own cost plus pacing);
- ``copy_only``: no decode at all, only the segments (demux, ``-re`` pacing, mp4 muxing);
- ``skip_loop_filter``: ``today`` with ``-skip_loop_filter all`` (changes snapshot scores:
  BENCHMARKS.md, "One decode path per camera, and decoder options").

    .venv/bin/python bench/ffmpeg_parts.py --seconds 40 --rounds 3

Writes ``bench/results/ffmpeg_parts.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_per_camera import CLK_TCK, PERSON, REPO, _cpu_model, cpu_ticks, free_port  # noqa: E402
from side_by_side import config_for  # noqa: E402

from frigate_like.config import CameraConfig, load_config  # noqa: E402
from frigate_like.video.ffmpeg import build_command, ffmpeg_env, segment_dir  # noqa: E402

SKIP_LOOP_FILTER = "-skip_loop_filter all"


def camera(tmp: Path, input_args: str = "") -> CameraConfig:
    """The side-by-side bench's busy camera (detect + clips), with ``input_args`` added to its input."""
    tmp.mkdir(parents=True, exist_ok=True)
    config = load_config(config_for(tmp, 1, PERSON, free_port(), 1883, input_args))
    return next(iter(config.cameras.values()))


def command(cam: CameraConfig, cache: Path, ffmpeg: str, roles: tuple[str, ...]) -> list[str]:
    """The daemon's own command for ``roles`` of the camera's input (video/ffmpeg.py builds it)."""
    built = build_command(cam, cam.ffmpeg.inputs[0], cache, ffmpeg, "parts", roles)
    assert built is not None
    if "clips" in roles:
        segment_dir(cache, cam.name, "clips").mkdir(parents=True, exist_ok=True)
    return built.args


def variants(tmp: Path, ffmpeg: str) -> dict[str, list[str]]:
    cam, skipping = camera(tmp / "plain"), camera(tmp / "skipping", SKIP_LOOP_FILTER)
    detect_only = command(cam, tmp / "detect_only", ffmpeg, ("detect",))
    decode = detect_only[: detect_only.index("-i") + 2]  # everything up to the input, no output
    return {
        "today": command(cam, tmp / "today", ffmpeg, ("detect", "clips")),
        "detect_only": detect_only,
        "decode_null": [*decode, "-f", "null", "-"],
        "copy_only": command(cam, tmp / "copy_only", ffmpeg, ("clips",)),
        "skip_loop_filter": command(skipping, tmp / "skip_loop_filter", ffmpeg, ("detect", "clips")),
    }


def drain(proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdout is not None
    while proc.stdout.read(1 << 20):
        pass


def one_round(commands: dict[str, list[str]], seconds: float, startup: float) -> dict[str, float]:
    procs = {}
    for name, args in commands.items():
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ffmpeg_env())
        threading.Thread(target=drain, args=(proc,), daemon=True).start()
        procs[name] = proc
    try:
        time.sleep(startup)
        start = cpu_ticks([proc.pid for proc in procs.values()])
        began = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - began
        end = cpu_ticks([proc.pid for proc in procs.values()])
        return {name: 100.0 * (end[proc.pid] - start[proc.pid]) / CLK_TCK / elapsed for name, proc in procs.items()}
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--startup", type=float, default=8.0, help="seconds before the window opens")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ffmpeg_parts.json")
    args = parser.parse_args()

    from frigate_like.video.binaries import find_ffmpeg

    ffmpeg = find_ffmpeg()
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="fl-ffparts-") as tmpdir:
        for index in range(args.rounds):
            load = os.getloadavg()[0]
            row = one_round(variants(Path(tmpdir) / str(index), ffmpeg), args.seconds, args.startup)
            rounds.append({"cpu_percent": {k: round(v, 3) for k, v in row.items()}, "load": [load, os.getloadavg()[0]]})
            print(json.dumps(rounds[-1]), flush=True)
    medians = {
        name: round(statistics.median(r["cpu_percent"][name] for r in rounds), 2) for name in rounds[0]["cpu_percent"]
    }
    for name, value in medians.items():
        print(f"{name:18s} {value:.2f} % of a core")
    doc = {"machine": {"cpu": _cpu_model(), "cores": os.cpu_count()}, "args": vars(args), "rounds": rounds,
           "median_cpu_percent": medians}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
