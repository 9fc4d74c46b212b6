"""CPU of the detect decode under decoder options, and of one ffmpeg with two outputs against two ffmpegs.

Runs ffmpeg on the person video as fast as it goes (no ``-re``), one decoder thread, the detect
output as the daemon builds it (fps 5, 768x432 yuv420p to a pipe that is thrown away), and
reads the CPU ffmpeg used (user+sys of the child, from ``os.wait4``). Variants alternate
within each round, so load from other users of the machine hits them alike; the figure per
variant is the median over rounds, in ms of CPU per second of video.

- ``detect``: today's detect ffmpeg; ``+skip_loop_filter``, ``+flags2_fast``, both: the decoder
  options (input side, before ``-i``);
- ``two_ffmpegs``: detect ffmpeg + the clips segmenter (``-c copy``), two processes (today);
- ``one_ffmpeg_two_outputs``: one ffmpeg, detect output + segment output.

    .venv/bin/python bench/decode_options.py --rounds 7

Writes ``bench/results/decode_options.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO.parent / "shared" / "media" / "one-by-one-person-detection.mp4"
DETECT_OUT = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-vf", "fps=5,scale=768:432:flags=fast_bilinear", "pipe:"]
DECODER_OPTIONS = {
    "detect": [],
    "+skip_loop_filter": ["-skip_loop_filter", "all"],
    "+flags2_fast": ["-flags2", "fast"],
    "+skip_loop_filter+flags2_fast": ["-skip_loop_filter", "all", "-flags2", "fast"],
}


def segment_out(folder: Path) -> list[str]:
    return [
        "-f", "segment", "-segment_time", "10", "-segment_format", "mp4", "-reset_timestamps", "1",
        "-c", "copy", "-an", str(folder / "%03d.mp4"),
    ]  # fmt: skip


def cpu_of(commands: list[list[str]]) -> float:
    """CPU seconds (user+sys) of ``commands`` run side by side, each to completion."""
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands]
    total = 0.0
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"ffmpeg failed: {proc.args!r}")
        total += usage.ru_utime + usage.ru_stime
    return total


def variants(ffmpeg: str, tmp: Path) -> dict[str, list[list[str]]]:
    base = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    found: dict[str, list[list[str]]] = {}
    for name, options in DECODER_OPTIONS.items():
        found[name] = [[*base, "-threads", "1", *options, "-i", str(VIDEO), *DETECT_OUT]]
    (tmp / "a").mkdir()
    (tmp / "b").mkdir()
    (tmp / "c").mkdir()
    found["two_ffmpegs"] = [
        [*base, "-threads", "1", "-i", str(VIDEO), *DETECT_OUT],
        [*base, "-i", str(VIDEO), *segment_out(tmp / "a")],
    ]
    found["one_ffmpeg_two_outputs"] = [[*base, "-threads", "1", "-i", str(VIDEO), *DETECT_OUT, *segment_out(tmp / "b")]]
    found["segmenter_alone"] = [[*base, "-i", str(VIDEO), *segment_out(tmp / "c")]]
    return found


def video_seconds(ffprobe: str) -> float:
    out = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(VIDEO)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout.strip())


def write_medians(out: Path, samples: dict[str, list[float]], unit: str, **about: Any) -> None:
    """Writes ``samples`` and their medians (``<unit>_median``) with the load average to ``out``; prints the medians."""
    result: dict[str, Any] = {
        **about,
        "load": Path("/proc/loadavg").read_text().split()[:3],
        f"{unit}_median": {k: round(statistics.median(v), 2) for k, v in samples.items()},
        "samples": {k: [round(x, 2) for x in v] for k, v in samples.items()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result[f"{unit}_median"], indent=2), "load", result["load"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "decode_options.json")
    args = parser.parse_args()
    from frigate_like.video.binaries import find_ffmpeg

    ffmpeg = find_ffmpeg()
    ffprobe = str(Path(ffmpeg).with_name("ffprobe")) if Path(ffmpeg).with_name("ffprobe").exists() else "ffprobe"
    seconds = video_seconds(ffprobe)
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="fl-decode-") as tmpdir:
        runs = variants(ffmpeg, Path(tmpdir))
        for rnd in range(args.rounds):
            names = list(runs) if rnd % 2 == 0 else list(reversed(runs))
            for name in names:
                samples.setdefault(name, []).append(1000.0 * cpu_of(runs[name]) / seconds)
    write_medians(args.out, samples, "cpu_ms_per_video_second", video=VIDEO.name, video_seconds=seconds)


if __name__ == "__main__":
    main()
