"""What the API needs from the running daemon, as one object the app wires in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from frigate_like.errors import Unavailable


@dataclass
class ApiServices:
    config: Any  # FrigateConfig
    stats: Callable[[], dict[str, Any]]
    public_config: Callable[[], dict[str, Any]]
    events: Any  # module or object with list_events / get_event / events_summary
    recordings: Any = None  # record.nvr.Recordings: /api/<camera>/recordings
    manual: Any = None  # record.manual.ManualRecorder: /skellycam/camera/group/all/record/*
    playback: Any = None  # record.playback.PlaybackLibrary: /skellycam/playback/*


def required(service: Any, what: str) -> Any:
    """``service``, or ``Unavailable`` (503) when the daemon runs without it."""
    if service is None:
        raise Unavailable(f"{what} is not available")
    return service
