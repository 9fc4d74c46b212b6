"""Confines paths that come from requests to the configured folders: resolve first, then check.

``~`` is expanded, a relative path is taken from the default recordings folder, and the
result is resolved (``..`` and every symlink followed) before it is compared with the
resolved roots, so neither ``../..`` nor a link inside a root that points out of it gets
through. Callers that open a file later check it again with ``files.resolve_inside`` (a link
may be swapped in between).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from frigate_like.errors import BadRequest
from frigate_like.files import is_within

DEFAULT_RECORDINGS_DIR = "~/skellycam_data/recordings"


class AllowedRoots:
    """The folders manual recordings and playback may use; ``base`` is the default recordings folder."""

    def __init__(self, roots: Iterable[Path], base: Path) -> None:
        self.base = Path(os.path.expanduser(base))
        self.roots = [Path(os.path.expanduser(root)) for root in roots]
        if self.base not in self.roots:
            self.roots.append(self.base)

    def resolve(self, raw: str | Path) -> Path:
        """The real path of ``raw``; ``BadRequest`` when it lies outside every root."""
        text = str(raw)
        if not text.strip() or "\0" in text:
            raise BadRequest("the path is empty or invalid")
        path = Path(os.path.expanduser(text))
        if not path.is_absolute():
            path = self.base / path
        real = path.resolve()
        if not self.contains(real):
            raise BadRequest(f"{text} is outside the allowed folders ({', '.join(str(r) for r in self.roots)})")
        return real

    def contains(self, real: Path) -> bool:
        """True when the already resolved ``real`` is one of the roots or inside one."""
        return any(is_within(real, root) for root in self.roots)
