"""Turns camera updates into object lifecycles: zones, false positives, top score, best frame."""

from __future__ import annotations

import logging
import queue
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np

from frigate_like.config import CameraConfig
from frigate_like.messages import Box, FrameUpdate, TrackedObject

logger = logging.getLogger(__name__)

SCORE_HISTORY = 10  # detections whose median decides true/false positive (as Frigate 0.8)
MIN_SCORES = 3  # fewer detections than this are padded with zeros: one lucky score is not an event


def computed_score(history: list[float]) -> float:
    """Frigate 0.8's score of an object: the median of its recent detections, padded to ``MIN_SCORES``."""
    return float(statistics.median(history + [0.0] * (MIN_SCORES - len(history))))


@dataclass
class BestFrame:
    """The frame an object looked best in, copied out of the ring (yuv420p)."""

    frame: np.ndarray
    frame_time: float
    score: float
    box: Box
    area: int
    region: Box


@dataclass
class ObjectState:
    """Everything the main process knows about one tracked object."""

    id: str
    camera: str
    label: str
    start_time: float
    current: TrackedObject
    score_history: list[float] = field(default_factory=list)
    computed_score: float = 0.0
    top_score: float = 0.0
    false_positive: bool = True
    current_zones: list[str] = field(default_factory=list)
    entered_zones: list[str] = field(default_factory=list)
    best: BestFrame | None = None
    has_event: bool = False  # became a true positive once: it is (or was) an event
    end_time: float | None = None
    frame_time: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The object as MQTT `events` and the API describe it (Frigate 0.8 field names)."""
        obj = self.current
        return {
            "id": self.id,
            "camera": self.camera,
            "frame_time": self.frame_time,
            "label": self.label,
            "top_score": self.top_score,
            "false_positive": self.false_positive,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "score": self.computed_score,
            "box": list(obj.box),
            "area": obj.area,
            "region": list(obj.region),
            "current_zones": list(self.current_zones),
            "entered_zones": list(self.entered_zones),
            "thumbnail": None,
        }


class LifecycleListener(Protocol):
    """Receives object lifecycle changes (the event processor, MQTT, ...)."""

    def object_started(self, obj: ObjectState) -> None: ...
    def object_updated(self, obj: ObjectState, reason: str) -> None: ...
    def object_ended(self, obj: ObjectState) -> None: ...


FrameReader = Callable[[int, float], "np.ndarray | None"]


def bottom_centre(box: Box) -> tuple[int, int]:
    return (box[0] + box[2]) // 2, box[3]


def is_on_edge(box: Box, width: int, height: int, margin: int = 5) -> bool:
    x1, y1, x2, y2 = box
    return x1 < margin or y1 < margin or x2 > width - margin or y2 > height - margin


class CameraObjects:
    """The live objects of one camera and the rules that judge them."""

    def __init__(self, cam: CameraConfig, read_frame: FrameReader, listeners: Iterable[LifecycleListener]) -> None:
        self.cam = cam
        self._read_frame = read_frame
        self._listeners = list(listeners)
        self.objects: dict[str, ObjectState] = {}  # the tracking thread's own
        self.live: tuple[ObjectState, ...] = ()  # for other threads: a new tuple after each frame
        self.last_update: FrameUpdate | None = None
        self._zones = {
            name: np.array(zone.coordinates, dtype=np.int32).reshape((-1, 1, 2)) for name, zone in cam.zones.items()
        }

    def add_listener(self, listener: LifecycleListener) -> None:
        """Adds a listener (call before updates flow: the tracking thread reads the list unlocked)."""
        self._listeners.append(listener)

    # -- per frame ---------------------------------------------------------------------------
    def handle(self, update: FrameUpdate) -> None:
        if not update.detector_answered:
            return  # not "no objects": nothing was looked at; every object keeps its state until it is
        self.last_update = update
        seen: set[str] = set()
        for tracked in update.objects:
            seen.add(tracked.id)
            state = self.objects.get(tracked.id)
            if state is None:
                state = ObjectState(
                    id=tracked.id,
                    camera=self.cam.name,
                    label=tracked.label,
                    start_time=tracked.frame_time,
                    current=tracked,
                )
                self.objects[tracked.id] = state
            self._update(state, tracked, update)
        for gone_id in [oid for oid in self.objects if oid not in seen]:
            self._end(self.objects.pop(gone_id), update.frame_time)
        self.live = tuple(self.objects.values())

    def end_all(self, end_time: float | None = None) -> None:
        """Ends every live object (shutdown): events get an end time and their clip."""
        for oid in list(self.objects):
            state = self.objects.pop(oid)
            self._end(state, end_time if end_time is not None else state.frame_time)
        self.live = ()

    # -- rules ------------------------------------------------------------------------------
    def _update(self, state: ObjectState, tracked: TrackedObject, update: FrameUpdate) -> None:
        state.current = tracked
        state.frame_time = update.frame_time
        reasons: list[str] = []
        obj_filter = self.cam.objects.filters.get(tracked.label)
        if tracked.detected and tracked.frame_time == update.frame_time:
            state.score_history.append(tracked.score)
            del state.score_history[:-SCORE_HISTORY]
            state.computed_score = computed_score(state.score_history)
            state.top_score = max(state.top_score, state.computed_score)
            threshold = obj_filter.threshold if obj_filter is not None else 0.7
            # Once a true positive, always one (as Frigate): a median hovering at the threshold
            # must not end and restart the person count, and an event never turns back.
            state.false_positive = state.false_positive and state.computed_score < threshold

        zones_now = self._zones_of(state)
        if zones_now != state.current_zones:
            reasons.append("zones")
            state.current_zones = zones_now
            for zone in zones_now:
                if zone not in state.entered_zones:
                    state.entered_zones.append(zone)

        if tracked.detected and self._is_better_best(state, tracked, update.frame_time):
            frame = self._read_frame(update.slot, update.frame_time)
            if frame is not None:
                state.best = BestFrame(
                    frame, update.frame_time, tracked.score, tracked.box, tracked.area, tracked.region
                )
                reasons.append("snapshot")

        if not state.has_event and not state.false_positive:
            state.has_event = True
            self._notify("object_started", state)
        elif state.has_event:
            self._notify_updated(state, ",".join(reasons) or "frame")

    def _zones_of(self, state: ObjectState) -> list[str]:
        point = bottom_centre(state.current.box)
        inside: list[str] = []
        for name, contour in self._zones.items():
            if cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) < 0:
                continue
            zone_filter = self.cam.zones[name].filters.get(state.label)
            if zone_filter is not None and not (
                zone_filter.min_area <= state.current.area <= zone_filter.max_area
                and state.computed_score >= zone_filter.threshold
            ):
                continue
            inside.append(name)
        return inside

    def _is_better_best(self, state: ObjectState, tracked: TrackedObject, frame_time: float) -> bool:
        best = state.best
        if best is None:
            return True
        w, h = self.cam.width, self.cam.height
        if frame_time - best.frame_time > self.cam.best_image_timeout:
            return True  # a newer picture beats an old one, as Frigate 0.8 does
        if is_on_edge(tracked.box, w, h) and not is_on_edge(best.box, w, h):
            return False
        if tracked.score > best.score:
            return True
        return tracked.area > best.area * 1.1

    def _end(self, state: ObjectState, end_time: float) -> None:
        state.end_time = end_time
        if state.has_event:
            self._notify("object_ended", state)

    def _notify(self, method: str, state: ObjectState) -> None:
        for listener in self._listeners:
            try:
                getattr(listener, method)(state)
            except Exception:  # one faulty listener must not stop the others
                logger.exception("%s failed in %s for %s", method, type(listener).__name__, state.id)

    def _notify_updated(self, state: ObjectState, reason: str) -> None:
        for listener in self._listeners:
            try:
                listener.object_updated(state, reason)
            except Exception:
                logger.exception("object_updated failed in %s for %s", type(listener).__name__, state.id)

    # -- queries for the API and MQTT -------------------------------------------------------------
    def true_positive_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for state in self.objects.values():
            if not state.false_positive:
                counts[state.label] = counts.get(state.label, 0) + 1
        return counts


class TrackedObjectProcessor:
    """Main-process thread: routes every camera's FrameUpdate to its CameraObjects.

    ``frame_listeners`` then see every update too (manual recording copies the frame); they run
    on this thread, so they must return quickly.
    """

    def __init__(self, updates: Any, stop: Any) -> None:
        # the registry's ObjectsSubscriber adds them; replaced on every change (the tracking thread reads it unlocked)
        self.cameras: dict[str, CameraObjects] = {}
        self._updates = updates
        self._stop = stop
        self.frame_listeners: list[Callable[[FrameUpdate], None]] = []

    def add_camera(self, objects: CameraObjects) -> None:
        self.cameras = {**self.cameras, objects.cam.name: objects}

    def live_objects(self, camera: str) -> Iterable[ObjectState]:
        """The camera's tracked objects now; for the tracking thread's own listeners (none once removed)."""
        objects = self.cameras.get(camera)
        return () if objects is None else objects.objects.values()

    def remove_camera(self, name: str) -> CameraObjects | None:
        """Takes a camera out; the caller ends its objects once its process has stopped."""
        objects = self.cameras.get(name)
        self.cameras = {k: v for k, v in self.cameras.items() if k != name}
        return objects

    def _frame_listeners(self, update: FrameUpdate) -> None:
        for listener in self.frame_listeners:
            try:
                listener(update)
            except Exception:  # a faulty listener must not stop tracking
                logger.exception("frame listener %r failed for %s", listener, update.camera)

    def run(self) -> None:

        while not self._stop.is_set():
            try:
                update: FrameUpdate = self._updates.get(timeout=1.0)
            except queue.Empty:
                continue
            except (EOFError, OSError):  # queue torn down at shutdown
                break
            camera = self.cameras.get(update.camera)
            if camera is None:
                continue
            try:
                camera.handle(update)
            except Exception:
                logger.exception("failed to handle an update from %s", update.camera)
            self._frame_listeners(update)

    def drain(self) -> None:
        """Handles what is left in the queue (shutdown), without blocking."""

        while True:
            try:
                update = self._updates.get_nowait()
            except (queue.Empty, EOFError, OSError):
                return
            camera = self.cameras.get(update.camera)
            if camera is not None:
                camera.handle(update)
                self._frame_listeners(update)

    def end_all(self) -> None:
        for camera in self.cameras.values():
            camera.end_all()
