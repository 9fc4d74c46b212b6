"""Event pictures and files for the API: from the live object while there is one, else from the DB and disk.

Every file this module hands out is resolved (symlinks included) by ``files.resolve_inside`` and
must lie in the clips folder, so no name from a URL can reach a file anywhere else.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from frigate_like.errors import NotFound, Unavailable
from frigate_like.events.live import LiveView
from frigate_like.events.snapshot import render_snapshot, resize_to_height, thumbnail_b64
from frigate_like.events.tracked import ObjectState
from frigate_like.files import resolve_inside

MEDIA_NAME = re.compile(r"[^/\\\x00]+\.(?:mp4|jpg)")  # one file name, no folder part
BEST_JPEG_QUALITY = 70
THUMBNAIL_QUALITY = 70


class EventReader(Protocol):
    """The DB reads this module needs (db/queries.py)."""

    @property
    def get_event(self) -> Callable[[str], dict[str, Any] | None]: ...
    @property
    def list_events(self) -> Callable[..., list[dict[str, Any]]]: ...


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    """``snapshot.jpg``'s parameters; None takes the camera's ``snapshots`` setting."""

    height: int | None = None
    bbox: bool | None = None
    timestamp: bool | None = None
    crop: bool | None = None


class DeferredCuts(Protocol):
    """The clips cut on their first request (record/deferred.py DeferredClips)."""

    def ensure(self, name: str) -> bool: ...
    def pending(self, name: str) -> bool: ...


class EventMedia:
    """Thumbnails, snapshots, ``best.jpg`` and clip files, wherever each one is right now."""

    def __init__(
        self,
        live: LiveView,
        store: EventReader,
        clips_dir: Path,
        cameras: Mapping[str, Any],
        deferred: DeferredCuts | None = None,
    ) -> None:
        """``deferred``: cuts a clip whose event kept only its footage when it is first asked for."""
        self.live = live
        self.store = store
        self.clips_dir = clips_dir
        self.cameras = cameras
        self.deferred = deferred

    # -- files ----------------------------------------------------------------------------------
    def media_file(self, name: str) -> Path:
        """``clips/<name>`` for an ``.mp4`` or ``.jpg`` name; ``NotFound`` for anything else.

        The real path (after symlinks) must be a regular file directly inside the clips folder.
        A clip not cut yet is cut now (``Unavailable`` when that fails; the next request tries again).
        """
        if not MEDIA_NAME.fullmatch(name) or name.startswith("."):
            raise NotFound(f"no such file: {name!r}")
        deferred = self.deferred
        if deferred is not None and name.endswith(".mp4") and not deferred.ensure(name) and deferred.pending(name):
            raise Unavailable(f"the clip {name!r} could not be cut from its footage; try again later")
        return resolve_inside(self.clips_dir, name)

    # -- best.jpg -------------------------------------------------------------------------------
    def best_jpeg(self, camera: str, label: str, height: int | None, crop: bool) -> bytes:
        """The best picture of a live ``label`` object, else of the last ended one (memory, then disk)."""
        cam = self.cameras[self.live.camera(camera).name]
        if label not in cam.objects.track:
            raise NotFound(f"camera {camera!r} does not track {label!r}")
        obj = self.live.best_object(camera, label)
        if obj is not None and obj.best is not None:
            return _draw(obj, bbox=False, timestamp=False, crop=crop, height=height, quality=BEST_JPEG_QUALITY)
        # After a restart only the saved snapshot is left: it is served resized (its crop is the camera's).
        for event in self.store.list_events(
            camera=camera, label=label, has_snapshot=True, limit=10, include_thumbnails=False
        ):
            if event["end_time"] is None:
                continue
            try:
                path = self.media_file(f"{camera}-{event['id']}.jpg")
            except NotFound:
                continue
            return _resized_file(path, height, BEST_JPEG_QUALITY)
        raise NotFound(f"no {label!r} seen on camera {camera!r} yet")

    # -- events ---------------------------------------------------------------------------------
    def thumbnail_jpeg(self, event_id: str, android: bool = False) -> bytes:
        """The event's thumbnail (square); ``android`` pads it to a 2:1 aspect for notifications."""
        obj = self.live.live_event(event_id)
        jpeg: bytes | None = None
        if obj is not None and obj.best is not None:
            jpeg = _thumbnail_of(obj)
        else:
            event = self.store.get_event(event_id)
            if event is not None and event.get("thumbnail"):
                jpeg = base64.b64decode(event["thumbnail"])
            else:
                recent = self.live.recent_event(event_id)
                if recent is not None and recent.best is not None:
                    jpeg = _thumbnail_of(recent)
                elif event is None:
                    raise NotFound(f"event {event_id!r} not found")
        if jpeg is None:
            raise NotFound(f"event {event_id!r} has no thumbnail yet")
        return _two_to_one(jpeg) if android else jpeg

    def snapshot(self, event_id: str, request: SnapshotRequest) -> bytes | Path:
        """Rendered from the best frame while the event is in progress; the saved file once it ended."""
        obj = self.live.live_event(event_id)
        if obj is not None and obj.best is not None:
            return self._render(obj, request)
        event = self.store.get_event(event_id)
        if event is not None and event["end_time"] is not None:
            if not event["has_snapshot"]:
                raise NotFound(f"event {event_id!r} has no snapshot")
            try:
                return self.media_file(f"{event['camera']}-{event['id']}.jpg")
            except NotFound:
                pass  # the event processor may not have written it yet
        recent = self.live.recent_event(event_id)
        if recent is not None and recent.best is not None:
            return self._render(recent, request)
        if event is None:
            raise NotFound(f"event {event_id!r} not found")
        raise NotFound(f"event {event_id!r} has no snapshot")

    def _render(self, obj: ObjectState, request: SnapshotRequest) -> bytes:
        settings = self.cameras[obj.camera].snapshots
        return _draw(
            obj,
            bbox=settings.bounding_box if request.bbox is None else request.bbox,
            timestamp=settings.timestamp if request.timestamp is None else request.timestamp,
            crop=settings.crop if request.crop is None else request.crop,
            height=settings.height if request.height is None else request.height,
        )


def _draw(obj: ObjectState, *, bbox: bool, timestamp: bool, crop: bool, height: int | None, quality: int = 90) -> bytes:
    """The object's best frame as a JPEG, drawn as asked."""
    best = obj.best
    assert best is not None
    return render_snapshot(
        best.frame,
        box=best.box,
        label=obj.label,
        score=best.score,
        frame_time=best.frame_time,
        bounding_box=bbox,
        timestamp=timestamp,
        crop=crop,
        height=height,
        quality=quality,
    )


def _thumbnail_of(obj: ObjectState) -> bytes:
    assert obj.best is not None
    return base64.b64decode(thumbnail_b64(obj.best.frame, obj.best.box))


def _decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise NotFound("the stored picture cannot be read")
    return image


def _encode(image: np.ndarray, quality: int) -> bytes:
    ok, jpg = cv2.imencode(".jpg", image, [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return jpg.tobytes()


def _resized_file(path: Path, height: int | None, quality: int) -> bytes:
    data = path.read_bytes()
    if height is None:
        return data
    return _encode(resize_to_height(_decode(data), height), quality)


def _two_to_one(jpeg: bytes) -> bytes:
    """Pads a picture with black to exactly twice as wide as high (Android notifications)."""
    image = _decode(jpeg)
    h, w = image.shape[:2]
    if w <= 2 * h:
        extra = 2 * h - w
        image = cv2.copyMakeBorder(image, 0, 0, extra // 2, extra - extra // 2, cv2.BORDER_CONSTANT, value=0)
    else:
        extra = (w + 1) // 2 - h
        image = cv2.copyMakeBorder(image, extra // 2, extra - extra // 2, 0, 0, cv2.BORDER_CONSTANT, value=0)
        if image.shape[1] % 2:
            image = cv2.copyMakeBorder(image, 0, 0, 0, 1, cv2.BORDER_CONSTANT, value=0)
    return _encode(image, THUMBNAIL_QUALITY)
