"""Folders the daemon writes to: checked at start with one clear line, and "disk full" told apart.

``prepare_folders`` creates and probes every folder before anything is started, so an
unwritable one ends the start with its config key, its path and what to do, not a traceback.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path

from frigate_like.errors import FrigateLikeError

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
DISK_FULL_TEXT = "No space left on device"  # how ffmpeg and the C library word ENOSPC


class StorageError(FrigateLikeError):
    """A folder the daemon needs cannot be written: the user must fix permissions or the path."""


def prepare_folders(folders: Sequence[tuple[str, Path]]) -> None:
    """Creates each ``(config key, folder)`` and checks a file can be written there; all problems at once."""
    problems: list[str] = []
    for key, folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if is_disk_full(exc):
                fix = "free space there"
            else:
                fix = f"make it writable by uid {os.getuid()}, or set {key} to a folder that is"
            problems.append(f"{key}: cannot write to {folder}: {reason}; {fix}")
    if problems:
        raise StorageError("; ".join(problems))


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS

