"""Writes one camera's part of a manual recording: decoded frames into an H.264 mp4, one CSV row per frame.

Frames come from the tracking thread (copied out of the shared-memory ring) and wait in a
bounded queue; a writer thread pipes each one, raw yuv420p, into an ffmpeg libx264 encoder
and only then appends the frame's CSV row, so the CSV has exactly as many rows as the video
has frames. The encoder starts with the first frame (its size comes from the frame), so a
camera that delivers nothing leaves no empty file. The video has a constant frame rate (the
camera's detect fps); the CSV holds each frame's real capture time.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import queue
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

from frigate_like.video.launch import log_stderr

logger = logging.getLogger(__name__)

CSV_HEADER = ("frame_number", "timestamp_from_zero_s", "timestamp_utc_s", "timestamp_utc_iso8601")
QUEUE_SECONDS = 4.0  # frames that may wait for the encoder before new ones are dropped
ENCODER_TIMEOUT_S = 60.0
_END = None


@dataclass(frozen=True)
class CameraSource:
    """A camera as manual recording sees it.

    ``read_frame(slot, frame_time)`` copies a frame out of the camera's ring (None once the slot
    was overwritten); ``upstream_drops()`` is the running count of frames lost before they
    reached the main process (capture skips plus dropped updates).
    """

    name: str
    index: int
    fps: float
    read_frame: Callable[[int, float], np.ndarray | None]
    upstream_drops: Callable[[], int] = lambda: 0


def encoder_args(ffmpeg_bin: str, width: int, height: int, fps: float, out: Path) -> list[str]:
    """ffmpeg reading raw yuv420p frames on stdin and writing an H.264 mp4 a browser can seek."""
    rate = f"{fps:g}"
    return [
        ffmpeg_bin, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-r", rate, "-i", "pipe:0",
        "-c:v", "libx264", "-preset", "veryfast",  # cheap enough for several cameras on a small box
        "-g", str(max(1, round(fps * 2))),  # a key frame every 2 s: seeking lands close to the asked time
        "-pix_fmt", "yuv420p",  # what every browser decodes
        "-fps_mode", "passthrough",  # one output frame per input frame: never dup or drop (rows == frames)
        "-movflags", "+faststart",  # index first, so playback starts before the whole file is read
        "-y", str(out),
    ]  # fmt: skip


class CameraWriter:
    """One camera's encoder, CSV and counters within one recording; ``finish()`` closes both files."""

    def __init__(
        self,
        source: CameraSource,
        video_path: Path,
        csv_path: Path,
        ffmpeg_bin: str,
        *,
        zero: float = 0.0,
    ) -> None:
        self.source = source
        self.video_path = video_path
        self.csv_path = csv_path
        self.zero = zero  # the recording's shared time origin (epoch s)
        self._ffmpeg_bin = ffmpeg_bin
        self._queue: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue(
            maxsize=max(4, round(source.fps * QUEUE_SECONDS))
        )
        self._upstream_at_start = source.upstream_drops()
        self.frames = 0
        self.dropped = 0
        self.first_time: float | None = None
        self.last_time: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._csv_file: IO[str] | None = None
        self._csv: Any = None
        self._failed = False
        self._log_thread: threading.Thread | None = None
        self._thread = threading.Thread(target=self._run, name=f"manual-record-{source.name}", daemon=True)
        self._thread.start()

    # -- producer side (tracking thread) ----------------------------------------------------------
    def offer(self, frame: np.ndarray, frame_time: float) -> None:
        """Queues a frame copy; a full queue drops it (counted): the tracking thread never waits."""
        try:
            self._queue.put_nowait((frame, frame_time))
        except queue.Full:
            self.dropped += 1

    def drop(self) -> None:
        """Counts a frame that could not be copied (its ring slot was already reused)."""
        self.dropped += 1

    # -- writer thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            frame, frame_time = item
            if self._failed:
                self.dropped += 1
                continue
            try:
                self._write(frame, frame_time)
            except Exception as exc:  # keep draining the queue: finish() must never wait on a dead thread
                self._failed = True
                self.dropped += 1
                logger.error("manual recording of %s: the encoder failed: %s", self.source.name, exc)

    def _write(self, frame: np.ndarray, frame_time: float) -> None:
        if self._proc is None:
            self._open(frame)
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(np.ascontiguousarray(frame).data)
        self._csv.writerow(
            (
                self.frames,
                f"{frame_time - self.zero:.6f}",
                f"{frame_time:.6f}",
                datetime.fromtimestamp(frame_time, UTC).isoformat(timespec="microseconds"),
            )
        )
        self.frames += 1
        if self.first_time is None:
            self.first_time = frame_time
        self.last_time = frame_time

    def _open(self, frame: np.ndarray) -> None:
        rows, width = frame.shape[:2]
        height = rows * 2 // 3  # yuv420p: the Y plane plus U and V at a quarter size each
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        self._csv_file = self.csv_path.open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(CSV_HEADER)
        args = encoder_args(self._ffmpeg_bin, width, height, self.source.fps, self.video_path)
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._log_thread = log_ffmpeg(self._proc, f"ffmpeg.manual.{self.source.name}")

    # -- end ------------------------------------------------------------------------------------
    def finish(self, timeout: float = ENCODER_TIMEOUT_S) -> dict[str, Any]:
        """Writes what is queued, closes the encoder and the CSV; returns this camera's statistics."""
        self._queue.put(_END)  # blocks at most until the writer takes one frame
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error("manual recording of %s: the writer did not finish in %.0f s", self.source.name, timeout)
        proc = self._proc
        if proc is not None:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):  # a dead encoder: its pipe is broken
                    proc.stdin.close()  # EOF: the encoder flushes and writes the mp4 index
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            if code != 0:
                logger.error("manual recording of %s: ffmpeg exited with %s", self.source.name, code)
            close_ffmpeg_log(proc, self._log_thread)
        if self._csv_file is not None:
            self._csv_file.close()
        upstream = max(0, self.source.upstream_drops() - self._upstream_at_start)
        return self.statistics(upstream)

    def statistics(self, upstream_drops: int = 0) -> dict[str, Any]:
        """Frames, duration, mean fps, dropped frames, first/last timestamp of this camera's video."""
        duration = 0.0
        if self.first_time is not None and self.last_time is not None:
            duration = self.last_time - self.first_time
        return {
            "camera": self.source.name,
            "camera_index": self.source.index,
            "video": self.video_path.name if self.frames else None,
            "frames": self.frames,
            "duration_seconds": round(duration, 6),
            "mean_fps": round((self.frames - 1) / duration, 3) if duration > 0 else None,
            "dropped_frames": self.dropped + upstream_drops,
            "first_timestamp": self.first_time,
            "last_timestamp": self.last_time,
            "first_timestamp_from_zero_s": None if self.first_time is None else round(self.first_time - self.zero, 6),
            "last_timestamp_from_zero_s": None if self.last_time is None else round(self.last_time - self.zero, 6),
        }


def log_ffmpeg(proc: subprocess.Popen[bytes], logger_name: str) -> threading.Thread:
    """A thread logging ``proc``'s stderr lines until it exits."""
    assert proc.stderr is not None
    thread = threading.Thread(
        target=log_stderr, args=(proc.stderr, logging.getLogger(logger_name)), name=logger_name, daemon=True
    )
    thread.start()
    return thread


def close_ffmpeg_log(proc: subprocess.Popen[bytes], thread: threading.Thread | None) -> None:
    """After ``proc`` exited: lets its log thread read to EOF, then closes the pipe."""
    if thread is not None:
        thread.join(5.0)
    if proc.stderr is not None:
        proc.stderr.close()


def utc_iso(epoch: float) -> str:
    """``epoch`` as an ISO 8601 UTC string (for statistics files)."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")
