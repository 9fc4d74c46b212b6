"""What the API needs from the running daemon, as one object the app wires in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from frigate_like.errors import Unavailable

if TYPE_CHECKING:
    from frigate_like.comms.switches import Switches
    from frigate_like.events.live import LiveView
    from frigate_like.events.media import EventMedia


@dataclass
class ApiServices:
    config: Any  # FrigateConfig
    stats: Callable[[], dict[str, Any]]
    public_config: Callable[[], dict[str, Any]]
    events: Any  # module or object with list_events / get_event / events_summary
    live: LiveView | None = None  # MJPEG, latest.jpg (None: the daemon runs without cameras' frames)
    media: EventMedia | None = None  # best.jpg, event thumbnails and snapshots, clip files
    recordings: Any = None  # record.nvr.Recordings: /api/<camera>/recordings
    manual: Any = None  # record.manual.ManualRecorder: /skellycam/camera/group/all/record/*
    playback: Any = None  # record.playback.PlaybackLibrary: /skellycam/playback/*

    shutdown: Callable[[], None] | None = None  # asks the daemon to stop (GET /shutdown)
    groups: Any = None  # groups.GroupManager: camera groups at run time
    devices: Any = None  # devices.DeviceDiscovery: local cameras and microphones
    switches: Switches | None = None  # detect/clips/snapshots at run time (GET/POST .../switches)

    def need_live(self) -> LiveView:
        return required(self.live, "the live view")

    def need_media(self) -> EventMedia:
        return required(self.media, "event media")


def required(service: Any, what: str) -> Any:
    """``service``, or ``Unavailable`` (503) when the daemon runs without it."""
    if service is None:
        raise Unavailable(f"{what} is not available")
    return service
