"""Draws and encodes snapshots and thumbnails of an object from a yuv420p frame."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Protocol

import cv2
import numpy as np

from frigate_like.messages import Box

BOX_COLOUR = (0, 255, 0)  # BGR
TIMESTAMP_COLOUR = (255, 255, 255)
THUMBNAIL_HEIGHT = 175  # Frigate 0.8's event thumbnail size


def yuv_to_bgr(frame_yuv: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame_yuv, cv2.COLOR_YUV2BGR_I420)


def draw_box(image: np.ndarray, box: Box, label: str, score: float, colour: tuple[int, int, int] = BOX_COLOUR) -> None:
    x1, y1, x2, y2 = box
    thickness = max(1, round(image.shape[0] / 270))
    cv2.rectangle(image, (x1, y1), (x2, y2), colour, thickness)
    text = f"{label} {int(score * 100)}%"
    (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    top = max(0, y1 - th - baseline - 2)
    cv2.rectangle(image, (x1, top), (x1 + tw + 4, top + th + baseline + 2), colour, cv2.FILLED)
    cv2.putText(image, text, (x1 + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)


def draw_timestamp(image: np.ndarray, frame_time: float) -> None:
    """The frame time in the upper left, white on a dark box so it reads on any picture."""
    text = dt.datetime.fromtimestamp(frame_time).strftime("%Y-%m-%d %H:%M:%S")
    scale = max(0.6, image.shape[0] / 720)
    thickness = max(1, round(scale * 1.5))
    (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = max(3, round(4 * scale))
    cv2.rectangle(image, (0, 0), (tw + 2 * pad, th + baseline + 2 * pad), (0, 0, 0), cv2.FILLED)
    cv2.putText(
        image, text, (pad, pad + th), cv2.FONT_HERSHEY_SIMPLEX, scale, TIMESTAMP_COLOUR, thickness, cv2.LINE_AA
    )


def crop_region(box: Box, width: int, height: int, multiplier: float = 1.1) -> Box:
    """A square around ``box`` (``multiplier`` times its larger side), kept inside the frame."""
    x1, y1, x2, y2 = box
    size = int(max(x2 - x1, y2 - y1) * multiplier)
    size = max(8, min(size, width, height))
    cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
    left = min(max(0, cx - size // 2), width - size)
    top = min(max(0, cy - size // 2), height - size)
    return left, top, left + size, top + size


def resize_to_height(image: np.ndarray, height: int | None) -> np.ndarray:
    if not height or height == image.shape[0]:
        return image
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    interpolation = cv2.INTER_AREA if height < image.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def render_snapshot(
    frame_yuv: np.ndarray,
    *,
    box: Box,
    label: str,
    score: float,
    frame_time: float,
    bounding_box: bool,
    timestamp: bool,
    crop: bool,
    height: int | None,
    quality: int = 90,
) -> bytes:
    """The JPEG of a snapshot with the overlays a camera's snapshot settings ask for."""
    image = yuv_to_bgr(frame_yuv)
    if bounding_box:
        draw_box(image, box, label, score)
    if crop:
        x1, y1, x2, y2 = crop_region(box, image.shape[1], image.shape[0])
        image = image[y1:y2, x1:x2]
    if timestamp:
        draw_timestamp(image, frame_time)
    image = resize_to_height(image, height)
    ok, jpg = cv2.imencode(".jpg", image, [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return jpg.tobytes()


class BestLike(Protocol):
    """The parts of a best frame (``tracked.BestFrame``) a snapshot is drawn from."""

    @property
    def frame(self) -> np.ndarray: ...

    @property
    def frame_time(self) -> float: ...

    @property
    def score(self) -> float: ...

    @property
    def box(self) -> Box: ...


class SnapshotSettings(Protocol):
    """A camera's ``snapshots`` or ``mqtt`` section."""

    @property
    def bounding_box(self) -> bool: ...

    @property
    def timestamp(self) -> bool: ...

    @property
    def crop(self) -> bool: ...

    @property
    def height(self) -> int | None: ...


def render_best(best: BestLike, label: str, settings: SnapshotSettings) -> bytes:
    """The JPEG of an object's best frame, drawn as ``settings`` (a ``snapshots`` or ``mqtt`` section) ask."""
    return render_snapshot(
        best.frame,
        box=best.box,
        label=label,
        score=best.score,
        frame_time=best.frame_time,
        bounding_box=settings.bounding_box,
        timestamp=settings.timestamp,
        crop=settings.crop,
        height=settings.height,
    )


def thumbnail_b64(frame_yuv: np.ndarray, box: Box) -> str:
    """Frigate 0.8's event thumbnail: the object cropped, 175 px high, base64 JPEG."""
    image = yuv_to_bgr(frame_yuv)
    x1, y1, x2, y2 = crop_region(box, image.shape[1], image.shape[0])
    image = resize_to_height(image[y1:y2, x1:x2], THUMBNAIL_HEIGHT)
    ok, jpg = cv2.imencode(".jpg", image, [int(cv2.IMWRITE_JPEG_QUALITY), 70])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return base64.b64encode(jpg.tobytes()).decode("ascii")
