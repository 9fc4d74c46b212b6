"""A live view over real parts for tests: a real footage frame, real CameraObjects, LiveView and EventMedia."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from frigate_like.cameras.subscribers import ObjectsSubscriber
from frigate_like.config import CameraConfig
from frigate_like.events.live import LiveView
from frigate_like.events.tracked import TrackedObjectProcessor
from frigate_like.messages import Box, FrameUpdate, TrackedObject
from frigate_like.video.binaries import find_ffmpeg
from tests.registry_support import PlainRuntimes, registry_with
from tests.track_support import load_camera

WIDTH, HEIGHT = 768, 432
PERSON_AT_S = 9.0  # a person stands by the table in the shared footage
PERSON_BOX: Box = (380, 10, 520, 390)


@functools.cache
def footage_frame(video: Path, at_s: float = PERSON_AT_S) -> np.ndarray:
    """One frame of the shared footage as a ``(h * 3 // 2, w)`` yuv420p array (decoded by real ffmpeg)."""
    raw = subprocess.run(
        [find_ffmpeg(), "-v", "error", "-ss", str(at_s), "-i", str(video), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    frame = np.frombuffer(raw, np.uint8).reshape(HEIGHT * 3 // 2, WIDTH)
    frame.flags.writeable = False
    return frame


def person(frame_time: float, *, oid: str = "p1", score: float = 0.85, detected: bool = True) -> TrackedObject:
    x1, y1, x2, y2 = PERSON_BOX
    return TrackedObject(
        id=oid, label="person", score=score, box=PERSON_BOX, area=(x2 - x1) * (y2 - y1),
        region=(300, 0, 600, 300), centroid=((x1 + x2) // 2, (y1 + y2) // 2), frame_time=frame_time,
        detected=detected, motionless_count=0,
    )  # fmt: skip


class LiveRig:
    """One camera ``cam`` whose frames all show the same real footage frame, fed update by update."""

    def __init__(self, tmp_path: Path, shared_dir: Path, video: Path, camera: dict[str, Any] | None = None) -> None:
        self.config, self.cam = load_camera(
            tmp_path, shared_dir, width=WIDTH, height=HEIGHT, camera=camera, objects={"track": ["person"]}
        )
        self.frame = footage_frame(video)
        self.slots: dict[int, tuple[float, np.ndarray]] = {}
        self.reads = 0  # copies the live view made (the tracker's best-frame copies, made in feed(), are not)
        self._feeding = False
        # the camera's objects and live view, made by the registry's subscriber as in the daemon
        self.tracked = TrackedObjectProcessor(updates=None, stop=None)  # no thread: feed() hands it the updates
        self.live = LiveView(max_streams=4)
        subscriber = ObjectsSubscriber(self.tracked, self.live, PlainRuntimes(self._ring_read), [self.live])
        self.registry = registry_with([subscriber], [self.cam])
        self.objects = self.tracked.cameras["cam"]
        self._count = 0

    @property
    def camera(self) -> CameraConfig:
        return self.cam

    def read(self, slot: int, frame_time: float) -> np.ndarray | None:
        stored = self.slots.get(slot)
        if stored is None or stored[0] != frame_time:
            return None
        return stored[1].copy()

    def _ring_read(self, slot: int, frame_time: float) -> np.ndarray | None:
        frame = self.read(slot, frame_time)
        self.reads += frame is not None and not self._feeding
        return frame

    def feed(
        self,
        frame_time: float,
        objects: tuple[TrackedObject, ...] = (),
        motion: tuple[Box, ...] = (),
        regions: tuple[Box, ...] = (),
    ) -> FrameUpdate:
        slot = self._count % 4
        self._count += 1
        self.slots[slot] = (frame_time, self.frame)
        update = FrameUpdate("cam", frame_time, slot, objects, motion, regions)
        self._feeding = True
        try:
            self.objects.handle(update)
        finally:
            self._feeding = False
        return update
