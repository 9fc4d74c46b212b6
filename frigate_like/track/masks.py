"""Turn mask polygons (full-frame coordinates) into boolean masks, cached per size.

``True`` marks a masked pixel: motion there is ignored, and a detection whose
box's bottom centre lands there is dropped (Frigate's convention).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

Point = tuple[int, int]
Polygons = Sequence[Sequence[Point]]


def polygons_to_mask(
    polygons: Polygons,
    frame_width: int,
    frame_height: int,
    width: int | None = None,
    height: int | None = None,
) -> np.ndarray:
    """Fill ``polygons`` (given in a ``frame_width``×``frame_height`` frame) at ``width``×``height``.

    Returns a ``(height, width)`` bool array, ``True`` inside any polygon. Without
    ``width``/``height`` the mask has the frame's own size.
    """
    width = frame_width if width is None else width
    height = frame_height if height is None else height
    canvas = np.zeros((height, width), dtype=np.uint8)
    if polygons:
        scale = np.array([width / frame_width, height / frame_height])
        points = [np.rint(np.asarray(p, dtype=np.float64) * scale).astype(np.int32) for p in polygons]
        cv2.fillPoly(canvas, points, 1)
    return canvas.view(bool)


class PolygonMask:
    """The polygons of one mask, rasterised on demand at any size and kept per size."""

    def __init__(self, polygons: Polygons, frame_width: int, frame_height: int) -> None:
        self._polygons = [list(p) for p in polygons]
        self._frame_size = (frame_width, frame_height)
        self._by_size: dict[tuple[int, int], np.ndarray] = {}

    @property
    def empty(self) -> bool:
        """True when there is nothing to mask."""
        return not self._polygons

    def at(self, width: int, height: int) -> np.ndarray:
        """The ``(height, width)`` bool mask; built once per size, then reused (do not modify it)."""
        mask = self._by_size.get((width, height))
        if mask is None:
            mask = polygons_to_mask(self._polygons, *self._frame_size, width, height)
            mask.flags.writeable = False
            self._by_size[(width, height)] = mask
        return mask

    def covers(self, x: int, y: int) -> bool:
        """Whether the full-frame point ``(x, y)`` is masked (points outside the frame are clamped)."""
        if not self._polygons:
            return False
        width, height = self._frame_size
        mask = self.at(width, height)
        return bool(mask[min(max(y, 0), height - 1), min(max(x, 0), width - 1)])
