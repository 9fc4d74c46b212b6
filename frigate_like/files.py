"""Resolves a requested path inside a served folder: links followed first, then checked to stay inside."""

from __future__ import annotations

from pathlib import Path

from frigate_like.errors import NotFound


def resolve_served(root: Path, relative: str) -> Path:
    """The real path of ``root/relative``; ``NotFound`` when it is missing or lies outside ``root``.

    ``..``, absolute parts and every symlink are resolved before the check, so neither
    ``../..`` nor a link inside ``root`` that points out of it gets through.
    """
    real_root = root.resolve()
    if "\0" in relative:
        raise NotFound("no such file or folder")
    try:
        real = (real_root / relative.lstrip("/")).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        raise NotFound(f"no such file or folder: {relative!r}") from None
    if real != real_root and real_root not in real.parents:
        raise NotFound(f"no such file or folder: {relative!r}")
    return real


def is_inside(root: Path, path: Path) -> bool:
    """Whether ``path``, links resolved, is ``root`` or inside it (a dangling link is not)."""
    real_root = root.resolve()
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return real == real_root or real_root in real.parents
