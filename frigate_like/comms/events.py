"""Publishes object lifecycles: ``events`` (new/update/end), camera and zone counts, best-frame snapshots.

``EventPublisher`` is a ``LifecycleListener``: ``CameraObjects`` calls it on the tracking
thread, so it only builds payloads and hands them to a ``Publisher`` (which never blocks).
The payloads are Frigate 0.8's:

- ``events``: ``{"type": "new"|"update"|"end", "before": {...}, "after": {...}}``; ``new``
  when an object stops being a false positive, ``update`` on a better snapshot or a zone
  change and otherwise at most every ``UPDATE_INTERVAL`` s while something changed, ``end``
  with ``end_time`` when it is gone. An object that became a true positive stays one
  (``events.tracked``), so an event never turns back into a false positive. An event a crash
  left open gets its ``end`` at the next start, from its stored row (``event_recovered``).
- ``<camera>/<label>`` and ``<zone>/<label>``: the count of true positives, on change (a zone
  name shared by cameras counts them all).
- ``<camera>/<label>/snapshot``: the best jpeg of that label (camera ``mqtt`` settings), retained.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from frigate_like.comms import topics
from frigate_like.comms.publisher import Publisher
from frigate_like.config import CameraConfig
from frigate_like.events.processor import label_wanted, zones_ok
from frigate_like.events.snapshot import render_best
from frigate_like.events.tracked import ObjectState
from frigate_like.track.frame_processor import RECHECK_SECONDS

logger = logging.getLogger(__name__)

UPDATE_INTERVAL = 5.0  # seconds of frame time between routine updates of one object


# s since an object's last detection: a settled one is re-detected every RECHECK_SECONDS, and one
# re-check may miss it (a turned back, a dim corner), so two re-checks plus a second of slack
# (frame pacing, detector lag); a shorter window counts a person standing still 1, 0, 1 ...
PRESENCE_WINDOW = 2 * RECHECK_SECONDS + 1.0


class SwitchesLike(Protocol):
    def clips_enabled(self, camera: str) -> bool: ...
    def snapshots_enabled(self, camera: str) -> bool: ...


@dataclass
class _Announced:
    after: dict[str, Any]  # what the last events message said of the object
    frame_time: float


@dataclass
class _Snapshot:
    object_id: str
    score: float
    frame_time: float  # of the best frame published


class EventPublisher:
    """A ``LifecycleListener`` that tells the outside world about events, counts and snapshots."""

    def __init__(
        self, publisher: Publisher, switches: SwitchesLike, live_objects: Callable[[str], Iterable[ObjectState]]
    ) -> None:
        """``live_objects(camera)``: the camera's tracked objects now (``TrackedObjectProcessor.live_objects``;
        read on the tracking thread, which owns them: no copy of them is kept here)."""
        self._cameras: dict[str, CameraConfig] = {}  # added by the camera registry (cameras.subscribers)
        self._publisher = publisher
        self._switches = switches
        self._live_objects = live_objects
        self._announced: dict[str, _Announced] = {}
        self._camera_counts: dict[str, dict[str, int]] = {}
        self._zone_counts: dict[tuple[str, str], dict[str, int]] = {}  # (zone, label) → camera → count
        self._snapshots: dict[tuple[str, str], _Snapshot] = {}  # (camera, label) → the one published

    def add_camera(self, cam: CameraConfig) -> None:
        """A camera starts: its counts (and its zones') are published as 0 (a crash may have left 1s)."""
        self._cameras = {**self._cameras, cam.name: cam}
        self._camera_counts[cam.name] = {}
        self._publish_zero_counts(cam.name, cam)

    def remove_camera(self, name: str) -> None:
        """A camera stopped (its objects have ended): its zone shares no longer count."""
        self._cameras = {k: v for k, v in self._cameras.items() if k != name}
        self._camera_counts.pop(name, None)
        for per_camera in self._zone_counts.values():
            per_camera.pop(name, None)

    def _publish_zero_counts(self, name: str, cam: CameraConfig) -> None:
        for label in cam.objects.track:
            self._camera_counts[name][label] = 0
            self._publisher.publish(topics.count(name, label), "0")
            for zone in cam.zones:
                first = (zone, label) not in self._zone_counts
                self._zone_counts.setdefault((zone, label), {})[name] = 0
                if first:
                    self._publisher.publish(topics.count(zone, label), "0")

    # -- LifecycleListener ----------------------------------------------------------------------
    def object_started(self, obj: ObjectState) -> None:
        after = self.describe(obj)
        self._send("new", after, after)
        self._announced[obj.id] = _Announced(after, obj.frame_time)
        self._snapshot(obj)
        self._publish_counts(obj.camera)

    def object_updated(self, obj: ObjectState, reason: str) -> None:
        announced = self._announced.get(obj.id)
        if announced is None:
            return
        significant = bool(set(reason.split(",")) & {"zones", "snapshot"})
        if significant or obj.frame_time - announced.frame_time >= UPDATE_INTERVAL:
            after = self.describe(obj)
            if significant or _changed(announced.after, after):
                self._send("update", announced.after, after)
                self._announced[obj.id] = _Announced(after, obj.frame_time)
        if significant:
            self._snapshot(obj)
        self._publish_counts(obj.camera)

    def object_ended(self, obj: ObjectState) -> None:
        announced = self._announced.pop(obj.id, None)
        after = self.describe(obj)
        self._send("end", announced.after if announced is not None else after, after)
        self._publish_counts(obj.camera)

    def event_recovered(self, row: dict[str, Any]) -> None:
        """An event a crash left open, closed at start (``EventProcessor.recover``): its ``end``,
        with what is stored of it (``before``: the same, still in progress)."""
        after = recovered_description(row)
        self._send("end", {**after, "end_time": None}, after)

    # -- payloads -------------------------------------------------------------------------------
    def describe(self, obj: ObjectState) -> dict[str, Any]:
        """``ObjectState.to_dict()`` plus whether the event will have a clip and a snapshot."""
        cam = self._cameras[obj.camera]
        data = obj.to_dict()
        data["has_clip"] = (
            self._switches.clips_enabled(obj.camera)
            and label_wanted(cam.clips.objects, obj.label)
            and zones_ok(cam.clips.required_zones, obj.entered_zones)
        )
        data["has_snapshot"] = (
            self._switches.snapshots_enabled(obj.camera)
            and obj.best is not None
            and zones_ok(cam.snapshots.required_zones, obj.entered_zones)
        )
        return data

    def _send(self, kind: Literal["new", "update", "end"], before: dict[str, Any], after: dict[str, Any]) -> None:
        self._publisher.publish(topics.EVENTS, json.dumps({"type": kind, "before": before, "after": after}))

    def _snapshot(self, obj: ObjectState) -> None:
        """Publishes the object's best frame when it is the best of its label in view on its camera."""
        best = obj.best
        settings = self._cameras[obj.camera].mqtt
        if best is None or not settings.enabled or not zones_ok(settings.required_zones, obj.entered_zones):
            return
        key = (obj.camera, obj.label)
        current = self._snapshots.get(key)
        if current is not None and current.object_id == obj.id and current.frame_time == best.frame_time:
            return  # already out
        rival_in_view = current is not None and any(o.id == current.object_id for o in self._live_objects(obj.camera))
        if current is not None and current.object_id != obj.id and rival_in_view and best.score <= current.score:
            return  # another one of this label in view looks better
        try:
            jpg = render_best(best, obj.label, settings)
        except (ValueError, OSError):
            logger.exception("MQTT snapshot of %s could not be drawn", obj.id)
            return
        self._snapshots[key] = _Snapshot(obj.id, best.score, best.frame_time)
        self._publisher.publish(topics.snapshot(obj.camera, obj.label), jpg, retain=True)

    def _publish_counts(self, camera: str) -> None:
        # In view = a true positive detected within PRESENCE_WINDOW: the event itself lasts
        # max_disappeared frames longer, but a person who walked out is no longer counted.
        # live_objects reads the camera's objects where they live: one that starts in this frame
        # is in them already, one that ends is out before its listeners hear of it.
        in_view = [
            o
            for o in self._live_objects(camera)
            if not o.false_positive and o.frame_time - o.current.frame_time <= PRESENCE_WINDOW
        ]
        by_label = Counter(o.label for o in in_view)
        published = self._camera_counts[camera]
        for label in set(published) | set(by_label):
            if published.get(label) != by_label[label]:
                published[label] = by_label[label]
                self._publisher.publish(topics.count(camera, label), str(by_label[label]))
        for zone in self._cameras[camera].zones:
            now = Counter(o.label for o in in_view if zone in o.current_zones)
            labels = {label for (z, label) in self._zone_counts if z == zone} | set(now)
            for label in labels:
                per_camera = self._zone_counts.setdefault((zone, label), {})
                total_before = sum(per_camera.values())
                per_camera[camera] = now[label]
                total = sum(per_camera.values())
                if total != total_before:
                    self._publisher.publish(topics.count(zone, label), str(total))


def recovered_description(row: dict[str, Any]) -> dict[str, Any]:
    """An event row (db/queries.py) in the shape of ``EventPublisher.describe``; where it was in
    the frame is not stored: its box and region are empty."""
    zones = [str(zone) for zone in row.get("zones") or ()]
    top_score = float(row.get("top_score") or 0.0)
    return {
        "id": str(row["id"]),
        "camera": str(row["camera"]),
        "frame_time": row["end_time"],
        "label": str(row.get("label") or ""),
        "top_score": top_score,
        "false_positive": bool(row.get("false_positive")),
        "start_time": float(row["start_time"]),
        "end_time": row["end_time"],
        "score": top_score,
        "box": [0, 0, 0, 0],
        "area": 0,
        "region": [0, 0, 0, 0],
        "current_zones": [],
        "entered_zones": zones,
        "thumbnail": None,
        "has_clip": bool(row.get("has_clip")),
        "has_snapshot": bool(row.get("has_snapshot")),
    }


def _changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether anything but the frame time differs."""
    return any(before.get(key) != value for key, value in after.items() if key != "frame_time")
