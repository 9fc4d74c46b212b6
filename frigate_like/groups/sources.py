"""Which sources a camera group may open: camera URLs, a V4L2 device, files under the configured roots.

A group camera's ``source`` goes to ffmpeg's ``-i``, which opens far more than cameras:
``concat:``, ``subfile:``, ``data:``, any file on the host (``/proc/self/environ``), any URL
(a request to the local network for whoever may apply a group). So:

- URLs: ``rtsp``, ``rtsps``, ``rtmp``, ``rtmps``; ``http``/``https`` only with
  ``camera_groups.http_sources: true``. Any other ``scheme:`` is refused.
- ``/dev/videoN``: a V4L2 device.
- A file (a path, or ``file://``): absolute, and inside ``camera_groups.file_roots`` or
  ``paths.recordings_roots`` after following links. A file outside them is refused with the
  same message whether it exists or not, so the answer tells nothing about the host's files.
"""

from __future__ import annotations

import re
from pathlib import Path

from frigate_like.config import FrigateConfig
from frigate_like.errors import BadRequest
from frigate_like.files import is_within

CAMERA_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "rtmps"})
HTTP_SCHEMES = frozenset({"http", "https"})
V4L2_DEVICE = re.compile(r"/dev/video\d{1,3}")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def file_roots(cfg: FrigateConfig) -> list[Path]:
    return [*cfg.camera_groups.file_roots, *cfg.paths.recordings_roots]


def check_source(key: str, source: str, cfg: FrigateConfig) -> None:
    """Raises ``BadRequest`` (naming ``key``) unless ffmpeg may open ``source`` for a group camera."""
    if any(ord(c) < 32 for c in source):
        raise BadRequest(f"{key}: control characters are not allowed")
    scheme = _SCHEME.match(source)
    if scheme is not None and scheme.group(1).lower() != "file":
        name = scheme.group(1).lower()
        allowed = CAMERA_SCHEMES | (HTTP_SCHEMES if cfg.camera_groups.http_sources else frozenset())
        if name not in allowed or not source[scheme.end() :].startswith("//"):
            http = "" if cfg.camera_groups.http_sources else " (http/https: set camera_groups.http_sources)"
            raise BadRequest(
                f"{key}: use a {', '.join(sorted(allowed))} URL{http}, a /dev/videoN device or a file; "
                f"{name}: is not allowed"
            )
        return
    path = Path(source.removeprefix("file://"))
    if V4L2_DEVICE.fullmatch(str(path)):
        if not path.is_char_device():
            raise BadRequest(f"{key}: no capture device {path}")
        return
    if not path.is_absolute():
        raise BadRequest(f"{key}: a file source needs an absolute path, got {str(path)!r}")
    roots = file_roots(cfg)
    try:
        real = path.resolve()  # not strict: a missing file is refused like an existing one below
    except (OSError, RuntimeError):
        real = None
    if real is None or not any(is_within(real, root) for root in roots):
        where = ", ".join(str(r) for r in roots) or "none are configured"
        raise BadRequest(f"{key}: file sources must lie under camera_groups.file_roots ({where})")
    if not real.is_file():
        raise BadRequest(f"{key}: file not found: {path}")
