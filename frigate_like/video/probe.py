"""Does a network camera answer? One TCP connect (plus an RTSP OPTIONS for rtsp://), no ffmpeg.

The capture asks this every second while a source is down, so a camera that comes back is
seen within a second and its ffmpeg starts at once, while a camera that stays down costs a
connection attempt per second instead of a full ffmpeg start.

- ``rtsp://``: any RTSP reply to ``OPTIONS`` counts, ``401 Unauthorized`` too (many cameras
  ask for credentials even there; ffmpeg sends them). A port that accepts but does not speak
  RTSP (a camera still booting) does not count.
- other TCP schemes (``rtsps``, ``http(s)``, ``rtmp(s)``): the TCP connect alone.
- UDP-based or unknown schemes (``udp``, ``rtp``, ``srt``...): None, nothing to tell without
  ffmpeg; the caller then starts ffmpeg as before.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

PROBE_TIMEOUT = 1.0  # s for connect and reply together: a camera on the LAN answers in milliseconds
DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443, "rtmp": 1935, "rtmps": 443}


def network_source(path: str) -> bool:
    """A stream ffmpeg reaches over the network (``rtsp://``, ``http://``...), not a file or a device."""
    return "://" in path and not path.startswith("file:")


def source_address(url: str) -> tuple[str, int] | None:
    """``(host, port)`` a TCP-based source URL connects to, or None when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, a broken IPv6 address: ffmpeg will say so
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.hostname, port or DEFAULT_PORTS[scheme]


def options_request(url: str) -> bytes:
    """An RTSP OPTIONS for ``url``, its credentials left out (they would be sent in clear)."""
    parts = urlsplit(url)
    target = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    return f"OPTIONS {target} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: frigate-like\r\n\r\n".encode()


def probe_source(url: str, timeout: float = PROBE_TIMEOUT) -> bool | None:
    """True when the source at ``url`` answers, False when it does not (refused, unreachable,
    silent for ``timeout`` s, not RTSP), None when it cannot be told without ffmpeg."""
    address = source_address(url)
    if address is None:
        return None
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            if urlsplit(url).scheme.lower() != "rtsp":
                return True
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            sock.sendall(options_request(url))
            reply = b""
            while len(reply) < 5:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(64)
                if not chunk:
                    return False  # closed without an answer
                reply += chunk
            return reply.startswith(b"RTSP/")
    except (OSError, UnicodeError):  # refused, unreachable, timed out, no such host name (lookups ignore timeout)
        return False
