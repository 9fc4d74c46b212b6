"""Files served and written: a requested path resolved inside its root (links followed, then checked).

Every view that sends a file goes through :func:`resolve_inside`: the path is resolved with
every symlink and ``..`` followed, and only then compared with the resolved root, so a link
planted under a served folder (to ``/etc/passwd``, ``/proc/self/environ``, ``../``) is
refused like a missing file: ``NotFound`` with the same message, whether or not its target
exists. :func:`write_private_text` writes a file that holds secrets readable by its owner only.
"""

from __future__ import annotations

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
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o600)  # O_CREAT's mode is only used when the file is new
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
