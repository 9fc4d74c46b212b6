"""CPU of handing detect frames from ffmpeg to the capture's reader: how the pipe is read.

The detect output is raw yuv420p on ffmpeg's stdout (768x432: 497 664 bytes a frame). ffmpeg
writes it in 32 KB pieces (its I/O buffer) into a 64 KB pipe, so each frame costs a dozen and more
writes, reads and wake-ups on both sides. Variants of the reader (the capture's: poll, then ``readv``
straight into the frame's buffer):

- ``today``: as ffmpeg and Linux give it;
- ``big_pipe``: the pipe enlarged to hold a frame (``F_SETPIPE_SZ``), reads as they come;
- ``big_pipe+settle``: the same, and once a frame's first bytes are there the reader waits
  ``--settle-ms`` for ffmpeg to finish writing it, then reads what is there in one ``readv``.

Each run plays the person video in real time (``-re -stream_loop -1``, fps 5, 768x432, one decoder
thread, the daemon's detect output) for ``--seconds`` and counts the CPU of ffmpeg (``os.wait4``) and of
the reader thread (``time.thread_time``), the reader's ``readv`` calls and ffmpeg's context switches per
frame. Variants alternate within each round (order reversed every other round); figures are medians.

    .venv/bin/python bench/detect_pipe.py --seconds 40 --rounds 3

Writes ``bench/results/detect_pipe.json``.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import select
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from cpu_per_camera import _cpu_model  # noqa: E402

VIDEO = REPO.parent / "shared" / "media" / "one-by-one-person-detection.mp4"
FRAME = 768 * 432 * 3 // 2
VARIANTS = ("today", "big_pipe", "big_pipe+settle")


def run(variant: str, seconds: float, settle: float) -> dict[str, float]:
    command = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-threads", "1",
        "-i", str(VIDEO), "-f", "rawvideo", "-pix_fmt", "yuv420p",
        "-vf", "fps=5,scale=768:432:flags=fast_bilinear", "-frames:v", str(int(seconds * 5)), "pipe:",
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    if variant != "today":
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    wait = settle if variant.endswith("settle") else 0.0
    result: dict[str, float] = {}

    def read() -> None:
        buffer = memoryview(bytearray(FRAME))
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        frames, reads, start = 0, 0, time.thread_time()
        while True:
            got = 0
            while got < FRAME:
                if not poller.poll(1000):
                    continue
                if got == 0 and wait:
                    time.sleep(wait)
                n = os.readv(fd, [buffer[got:]])
                reads += 1
                if n == 0:
                    result.update(reader_cpu=time.thread_time() - start, frames=frames, reads=reads)
                    return
                got += n
            frames += 1

    reader = threading.Thread(target=read)
    reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    proc.stdout.close()
    result.update(ffmpeg_cpu=usage.ru_utime + usage.ru_stime, ffmpeg_switches=usage.ru_nvcsw + usage.ru_nivcsw)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="seconds of real-time video per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle-ms", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "detect_pipe.json")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    loads = [os.getloadavg()[0]]
    for round_ in range(args.rounds):
        for name in VARIANTS if round_ % 2 == 0 else tuple(reversed(VARIANTS)):
            runs[name].append(run(name, args.seconds, args.settle_ms / 1000))
            loads.append(os.getloadavg()[0])

    def median(results: list[dict[str, float]], key: str, scale: float = 1.0) -> float:
        return round(statistics.median(scale * r[key] / r["frames"] for r in results), 3)

    summary: dict[str, Any] = {
        name: {
            "ffmpeg_ms_per_frame": median(results, "ffmpeg_cpu", 1000),
            "reader_ms_per_frame": median(results, "reader_cpu", 1000),
            "reads_per_frame": median(results, "reads"),
            "ffmpeg_switches_per_frame": median(results, "ffmpeg_switches"),
        }
        for name, results in runs.items()
    }
    for figures in summary.values():
        # % of a core per camera at 5 frames a second
        figures["percent_per_camera"] = round(
            0.5 * (figures["ffmpeg_ms_per_frame"] + figures["reader_ms_per_frame"]), 3
        )
    report = {"cpu_model": _cpu_model(), "cpus": os.cpu_count(), "load_1min": loads, "seconds": args.seconds,
              "rounds": args.rounds, "settle_ms": args.settle_ms, "summary": summary, "runs": runs}  # fmt: skip
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for name, figures in summary.items():
        print(f"{name:16s} {figures}")
    print(f"load {loads}; wrote {args.out}")


if __name__ == "__main__":
    main()
