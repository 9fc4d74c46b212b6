"""Where the live WebSocket gets its pictures: the newest frame of a camera, encoded to JPEG once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

JPEG_QUALITY = 70  # the MJPEG stream's default too: small frames, artefacts hardly visible at 768x432


@dataclass(frozen=True)
class LatestFrame:
    """A copy of a camera's newest yuv420p frame, out of its ring."""

    yuv: np.ndarray  # (height * 3 // 2, width) uint8
    capture_time: float
    frame_number: int
    width: int
    height: int


class FrameSource(Protocol):
    """The running cameras and their newest frames (the NVR)."""

    def camera_names(self) -> Iterable[str]: ...

    def latest_frame(self, camera: str, after: float) -> LatestFrame | None:
        """The newest frame captured later than ``after`` (epoch s), or None."""
        ...


def encode_jpeg(yuv: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """A yuv420p frame as JPEG bytes."""
    bgr = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - cv2 only fails on empty images
        raise ValueError("JPEG encoding failed")
    return bytes(data)
