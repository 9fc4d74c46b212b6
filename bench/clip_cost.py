"""What an event's clip costs when it ends: cutting it (concat re-mux + the ffprobe check) or deferring the
cut to the first request (the segments kept beside the clips, copied or hard-linked).

Cuts the person video into 10 s clips segments (as the clips role does), then for a 30 s
event (5 s pre and post capture: 4 segments) measures, alternating over ``--rounds``:

- ``cut``: ``ClipWriter.cut_clip`` (ffmpeg concat + ffprobe), CPU of this process and its children;
- ``defer_copy``: ``DeferredClips.keep`` when the cache is on another file system (copies);
- ``defer_link``: the same on one file system (hard links);
- ``first_get``: ``DeferredClips.ensure`` cutting a kept clip (what the first viewer pays, once).

    .venv/bin/python bench/clip_cost.py --rounds 15

Writes ``bench/results/clip_cost.json``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from frigate_like.record.clips import ClipWriter
from frigate_like.record.deferred import DeferredClips
from frigate_like.record.segments import Segment
from frigate_like.video.binaries import find_ffmpeg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decode_options import write_medians  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO.parent / "shared" / "media" / "one-by-one-person-detection.mp4"


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def cpu_ms(fn: Callable[[], object]) -> float:
    """CPU (user+sys) of ``fn``, this process and the children it waited for, in ms."""
    before = _cpu()
    fn()
    return 1000.0 * (_cpu() - before)


def make_segments(folder: Path, ffmpeg: str) -> list[Segment]:
    folder.mkdir(parents=True)
    subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(VIDEO), "-t", "40", "-f", "segment", "-segment_time", "10",
         "-reset_timestamps", "1", "-c", "copy", "-an", str(folder / "%03d.mp4")],
        check=True,
    )  # fmt: skip
    base = time.time() - 100.0
    return [Segment(path, base + 10.0 * i, base + 10.0 * (i + 1)) for i, path in enumerate(sorted(folder.iterdir()))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "clip_cost.json")
    args, ffmpeg = parser.parse_args(), find_ffmpeg()
    writer = ClipWriter(ffmpeg, ffprobe_bin=shutil.which("ffprobe"))
    samples: dict[str, list[float]] = {"cut": [], "defer_copy": [], "defer_link": [], "first_get": []}
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="fl-clipcost-") as tmpdir, tempfile.TemporaryDirectory(
        prefix="fl-clipcost-", dir=shm if shm.is_dir() else None
    ) as other_fs:
        tmp = Path(tmpdir)
        local = make_segments(tmp / "cache", ffmpeg)
        remote = make_segments(Path(other_fs) / "cache", ffmpeg)
        clips = tmp / "clips"
        clips.mkdir()
        deferred = DeferredClips(clips, writer)
        start, end = local[0].start + 5.0, local[0].start + 35.0
        r_start, r_end = remote[0].start + 5.0, remote[0].start + 35.0
        for rnd in range(args.rounds):
            name = f"cam-{rnd}.mp4"
            samples["cut"].append(cpu_ms(partial(writer.cut_clip, local, start, end, clips / f"cut-{name}")))
            samples["defer_copy"].append(cpu_ms(partial(deferred.keep, remote, r_start, r_end, clips / f"c{name}")))
            samples["defer_link"].append(cpu_ms(partial(deferred.keep, local, start, end, clips / f"l{name}")))
            samples["first_get"].append(cpu_ms(partial(deferred.ensure, f"l{name}")))
            assert (clips / f"l{name}").is_file(), "the deferred clip was not cut"
    write_medians(args.out, samples, "cpu_ms", video=VIDEO.name, event="30 s (4 segments of 10 s)")

if __name__ == "__main__":
    main()
