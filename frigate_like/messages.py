"""Frozen messages that cross process boundaries (small, picklable, no frames)."""

from __future__ import annotations

from dataclasses import dataclass

# (x1, y1, x2, y2) in detect-frame pixels, x2/y2 exclusive-ish like Frigate 0.8.
Box = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Detection:
    """One detector hit, mapped back from the region into frame coordinates."""

    label: str
    score: float
    box: Box
    area: int
    region: Box


@dataclass(frozen=True, slots=True)
class TrackedObject:
    """What the camera process knows of one tracked object after a frame.

    ``score`` is the score of the latest detection matched to it; ``detected`` says
    whether it was detected in *this* frame (a stationary, confirmed object is not
    re-detected every frame, its box is carried over).
    """

    id: str
    label: str
    score: float
    box: Box
    area: int
    region: Box
    centroid: tuple[int, int]
    frame_time: float  # time of the frame of the latest matching detection
    detected: bool
    motionless_count: int


@dataclass(frozen=True, slots=True)
class FrameUpdate:
    """Sent by a camera process to the main process after each processed frame."""

    camera: str
    frame_time: float
    slot: int  # ring slot still holding this frame for a while (copy it with FrameRing.read_copy)
    objects: tuple[TrackedObject, ...]
    motion_boxes: tuple[Box, ...]
    regions: tuple[Box, ...]
    # False when the detector did not answer for this frame: ``objects`` is then empty because
    # nothing was looked at, not because nothing is there (tracked objects keep their state).
    detector_answered: bool = True
