"""What a busy camera's one ffmpeg spends its CPU on, part by part, in real time (``-re``).

The daemon's capture command for the person video (768x432, 10 fps H.264 with B-frames), and
the same command with parts taken away or options added, all running side by side for
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_per_camera import CLK_TCK, PERSON, REPO, _cpu_model  # noqa: E402

from frigate_like.video.ffmpeg import SURVIVABLE_MP4  # noqa: E402  (the segments as the capture writes them)

INPUT = ["-hide_banner", "-loglevel", "warning", "-re", "-stream_loop", "-1", "-fflags", "+genpts"]
DECODER = ["-threads", "1", "-i", str(PERSON)]
DETECT = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-vf", "fps=5,scale=768:432:flags=fast_bilinear", "pipe:"]


def segments(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        "-f", "segment", "-segment_time", "10", "-segment_format", "mp4", "-reset_timestamps", "1",
        "-strftime", "1", "-c", "copy", "-an", "-segment_format_options", SURVIVABLE_MP4,
        "-segment_list", str(folder / "segments.csv"), "-segment_list_type", "csv",
        str(folder / "%Y%m%d%H%M%S.mp4"),
    ]  # fmt: skip


VARIANTS: dict[str, Callable[[Path], list[str]]] = {
    "today": lambda d: INPUT + DECODER + DETECT + segments(d),
    "detect_only": lambda d: INPUT + DECODER + DETECT,
    "decode_null": lambda d: INPUT + DECODER + ["-f", "null", "-"],
    "copy_only": lambda d: INPUT + DECODER + segments(d),
    "skip_loop_filter": lambda d: INPUT + ["-skip_loop_filter", "all"] + DECODER + DETECT + segments(d),
}


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def drain(proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdout is not None
    while proc.stdout.read(1 << 20):
        pass


def one_round(tmp: Path, ffmpeg: str, seconds: float, startup: float) -> dict[str, float]:
    procs = {}
    for name, command in VARIANTS.items():
        proc = subprocess.Popen([ffmpeg, *command(tmp / name)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        threading.Thread(target=drain, args=(proc,), daemon=True).start()
        procs[name] = proc
    try:
        time.sleep(startup)
        start = {name: cpu_ticks(proc.pid) for name, proc in procs.items()}
        began = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - began
        return {name: 100.0 * (cpu_ticks(proc.pid) - start[name]) / CLK_TCK / elapsed for name, proc in procs.items()}
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
            row = one_round(Path(tmpdir) / str(index), ffmpeg, args.seconds, args.startup)
            rounds.append({"cpu_percent": {k: round(v, 3) for k, v in row.items()}, "load": [load, os.getloadavg()[0]]})
            print(json.dumps(rounds[-1]), flush=True)
    medians = {name: round(statistics.median(r["cpu_percent"][name] for r in rounds), 2) for name in VARIANTS}
    for name, value in medians.items():
        print(f"{name:18s} {value:.2f} % of a core")
    doc = {"machine": {"cpu": _cpu_model(), "cores": os.cpu_count()}, "args": vars(args), "rounds": rounds,
           "median_cpu_percent": medians}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
