"""The container health check: unhealthy when the API does not answer or the pipeline is stuck.

``python -m frigate_like.health`` (the image's HEALTHCHECK) reads ``/api/stats`` on loopback at
the port of ``$FRIGATE_LIKE_CONFIG`` and exits 1 with one line naming each problem:

- a camera that should run (not paused) gets no frames (``camera_fps`` is 0): the camera is
  offline or its capture is stuck, and the daemon's own reconnects have not brought it back;
- a detector is not running, or has been inside one inference for ``STUCK_DETECTION_S``: the
  daemon's watchdog restarts a stuck detector well before that, so this means the restart failed;
- an entry of ``service.health`` (a thread, a detector or camera process, each ffmpeg of each
  camera, MQTT, the database...) has not been ok for ``NOT_OK_FOR_S``, named with its error: the
  daemon replaces a dead process in seconds and restarts a killed ffmpeg at once, so a part still
  down after that long needs a person (a camera off the network, a disk full, a wrong path).
  A shorter outage (a camera rebooting) is only in the entry's ``last_error``.

With ``http.api_token`` set it sends the token (``{FRIGATE_*}`` references substituted), so the
check also works with ``http.auth: required``. It imports no runtime module (only the standard
library and PyYAML): it runs every 30 s.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from frigate_like import CONFIG_ENV, DEFAULT_CONFIG

DEFAULT_PORT = 5000
STUCK_DETECTION_S = 60.0
NOT_OK_FOR_S = 90.0  # with the image's 30 s interval × 3 retries: unhealthy after ~3-4 min of one outage
TIMEOUT_S = 8.0
# the RTSP restream off (port in use, no GStreamer): cameras are read directly, stats say why; not unhealthy
DEGRADED_ONLY = frozenset({"restream"})


def pipeline_problems(stats: Mapping[str, Any], now: float) -> list[str]:
    """One line per stuck part of the pipeline in an ``/api/stats`` document; empty when healthy."""
    problems = []
    # in a cluster the document lists every node's cameras and detectors: this node answers for its own
    here = (stats.get("service") or {}).get("node_id")
    for name, entry in stats.items():
        is_camera = isinstance(entry, dict) and "camera_fps" in entry
        if not is_camera or entry.get("node_id", here) != here:
            continue
        if not entry.get("paused", False) and not entry["camera_fps"]:
            problems.append(f"camera {name}: no frames (camera_fps 0)")
    for name, detector in (stats.get("detectors") or {}).items():
        if detector.get("node_id", here) != here:
            continue
        started = detector.get("detection_start") or 0.0
        if detector.get("pid") is None:
            problems.append(f"detector {name}: not running")
        elif started and now - started > STUCK_DETECTION_S:
            problems.append(f"detector {name}: one inference has run for {now - started:.0f} s")
    return problems + health_problems(stats, now)


def health_problems(stats: Mapping[str, Any], now: float, limit: float = NOT_OK_FOR_S) -> list[str]:
    """One line per ``service.health`` entry not ok for more than ``limit`` s (since ``failing_since``,
    else since its ``last_error_time``: a daemon older than ``failing_since``). ``DEGRADED_ONLY`` entries
    are left out: the daemon does its job without them."""
    problems = []
    health = (stats.get("service") or {}).get("health") or {}
    for name, entry in sorted(health.items()):
        if not isinstance(entry, dict) or entry.get("ok", True) or name in DEGRADED_ONLY:
            continue
        since = entry.get("failing_since") or entry.get("last_error_time")
        if since is None or now - since > limit:
            down = "" if since is None else f" for {now - since:.0f} s"
            problems.append(f"{name}: not ok{down}: {entry.get('error') or 'no reason given'}")
    return problems


def _http_section(config_path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        http = data["http"]
    except (OSError, yaml.YAMLError, TypeError, KeyError):
        return {}
    return http if isinstance(http, dict) else {}


def configured_port(config_path: Path) -> int:
    """``http.port`` of the config file; the default when the file or the key is missing or unreadable."""
    try:
        return int(_http_section(config_path)["port"])
    except (KeyError, TypeError, ValueError):
        return DEFAULT_PORT


def configured_token(config_path: Path) -> str | None:
    """``http.api_token`` of the config file with its ``{FRIGATE_*}`` references substituted, or None."""
    token = _http_section(config_path).get("api_token")
    if not isinstance(token, str) or not token:
        return None
    return re.sub(r"\{(FRIGATE_[A-Za-z0-9_]*)\}", lambda m: os.environ.get(m.group(1), ""), token)


def check(port: int, token: str | None = None) -> list[str]:
    """The problems of the daemon answering on ``port``; one line when it does not answer."""
    url = f"http://127.0.0.1:{port}/api/stats"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            stats = json.load(response)
    except (OSError, ValueError) as exc:
        return [f"{url} does not answer: {exc}"]
    return pipeline_problems(stats, time.time())


def main() -> int:
    config = Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)
    problems = check(configured_port(config), configured_token(config))
    print("; ".join(problems) or "healthy")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
