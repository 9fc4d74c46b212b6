"""Which sources a camera group may open: camera URLs, a V4L2 device, files under the configured roots.

A group camera's ``source`` goes to ffmpeg's ``-i``, which opens far more than cameras:
``concat:``, ``subfile:``, ``data:``, any file on the host (``/proc/self/environ``), any URL
(a request to the local network for whoever may apply a group). So:

- URLs: ``rtsp``, ``rtsps``, ``rtmp``, ``rtmps``; ``http``/``https`` only with
  ``camera_groups.http_sources: true``. Any other ``scheme:`` is refused, and so is a URL
  without a host or with a port outside 1-65535.
- Any source: valid Unicode (no lone surrogate), no control character, at most
  ``params.MAX_TEXT`` characters (``api/params.checked_text``, the check of every request string).
- ``/dev/videoN``: a V4L2 device.
- A file (a path, or ``file://``): absolute, and inside ``camera_groups.file_roots`` or
  ``paths.recordings_roots`` after following links. A file outside them is refused with the
  same message whether it exists or not, so the answer tells nothing about the host's files.
"""

from __future__ import annotations

import re
from pathlib import Path

from frigate_like.api.params import checked_path, checked_text
from frigate_like.config import FrigateConfig
from frigate_like.errors import BadRequest
from frigate_like.files import is_within

CAMERA_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "rtmps"})
HTTP_SCHEMES = frozenset({"http", "https"})
V4L2_DEVICE = re.compile(r"/dev/video\d{1,3}")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def file_roots(cfg: FrigateConfig) -> list[Path]:
    return [*cfg.camera_groups.file_roots, *cfg.paths.recordings_roots]


_HOST_PORT = re.compile(r"(?P<host>\[[^\]]*\]|[^:\[\]]*)(?::(?P<port>.*))?")


def _check_authority(key: str, url: str) -> None:
    """A host, and a port in 1-65535 if any, found as ffmpeg finds them: the authority ends at the first
    ``/``, ``?`` or ``#``, and the host starts after its last ``@`` (the user info may hold anything else).
    Never echoes the URL: a malformed one may show a password."""
    rest = url.split("://", 1)[1]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host_port = _HOST_PORT.fullmatch(authority.rpartition("@")[2])
    port = host_port.group("port") if host_port is not None else ""
    number = port is None or (len(port) <= 5 and port.isascii() and port.isdigit() and 1 <= int(port) <= 65535)
    if host_port is None or not number:
        raise BadRequest(
            f"{key}: the URL's port must be a number in 1-65535 (in a password, write / ? # as %2F %3F %23)"
        )
    if host_port.group("host") in ("", "[]"):
        raise BadRequest(f"{key}: the URL names no host")


def check_source(key: str, source: str, cfg: FrigateConfig) -> None:
    """Raises ``BadRequest`` (naming ``key``) unless ffmpeg may open ``source`` for a group camera."""
    checked_text(key, source)
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
        _check_authority(key, source)
        return
    path = Path(checked_path(key, source.removeprefix("file://")))
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
