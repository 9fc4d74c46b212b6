"""Where the live WebSocket gets its pictures: a camera's newest processed frame, already encoded.

The encode is the live view's (``events/live.py``): the same shared encoder serves MJPEG
viewers and ``latest.jpg`` with the default options, so a frame is encoded once for all.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class LatestFrame:
    """A camera's newest processed frame as JPEG (full size, no overlays)."""

    jpeg: bytes
    capture_time: float
    frame_number: int
    width: int
    height: int


class FrameSource(Protocol):
    """The running cameras and their newest frames (``events.live.LiveView``)."""

    def camera_names(self) -> Iterable[str]: ...

    def watch(self, cameras: Collection[str]) -> None:
        """The cameras whose frames are wanted now: their encoders are held, the others' released."""
        ...

    def wait_for_frame(self, seen: int, timeout: float) -> int:
        """Blocks until a frame arrived after sequence number ``seen`` (or ``timeout``); the number now."""
        ...

    def latest_frame(self, camera: str, after: float) -> LatestFrame | None:
        """The newest frame of a watched camera captured later than ``after`` (epoch s), or None."""
        ...
