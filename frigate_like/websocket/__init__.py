"""The live WebSocket ``/skellycam/websocket/connect``: JPEG frames, log records and state updates."""

from frigate_like.websocket.frames import FrameSource, LatestFrame
from frigate_like.websocket.hub import LiveHub
from frigate_like.websocket.logs import WebSocketLogHandler
from frigate_like.websocket.protocol import PATH, FrameHeader, Subscription, pack_frame, unpack_frame

__all__ = [
    "PATH",
    "FrameHeader",
    "FrameSource",
    "LatestFrame",
    "LiveHub",
    "Subscription",
    "WebSocketLogHandler",
    "pack_frame",
    "unpack_frame",
]
