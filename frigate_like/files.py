"""Files served and written: a requested path resolved inside its root (links followed, then checked).

Every view that sends a file goes through :func:`resolve_inside`: the path is resolved with
every symlink and ``..`` followed, and only then compared with the resolved root, so a link
planted under a served folder (to ``/etc/passwd``, ``/proc/self/environ``, ``../``) is
refused like a missing file: ``NotFound`` with the same message, whether or not its target
exists. :func:`write_atomically` writes a file whole or not at all (never a temp file left behind);
:func:`write_private_text` does so for a file that holds secrets, readable by its owner only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from frigate_like.errors import NotFound


def resolve_inside(
    roots: Path | Iterable[Path], requested: Path | str, *, what: str = "file", folders: bool = False
) -> Path:
    """The real path of ``requested`` (relative to the first root) when it is a regular file inside a root
    (or, with ``folders``, a folder inside a root or the root itself: the recordings browser lists them).

    ``NotFound`` otherwise: outside every root after following links, missing, a folder, a
    device or a ``/proc`` file, a link loop, a NUL byte in the name.
    """
    root_list = [roots] if isinstance(roots, Path) else list(roots)
    text = str(requested)
    refused = NotFound(f"no such {what}: {Path(text).name!r}")
    if not root_list or "\0" in text or not text:
        raise refused
    path = Path(text) if Path(text).is_absolute() else root_list[0] / text
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        raise refused from None
    if not any(is_within(real, root) for root in root_list) or not (real.is_file() or (folders and real.is_dir())):
        raise refused
    return real


def is_within(real: Path, root: Path) -> bool:
    """Whether the already resolved ``real`` is ``root`` (resolved here) or lies inside it."""
    try:
        resolved = root.resolve()
    except (OSError, RuntimeError):
        return False
    return real == resolved or resolved in real.parents


def resolves_within(path: Path, root: Path) -> bool:
    """Whether ``path``, links followed, lies inside ``root`` (a dangling link or a loop does not)."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return is_within(real, root)


def write_private_text(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` atomically, mode 0600 from the start (never readable by others)."""
    write_atomically(path, text.encode("utf-8"), tmp=path.with_name(f".{path.name}.{os.getpid()}.tmp"), mode=0o600)


def write_atomically(path: Path, data: bytes, *, tmp: Path | None = None, mode: int | None = None) -> None:
    """``path`` holds its old content or ``data``, never part of it; the temp file (default
    ``<name>.tmp`` beside it) is removed whatever fails (a full disk, an I/O error), then the error raised.

    ``mode``: the file's permissions from its creation on (default: 0666 less the umask)."""
    tmp = tmp if tmp is not None else path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666 if mode is None else mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        if mode is not None:
            os.chmod(tmp, mode)  # O_CREAT's mode is only used when the file is new
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
