"""The live WebSocket's messages: the binary frame header, the JSON text messages, client requests (pure).

See ``docs/websocket.md`` for the protocol as a client sees it.
"""

from __future__ import annotations

import json
import logging
import math
import struct
from dataclasses import dataclass
from typing import Any

from frigate_like.redact import redact_value

PATH = "/skellycam/websocket/connect"
FRAME_MAGIC = b"FLF1"
# magic, header length (bytes, = FRAME_HEADER.size + camera id length), camera id length,
# frame number, capture time (epoch s), width, height; then the camera id (UTF-8), then the JPEG.
FRAME_HEADER = struct.Struct("<4sHHQdHH")
LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


@dataclass(frozen=True)
class FrameHeader:
    camera: str
    frame_number: int
    capture_time: float
    width: int
    height: int


def pack_frame(header: FrameHeader, jpeg: bytes) -> bytes:
    """One binary message: the fixed header, the camera id, the JPEG."""
    camera = header.camera.encode()
    fixed = FRAME_HEADER.pack(
        FRAME_MAGIC,
        FRAME_HEADER.size + len(camera),
        len(camera),
        header.frame_number,
        header.capture_time,
        header.width,
        header.height,
    )
    return b"".join((fixed, camera, jpeg))


def unpack_frame(data: bytes) -> tuple[FrameHeader, bytes]:
    """The header and the JPEG of a binary message; ``ValueError`` when it is not one."""
    if len(data) < FRAME_HEADER.size:
        raise ValueError("message shorter than a frame header")
    magic, header_length, id_length, number, capture_time, width, height = FRAME_HEADER.unpack_from(data)
    if magic != FRAME_MAGIC or header_length != FRAME_HEADER.size + id_length or len(data) < header_length:
        raise ValueError("not a frame message")
    camera = data[FRAME_HEADER.size : header_length].decode()
    return FrameHeader(camera, number, capture_time, width, height), data[header_length:]


def log_message(record: logging.LogRecord) -> dict[str, Any]:
    """A log record as ``{"type": "log", level, logger, message, time}`` (+ ``exception`` text)."""
    message: dict[str, Any] = {
        "type": "log",
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
        "time": record.created,
    }
    if record.exc_text:
        message["exception"] = record.exc_text
    return message


def state_message(state: dict[str, Any]) -> dict[str, Any]:
    """The state as clients see it: group camera sources may carry passwords, so it is redacted."""
    return {"type": "state", **redact_value(state)}


def error_message(detail: str) -> dict[str, Any]:
    return {"type": "error", "detail": detail}


def to_text(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class Subscription:
    """What one client wants: cameras (None = all), a frame rate cap per camera, the lowest log level."""

    cameras: frozenset[str] | None = None
    max_fps: float | None = None
    log_level: int = logging.INFO

    def wants(self, camera: str) -> bool:
        return self.cameras is None or camera in self.cameras

    @property
    def min_interval(self) -> float:
        return 1.0 / self.max_fps if self.max_fps else 0.0


def parse_request(text: str, current: Subscription) -> Subscription:
    """A client's ``{"type": "subscribe", ...}``; keys it leaves out keep their value. ``ValueError`` if bad."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to parse
        raise ValueError("expected a JSON object") from None
    if not isinstance(data, dict) or data.get("type", "subscribe") != "subscribe":
        raise ValueError('expected {"type": "subscribe", "cameras": [...], "max_fps": N, "log_level": "info"}')
    cameras, max_fps, level = current.cameras, current.max_fps, current.log_level
    if "cameras" in data:
        value = data["cameras"]
        if value is not None and not (isinstance(value, list) and all(isinstance(c, str) for c in value)):
            raise ValueError("cameras: expected a list of camera names, or null for all")
        cameras = None if value is None else frozenset(value)
    if "max_fps" in data:
        value = data["max_fps"]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if value is not None and not (number and math.isfinite(value) and value > 0):
            raise ValueError("max_fps: expected a number above 0, or null for every frame")
        max_fps = None if value is None else float(value)
    if "log_level" in data:
        value = data["log_level"]
        if value is not None and (not isinstance(value, str) or value.lower() not in LOG_LEVELS):
            raise ValueError(f"log_level: expected one of {', '.join(LOG_LEVELS)}, or null for no logs")
        level = logging.CRITICAL + 1 if value is None else LOG_LEVELS[value.lower()]
    return Subscription(cameras, max_fps, level)
