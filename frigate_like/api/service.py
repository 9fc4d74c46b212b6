"""What the API needs from the running daemon, as one object the app wires in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from frigate_like.errors import Unavailable
from frigate_like.media.locate import MediaLocator

if TYPE_CHECKING:
    from frigate_like.comms.switches import Switches
    from frigate_like.config import FrigateConfig
    from frigate_like.devices import DeviceDiscovery
    from frigate_like.events.live import LiveView
    from frigate_like.events.media import EventMedia
    from frigate_like.groups import GroupManager
    from frigate_like.record.manual import ManualRecorder
    from frigate_like.record.nvr import Recordings
    from frigate_like.record.playback import PlaybackLibrary
    from frigate_like.restream.live import LiveStreams

T = TypeVar("T")


class EventQueries(Protocol):
    """The event reads of ``db/queries.py`` (the module itself is passed)."""

    @property
    def list_events(self) -> Callable[..., list[dict[str, Any]]]: ...
    @property
    def get_event(self) -> Callable[..., dict[str, Any] | None]: ...
    @property
    def events_summary(self) -> Callable[..., list[dict[str, Any]]]: ...


@dataclass
class ApiServices:
    """None for a part the process runs without (tests, tools): its routes answer 503."""

    config: FrigateConfig | None
    stats: Callable[[], dict[str, Any]]
    public_config: Callable[[], dict[str, Any]]
    events: EventQueries | None
    live: LiveView | None = None  # MJPEG, latest.jpg
    media: EventMedia | None = None  # best.jpg, event thumbnails and snapshots, clip files
    recordings: Recordings | None = None  # /api/<camera>/recordings
    manual: ManualRecorder | None = None  # /skellycam/camera/group/all/record/*
    playback: PlaybackLibrary | None = None  # /skellycam/playback/*

    shutdown: Callable[[], None] | None = None  # asks the daemon to stop (GET /shutdown)
    groups: GroupManager | None = None  # camera groups at run time
    devices: DeviceDiscovery | None = None  # local cameras and microphones
    switches: Switches | None = None  # detect/clips/snapshots at run time (GET/POST .../switches)
    cluster: Callable[[], list[dict[str, Any]]] | None = None  # GET /api/cluster: every node and its cameras
    metrics: Callable[[], bytes] | None = None  # GET /metrics: the Prometheus text (prometheus.py)
    # where files and live pictures are in a cluster (default: a single node, everything here)
    locator: MediaLocator = field(default_factory=MediaLocator)
    live_video: LiveStreams | None = None  # /api/<camera>/live.mp4 (the camera's own stream, copied)

    def need_live(self) -> LiveView:
        return required(self.live, "the live view")

    def need_media(self) -> EventMedia:
        return required(self.media, "event media")

    def need_events(self) -> EventQueries:
        return required(self.events, "events")


def required(service: T | None, what: str) -> T:
    """``service``, or ``Unavailable`` (503) when the daemon runs without it."""
    if service is None:
        raise Unavailable(f"{what} is not available")
    return service
