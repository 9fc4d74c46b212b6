"""Small file systems made (and removed) by a test: a tmpfs of a given size, or read-only."""

from __future__ import annotations

import errno
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """Mounts a tmpfs with ``options`` (e.g. ``size=4m``, ``ro,size=1m``) on ``folder``; skips the
    test when mounting is not allowed here."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(path: Path) -> None:
    """Writes zeros to ``path`` until its file system is full."""
    with path.open("wb", buffering=0) as out:  # unbuffered: closing it has nothing left to flush
        try:
            while True:
                out.write(bytes(64 * 1024))
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


@contextmanager
def kept_full(path: Path, poll: float = 0.02) -> Iterator[Path]:
    """Fills the file system of ``path`` and keeps it full until the block ends (space something else
    frees, e.g. a deleted segment, is taken back within ``poll`` s); then removes ``path``."""
    fill(path)
    stop = threading.Event()

    def keep() -> None:
        with path.open("ab", buffering=0) as out:
            while not stop.is_set():
                try:
                    out.write(bytes(4096))  # a tmpfs page
                except OSError:
                    stop.wait(poll)

    keeper = threading.Thread(target=keep, name="keep-full", daemon=True)
    keeper.start()
    try:
        yield path
    finally:
        stop.set()
        keeper.join(5)
        path.unlink(missing_ok=True)
