"""A writer for a camera whose source is a named pipe: a video played in real time as MPEG-TS into a FIFO."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from frigate_like.video.binaries import find_ffmpeg


@contextmanager
def pipe_writer(fifo: Path, video: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """ffmpeg playing ``video`` (looped, ``-re``) into ``fifo``; it waits in open() for a reader.
    Killed at the end (SIGKILL also ends a process the test stopped with SIGSTOP)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [find_ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1",
             "-i", str(video), "-c", "copy", "-f", "mpegts", "-y", str(fifo)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
