"""The RTMP server the ``rtmp`` role publishes to: is it listening, and which streams are live on it.

The server is nginx with ``libnginx-mod-rtmp`` (``docker/nginx-rtmp.conf``), run beside the
daemon as Frigate 0.8's image did. Its ``rtmp_stat`` page (XML) lists each application's
streams and flags the ones being published with ``<publishing/>``.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

RTMP_PORT = 1935
CONNECT_TIMEOUT = 1.0  # s: the server is local; a longer wait only delays the camera's ffmpeg
STAT_TTL = 2.0  # s a fetched stat page is reused: /api/config may be asked often


def stream_key(url: str) -> tuple[str, str]:
    """``rtmp://host/live/back`` → ``("live", "back")``: the application and the stream name."""
    path = urlsplit(url).path.strip("/")
    app, _, stream = path.rpartition("/")
    return app, stream


def server_listening(url: str, timeout: float = CONNECT_TIMEOUT) -> bool:
    """Whether something accepts TCP connections at the host and port of the RTMP ``url``."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or RTMP_PORT), timeout=timeout):
            return True
    except OSError:
        return False


def published_streams(stat_xml: bytes) -> set[tuple[str, str]]:
    """(application, stream) pairs that nginx-rtmp's stat page shows as being published."""
    root = ET.fromstring(stat_xml)
    live: set[tuple[str, str]] = set()
    for app in root.iter("application"):
        app_name = app.findtext("name") or ""
        for stream in app.iter("stream"):
            if stream.find("publishing") is not None:
                live.add((app_name, stream.findtext("name") or ""))
    return live


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT) as response:
        return bytes(response.read())


class RtmpStatus:
    """Which RTMP URLs are being published, from the server's stat page (re-read at most every 2 s).

    Without a stat page (``stat_url`` None) or while it cannot be read, nothing counts as published:
    ``/api/config`` then offers no stream that might not play.
    """

    def __init__(
        self,
        stat_url: str | None,
        *,
        fetch: Callable[[str], bytes] = _fetch,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stat_url = stat_url
        self._fetch, self._clock = fetch, clock
        self._lock = threading.Lock()
        self._live: set[tuple[str, str]] = set()
        self._read_at = float("-inf")
        self._failing = False

    def is_published(self, url: str | None) -> bool:
        if url is None or self.stat_url is None:
            return False
        return stream_key(url) in self._current()

    def _current(self) -> set[tuple[str, str]]:
        assert self.stat_url is not None
        with self._lock:
            if self._clock() - self._read_at < STAT_TTL:
                return self._live
            try:
                self._live = published_streams(self._fetch(self.stat_url))
                self._failing = False
            except (OSError, ET.ParseError) as exc:
                if not self._failing:  # once per outage, not per request
                    logger.warning("cannot read the RTMP server's stat page %s: %s", self.stat_url, exc)
                self._failing = True
                self._live = set()
            self._read_at = self._clock()
            return self._live
