"""Run one camera's frames through motion → regions → detector → tracker, detecting as little as possible.

What gets a detection region in a frame:

- motion, except motion lying inside a settled object (a person standing and
  fidgeting does not need re-detecting);
- every tracked object that is moving (it has not stayed put for ``stationary_after``
  frames), ``FOLLOW_FPS`` times a second (every frame at 5 fps, every other one at 10);
  in between, motion around it is taken to be its own;
- a settled object, or one that has gone missing, once every ``recheck_every``
  frames (once a second by default) — enough to keep it alive and to notice it left.

No motion and nothing moving → no detection at all. A detection cut off by the edge
of its region (not of the frame) is looked at once more through a region centred on
it, as Frigate 0.8 does, at most ``max_refines`` times a frame.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from frigate_like.config import CameraConfig, ModelConfig
from frigate_like.messages import Box, Detection, TrackedObject
from frigate_like.motion import MotionDetector
from frigate_like.track.regions import (
    REGION_MULTIPLIER,
    box_area,
    intersection,
    iou,
    map_detections,
    merge_regions,
    region_around,
    yuv_region_to_rgb,
)
from frigate_like.track.tracker import DetectionFilter, ObjectTracker

# Motion inside a settled object's box by at least this share is that object fidgeting;
# the box is grown by this share of its size on every side (a moving one by the larger
# share: it has moved on since it was last detected).
ABSORBED_SHARE = 0.8
SETTLED_MARGIN = 0.1
MOVING_MARGIN = 0.25
# How often a moving object is detected (a person moves well under a box width in 1/5 s).
FOLLOW_FPS = 5
# A box this close (pixels) to a region side that is not the frame's edge is cut off.
CLIP_MARGIN = 5
# A better-centred region is only worth a detection if it differs this much from the first.
REFINE_MAX_IOU = 0.8
# A cut-off view lying this much inside a refined region was a part of what it shows whole.
PARTIAL_INSIDE_SHARE = 0.9

DetectFn = Callable[[], np.ndarray]


@dataclass(slots=True)
class FrameStats:
    """Counters and time spent (seconds) since the processor was built."""

    frames: int = 0
    detections: int = 0  # detector calls
    refinements: int = 0  # of which re-looks at cut-off objects
    motion_s: float = 0.0
    regions_s: float = 0.0  # planning regions and converting them to RGB
    detect_s: float = 0.0  # waiting for the detector
    track_s: float = 0.0


def grow(box: Box, share: float) -> Box:
    """``box`` grown on every side by ``share`` of its larger side."""
    pad = int(share * max(box[2] - box[0], box[3] - box[1]))
    return (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)


def clipped(box: Box, region: Box, frame_width: int, frame_height: int) -> bool:
    """Whether ``box`` touches a side of ``region`` that is not also the frame's edge."""
    return (
        (region[0] > CLIP_MARGIN and box[0] - region[0] <= CLIP_MARGIN)
        or (region[1] > CLIP_MARGIN and box[1] - region[1] <= CLIP_MARGIN)
        or (frame_width - region[2] > CLIP_MARGIN and region[2] - box[2] <= CLIP_MARGIN)
        or (frame_height - region[3] > CLIP_MARGIN and region[3] - box[3] <= CLIP_MARGIN)
    )


class FrameProcessor:
    """The per-frame core of a camera process; not thread-safe, call ``process`` in frame order."""

    def __init__(
        self,
        cam: CameraConfig,
        model: ModelConfig,
        detect_fn: DetectFn,
        input_tensor: np.ndarray,
        *,
        stationary_after: int | None = None,
        recheck_every: int | None = None,
        max_refines: int = 1,
        rng: random.Random | None = None,
    ) -> None:
        if input_tensor.shape != (model.height, model.width, 3):
            expected = (model.height, model.width, 3)
            raise ValueError(f"input tensor is {input_tensor.shape}, the model takes {expected}")
        one_second = max(1, round(cam.fps))
        self.width = cam.width
        self.height = cam.height
        self.motion = MotionDetector(cam.motion, cam.width, cam.height)
        self.filter = DetectionFilter(cam.objects, cam.width, cam.height)
        # A track missing for 2 s is only found again where it was lost.
        self.tracker = ObjectTracker(cam.detect.max_disappeared, self.filter, fade_frames=2 * one_second, rng=rng)
        self.stationary_after = one_second if stationary_after is None else stationary_after
        self.recheck_every = one_second if recheck_every is None else recheck_every
        self.follow_every = max(1, round(cam.fps / FOLLOW_FPS))
        self.max_refines = max_refines
        self.stats = FrameStats()
        self._detect_fn = detect_fn
        self._input = input_tensor
        self._labelmap = model.labelmap
        self._min_size = max(model.width, model.height)
        self._min_score = self.filter.min_score()

    @property
    def detections_run(self) -> int:
        """Detector calls so far (for the camera's detection_fps)."""
        return self.stats.detections

    def process(
        self, frame_yuv: np.ndarray, frame_time: float
    ) -> tuple[tuple[TrackedObject, ...], tuple[Box, ...], tuple[Box, ...]]:
        """Process one yuv420p frame: ``(objects, motion boxes, regions detected)``."""
        stats = self.stats
        stats.frames += 1
        started = time.perf_counter()
        motion = self.motion.detect(frame_yuv)
        planned = time.perf_counter()
        stats.motion_s += planned - started
        regions = self._plan(motion)
        stats.regions_s += time.perf_counter() - planned

        detections: list[Detection] = []
        for region in regions:
            detections.extend(self._detect(frame_yuv, region))
        if self.max_refines:
            self._refine(frame_yuv, detections, regions)

        tracked = time.perf_counter()
        objects = self.tracker.update(detections, frame_time, regions)
        stats.track_s += time.perf_counter() - tracked
        return objects, tuple(motion), tuple(regions)

    def _plan(self, motion: list[Box]) -> list[Box]:
        """The regions to detect in this frame (see the module docstring)."""
        frame_number = self.tracker.frame_count + 1
        boxes: list[Box] = []
        covered: list[Box] = []  # where motion is a known object moving
        for track in self.tracker.tracks.values():
            since_look = frame_number - track.last_look
            if track.disappeared:
                due = since_look >= self.recheck_every
            elif track.motionless_count < self.stationary_after:
                due = since_look >= self.follow_every
                if not due:
                    covered.append(grow(track.box, MOVING_MARGIN))
            else:
                due = since_look >= self.recheck_every
                covered.append(grow(track.box, SETTLED_MARGIN))
            if due:
                boxes.append(track.box)
        boxes.extend(m for m in motion if not any(intersection(m, c) >= ABSORBED_SHARE * box_area(m) for c in covered))
        if not boxes:
            return []
        return merge_regions(boxes, self._min_size, self.width, self.height)

    def _detect(self, frame_yuv: np.ndarray, region: Box) -> list[Detection]:
        started = time.perf_counter()
        yuv_region_to_rgb(frame_yuv, region, self._input)
        converted = time.perf_counter()
        rows = self._detect_fn()
        self.stats.detect_s += time.perf_counter() - converted
        self.stats.regions_s += converted - started
        self.stats.detections += 1
        return map_detections(
            rows,
            region,
            self._labelmap,
            self.width,
            self.height,
            min_score=self._min_score,
            labels=self.filter.labels,
        )

    def _refine(self, frame_yuv: np.ndarray, detections: list[Detection], regions: list[Box]) -> None:
        """Replace views of objects cut off by their region's edge with a look through a better region.

        A cut-off view is dropped when another region shows the object whole; otherwise
        (at most ``max_refines`` times) the new region's detections replace every cut-off
        view lying inside it — two regions may each have seen half of the same person.
        """
        refines = 0
        for det in sorted(detections, key=lambda d: d.score, reverse=True):
            if det not in detections or not self._clipped(det) or not self.filter.keep(det):
                continue
            if any(
                other.label == det.label and iou(other.box, det.box) > 0.3 and not self._clipped(other)
                for other in detections
            ):
                detections.remove(det)
                continue
            region = region_around(det.box, self._min_size, self.width, self.height, REGION_MULTIPLIER)
            if refines >= self.max_refines or iou(region, det.region) > REFINE_MAX_IOU:
                continue
            refines += 1
            self.stats.refinements += 1
            fresh = self._detect(frame_yuv, region)
            detections[:] = [
                d
                for d in detections
                if not (
                    d.label == det.label
                    and self._clipped(d)
                    and intersection(d.box, region) >= PARTIAL_INSIDE_SHARE * d.area
                )
            ]
            detections.extend(fresh)
            regions.append(region)

    def _clipped(self, det: Detection) -> bool:
        return clipped(det.box, det.region, self.width, self.height)
