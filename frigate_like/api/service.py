"""What the API needs from the running daemon, as one object the app wires in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from frigate_like.errors import Unavailable

if TYPE_CHECKING:
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

    def need_live(self) -> LiveView:
        if self.live is None:
            raise Unavailable("the live view is not running")
        return self.live

    def need_media(self) -> EventMedia:
        if self.media is None:
            raise Unavailable("event media are not available")
        return self.media
