"""Draws the live view's overlays (boxes, zones, mask, motion, regions, timestamp) and encodes the JPEG."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from frigate_like.config import CameraConfig
from frigate_like.events.snapshot import draw_box, draw_timestamp, resize_to_height, yuv_to_bgr
from frigate_like.messages import Box, FrameUpdate
from frigate_like.track.masks import PolygonMask

MOTION_COLOUR = (255, 0, 0)  # BGR blue, as the API documents motion boxes
REGION_COLOUR = (0, 255, 0)  # BGR green, as the API documents regions
STALE_COLOUR = (0, 0, 255)  # an object carried over from an earlier detection (not seen in this frame)
LIVE_JPEG_QUALITY = 70  # Frigate 0.8's quality for the debug stream and latest.jpg


@dataclass(frozen=True, slots=True)
class ViewOptions:
    """One option set of the live view; equal sets share one encoder (see events/mjpeg.py)."""

    height: int | None = None  # None: the detect resolution
    bbox: bool = False
    timestamp: bool = False
    zones: bool = False
    mask: bool = False
    motion: bool = False
    regions: bool = False


def zone_colour(name: str) -> tuple[int, int, int]:
    """A stable, saturated BGR colour per zone name (Frigate picks a random one per start)."""
    hue = zlib.crc32(name.encode()) % 180
    hsv = np.array([[[hue, 220, 255]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


class CameraOverlays:
    """One camera's overlay shapes, prepared once; ``render`` is safe to call from any thread."""

    def __init__(self, cam: CameraConfig) -> None:
        self.width, self.height = cam.width, cam.height
        self._zones = {
            name: (np.array(zone.coordinates, dtype=np.int32).reshape((-1, 1, 2)), zone_colour(name))
            for name, zone in cam.zones.items()
        }
        self._mask = PolygonMask(cam.motion.mask, cam.width, cam.height)

    def render(
        self, frame_yuv: np.ndarray, update: FrameUpdate, options: ViewOptions, quality: int = LIVE_JPEG_QUALITY
    ) -> bytes:
        """The frame with the overlays ``options`` ask for, resized to ``options.height``, as JPEG."""
        image = yuv_to_bgr(frame_yuv)
        self.draw(image, update, options)
        image = resize_to_height(image, options.height)
        ok, jpg = cv2.imencode(".jpg", image, [int(cv2.IMWRITE_JPEG_QUALITY), quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        return jpg.tobytes()

    def draw(self, image: np.ndarray, update: FrameUpdate, options: ViewOptions) -> None:
        """Draws in place on a full-resolution BGR image, in Frigate 0.8's order."""
        if options.mask and not self._mask.empty:
            image[self._mask.at(image.shape[1], image.shape[0])] = 0  # masked area blacked out
        if options.zones:
            feet = [((o.box[0] + o.box[2]) / 2, float(o.box[3])) for o in update.objects]
            for contour, colour in self._zones.values():
                occupied = any(cv2.pointPolygonTest(contour, foot, False) >= 0 for foot in feet)
                cv2.drawContours(image, [contour], -1, colour, 8 if occupied else 2)
        if options.regions:
            _rectangles(image, update.regions, REGION_COLOUR)
        if options.motion:
            _rectangles(image, update.motion_boxes, MOTION_COLOUR)
        if options.bbox:
            for obj in update.objects:
                seen_now = obj.frame_time == update.frame_time
                draw_box(image, obj.box, obj.label, obj.score, (0, 255, 0) if seen_now else STALE_COLOUR)
        if options.timestamp:
            draw_timestamp(image, update.frame_time)


def _rectangles(image: np.ndarray, boxes: Sequence[Box], colour: tuple[int, int, int]) -> None:
    for x1, y1, x2, y2 in boxes:
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, 2)
