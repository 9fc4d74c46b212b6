"""Starts one ffmpeg process the way the capture needs it: bound to its parent, stderr into a logger.

ffmpeg dies with the camera process: it is started with ``PR_SET_PDEATHSIG=SIGTERM`` (Linux).
The kernel sends that signal when the *thread* that forked it ends, so the caller must start
ffmpeg from a thread that outlives it (the capture's watchdog does). That needs a
``preexec_fn``; it only calls ``prctl`` and ``getppid`` (no locks, no logging, no imports),
which is safe in a threaded parent. A detect ffmpeg would also die of a broken pipe once
nobody reads its stdout, but a record-only one writes no pipe and would otherwise be orphaned.

Caveat: when the process is killed outright, the kernel hands ffmpeg from each dying thread
to the next and signals it every time; a second SIGTERM makes ffmpeg abort its I/O, so the
segment in progress may be cut. The orderly path (``CameraCapture.stop()``) sends exactly one.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import IO

from frigate_like.video.ffmpeg import FfmpegCommand, ffmpeg_env

_PR_SET_PDEATHSIG = 1
_ERROR_WORDS = re.compile(rb"error|fail|invalid|unable|refused|timed out|not found", re.IGNORECASE)


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking the kernel to SIGTERM the child when the forking thread ends (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the child
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: no one would signal us
            os._exit(1)

    return preexec


def start_ffmpeg(command: FfmpegCommand, preexec: Callable[[], None] | None) -> subprocess.Popen[bytes]:
    """Starts ``command``: raw frames on a stdout pipe (detect only), stderr on a pipe, TZ=UTC.

    Pipes are unbuffered: frames are read with ``os.readv`` straight into shared memory.
    """
    proc = subprocess.Popen(
        command.args,
        stdin=subprocess.DEVNULL,  # ffmpeg must never wait for a keypress or an overwrite answer
        stdout=subprocess.PIPE if command.detect else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        bufsize=0,
        env=ffmpeg_env(),
        preexec_fn=preexec,
    )
    if proc.stdout is not None and command.frame_size:
        grow_pipe(proc.stdout, command.frame_size)
    return proc


def grow_pipe(pipe: IO[bytes], frame_size: int) -> None:
    """Asks for a pipe that holds a whole frame: ffmpeg writes it in one go, we read it in one go.

    A 64 KiB default pipe splits a 768x432 frame into 8 write/wake-up/read rounds. Linux
    caps unprivileged sizes at /proc/sys/fs/pipe-max-size (1 MiB by default); failing is harmless.
    """
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if setsize is None:
        return
    for size in (frame_size, 1 << 20):
        try:
            fcntl.fcntl(pipe.fileno(), setsize, size)
            return
        except OSError:
            continue


def log_stderr(stderr: IO[bytes], log: logging.Logger) -> None:
    """Logs ffmpeg's stderr line by line; returns at EOF, i.e. once that ffmpeg is gone."""
    fd, pending = stderr.fileno(), b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        # progress lines end in \r, messages in \n
        *lines, pending = re.split(rb"[\r\n]", pending + chunk)
        for line in lines:
            _log_line(log, line)
    _log_line(log, pending)


def _log_line(log: logging.Logger, line: bytes) -> None:
    if line.strip():
        level = logging.ERROR if _ERROR_WORDS.search(line) else logging.WARNING
        log.log(level, "%s", line.decode(errors="replace").rstrip())
