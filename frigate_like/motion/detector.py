"""Find motion in a frame's luma plane by differencing against a running average (Frigate 0.8 style).

Everything happens on the Y plane shrunk to ``frame_height`` rows (128×72 for a
768×432 camera), in uint8/float32 buffers allocated once, so a frame costs tens of
microseconds.
"""

from __future__ import annotations

import cv2
import numpy as np

from frigate_like.config import MotionConfig
from frigate_like.messages import Box
from frigate_like.track.masks import PolygonMask

# Motion must persist this many frames before it is blended into the background
# (so a person standing still fades into it slowly, but a parked car eventually does).
PERSISTENT_MOTION_FRAMES = 10
# When this share of the unmasked picture changes at once, it is the camera (IR switch,
# exposure jump, lights), not an object: the background is reset instead of reported.
LIGHTING_CHANGE_SHARE = 0.8
DILATE_ITERATIONS = 2


class MotionDetector:
    """Per-camera motion detector; ``detect`` is called once per frame, in order."""

    def __init__(self, config: MotionConfig, width: int, height: int) -> None:
        self.width = width
        self.height = height
        rows = max(1, min(config.frame_height, height))
        cols = max(1, round(width * rows / height))
        self.size = (cols, rows)
        self._scale = (width / cols, height / rows)
        self._threshold = config.threshold
        self._contour_area = config.contour_area
        self._delta_alpha = config.delta_alpha
        self._frame_alpha = config.frame_alpha
        polygons = PolygonMask(config.mask, width, height)
        self._mask = None if polygons.empty else polygons.at(cols, rows)
        unmasked = rows * cols - (0 if self._mask is None else int(self._mask.sum()))
        self._lighting_pixels = LIGHTING_CHANGE_SHARE * max(unmasked, 1)
        self._small = np.empty((rows, cols), dtype=np.uint8)
        self._avg_frame: np.ndarray | None = None  # float32 background, set from the first frame
        self._avg_delta = np.zeros((rows, cols), dtype=np.float32)
        self._kernel = np.ones((3, 3), dtype=np.uint8)  # cv2's default 3×3 dilation
        self._motion_frames = 0
        self.background_resets = 0

    def detect(self, frame: np.ndarray) -> list[Box]:
        """Motion boxes, in full-frame pixels, for one frame.

        ``frame`` is either the yuv420p frame (``height * 3 // 2`` rows) or just its
        Y plane; only the first ``height`` rows (the luma) are read.
        """
        gray = frame[: self.height]
        # INTER_LINEAR samples rather than averages, which is 8x cheaper than INTER_AREA;
        # the blur below takes the sampling noise out again.
        cv2.resize(gray, self.size, dst=self._small, interpolation=cv2.INTER_LINEAR)
        if self._mask is not None:
            # Masked pixels are pinned to white in the frame and hence in the average: no delta.
            self._small[self._mask] = 255
        small = cv2.GaussianBlur(self._small, (3, 3), 0)

        if self._avg_frame is None:
            # The first frame is the background: no warm-up during which motion is blind.
            self._avg_frame = small.astype(np.float32)
            return []

        delta = cv2.absdiff(small, cv2.convertScaleAbs(self._avg_frame))
        current = cv2.threshold(delta, self._threshold, 255, cv2.THRESH_BINARY)[1]
        if cv2.countNonZero(current) > self._lighting_pixels:
            self._reset_background(small)
            return []
        # The delta averaged over a few frames: a single raindrop or compression glitch fades,
        # a moving object keeps it high; only pixels changing *now* may count (bitwise_and).
        cv2.accumulateWeighted(delta, self._avg_delta, self._delta_alpha)
        averaged = cv2.bitwise_and(cv2.convertScaleAbs(self._avg_delta), current)
        thresh = cv2.threshold(averaged, self._threshold, 255, cv2.THRESH_BINARY)[1]
        thresh = cv2.dilate(thresh, self._kernel, iterations=DILATE_ITERATIONS)

        boxes = self._boxes(thresh)
        if boxes:
            self._motion_frames += 1
            if self._motion_frames >= PERSISTENT_MOTION_FRAMES:
                cv2.accumulateWeighted(small, self._avg_frame, self._frame_alpha)
        else:
            self._motion_frames = 0
            cv2.accumulateWeighted(small, self._avg_frame, self._frame_alpha)
        return boxes

    def _boxes(self, thresh: np.ndarray) -> list[Box]:
        contours, _ = cv2.findContours(thresh, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        sx, sy = self._scale
        boxes: list[Box] = []
        for contour in contours:
            if cv2.contourArea(contour) > self._contour_area:
                x, y, w, h = cv2.boundingRect(contour)
                boxes.append(
                    (
                        int(x * sx),
                        int(y * sy),
                        min(self.width, int((x + w) * sx)),
                        min(self.height, int((y + h) * sy)),
                    )
                )
        return boxes

    def _reset_background(self, small: np.ndarray) -> None:
        assert self._avg_frame is not None
        self._avg_frame[:] = small
        self._avg_delta.fill(0)
        self._motion_frames = 0
        self.background_resets += 1
