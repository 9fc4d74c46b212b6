"""The live view of every camera for the API: latest frames, shared MJPEG encoders, live and recent objects.

Runs in the main process. The tracking thread keeps each camera's ``CameraObjects`` up to date;
HTTP threads read from here. A camera's latest frame is copied out of the shared-memory ring
once per frame (under the camera's lock) and the copy is shared by every reader; objects that
ended recently are kept (as a LifecycleListener) so their pictures stay available until the
event processor has saved them, and ``best.jpg`` can show the last one of a label.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import replace

import numpy as np

from frigate_like.config import CameraConfig
from frigate_like.errors import NotFound, Unavailable
from frigate_like.events.mjpeg import EncoderRegistry, LiveFrame, MjpegStream, SharedEncoder
from frigate_like.events.overlays import CameraOverlays, ViewOptions
from frigate_like.events.tracked import CameraObjects, ObjectState
from frigate_like.messages import FrameUpdate
from frigate_like.websocket.frames import LatestFrame

MAX_STREAMS = 64  # concurrent MJPEG viewers; the HTTP server sizes its threads from this
RECENT_OBJECTS = 64  # ended objects kept in memory (their pictures until saved, best.jpg)

FrameReader = Callable[[int, float], "np.ndarray | None"]


class LiveCamera:
    """One camera's latest frame (a private copy, refreshed once per frame) and its live objects.

    ``frames_read()``: the count of frames the camera's capture has read (the WebSocket's frame number).
    """

    def __init__(
        self,
        cam: CameraConfig,
        objects: CameraObjects,
        read_frame: FrameReader,
        frames_read: Callable[[], int] = lambda: 0,
    ) -> None:
        self.name = cam.name
        self.cam = cam
        self.overlays = CameraOverlays(cam)
        self._objects = objects
        self._read_frame = read_frame
        self.frames_read = frames_read
        self._lock = threading.Lock()
        self._cached: LiveFrame | None = None
        self._closed = False

    def latest(self) -> LiveFrame | None:
        """The newest frame we could copy; None before the first one (or after ``close``).

        When the ring slot of the newest update was already overwritten, the previous copy
        is returned: an older frame, but one whose boxes match it.
        """
        with self._lock:
            if self._closed:
                return None
            update = self._objects.last_update
            cached = self._cached
            if update is None or (cached is not None and cached.frame_time >= update.frame_time):
                return cached
            frame = self._read_frame(update.slot, update.frame_time)
            if frame is not None:
                self._cached = LiveFrame(update, frame)
            return self._cached

    def render(self, frame: LiveFrame, options: ViewOptions) -> bytes:
        return self.overlays.render(frame.frame, frame.update, options)

    def live_objects(self) -> tuple[ObjectState, ...]:
        """The tracked objects as of the last frame (CameraObjects publishes a new tuple per frame)."""
        return self._objects.live

    def close(self) -> None:
        """No frame is read after this returns (the daemon unlinks the ring next)."""
        with self._lock:
            self._closed = True
            self._cached = None


class LiveView:
    """What the API and the WebSocket ask of the live cameras; also a LifecycleListener that remembers
    ended objects, and a frame listener of the tracking thread (``on_frame``) that wakes the WebSocket.

    One pipeline: a camera's latest processed frame is copied once (``LiveCamera.latest``) and drawn
    and encoded once per option set (``EncoderRegistry``), for MJPEG viewers, ``latest.jpg`` and the
    WebSocket (which holds the default option set's encoder of the cameras its clients want).
    An encoder nobody holds does not exist, so nothing is encoded for nobody.
    """

    def __init__(self, *, max_streams: int = MAX_STREAMS, recent: int = RECENT_OBJECTS) -> None:
        self.cameras: dict[str, LiveCamera] = {}  # the registry's ObjectsSubscriber adds them
        self.encoders = EncoderRegistry(max_streams)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, ObjectState] = OrderedDict()
        self._recent_max = recent
        self._last_ended: dict[tuple[str, str], ObjectState] = {}
        self._frame_arrived = threading.Condition()
        self._frame_sequence = 0
        self._watched: dict[str, tuple[LiveCamera, SharedEncoder]] = {}  # the WebSocket's (its thread only)

    def add_camera(self, name: str, camera: LiveCamera) -> None:
        """A camera added at run time (camera groups); readers see the new map or the old one."""
        self.cameras = {**self.cameras, name: camera}

    def remove_camera(self, name: str) -> None:
        camera = self.cameras.get(name)
        self.cameras = {k: v for k, v in self.cameras.items() if k != name}
        if camera is not None:
            camera.close()

    def camera(self, name: str) -> LiveCamera:
        camera = self.cameras.get(name)
        if camera is None:
            raise NotFound(f"camera {name!r} not found")
        return camera

    # -- frames ---------------------------------------------------------------------------------
    def open_stream(
        self, camera: str, options: ViewOptions, fps: float, disconnected: Callable[[], bool] = lambda: False
    ) -> MjpegStream:
        """An MJPEG body for one viewer; ``NotFound`` / ``Unavailable`` before anything is sent."""
        source = self.camera(camera)
        if self._stop.is_set():
            raise Unavailable("the daemon is stopping")
        encoder = self.encoders.acquire(source, bounded_options(source, options), stream=True)
        fps = min(fps, float(source.cam.fps))  # more parts than the camera has frames would repeat none anyway
        return MjpegStream(
            self.encoders, encoder, fps, stop=self._stop, disconnected=disconnected, frame_wait=self.wait_for_frame
        )

    def latest_jpeg(self, camera: str, options: ViewOptions) -> bytes:
        """The latest frame with overlays; shares the encode with any MJPEG viewer of the same options."""
        source = self.camera(camera)
        encoder = self.encoders.acquire(source, bounded_options(source, options))
        try:
            encoded = encoder.current()
        finally:
            self.encoders.release(encoder)
        if encoded is None:
            raise Unavailable(f"camera {camera!r} has not delivered a frame yet")
        return encoded.jpeg

    # -- the WebSocket's FrameSource (websocket/frames.py) --------------------------------------------
    def camera_names(self) -> list[str]:
        return list(self.cameras)

    def on_frame(self, update: FrameUpdate) -> None:
        """A processed frame arrived (tracking thread): wakes whoever waits for one."""
        with self._frame_arrived:
            self._frame_sequence += 1
            self._frame_arrived.notify_all()

    def wait_for_frame(self, seen: int, timeout: float) -> int:
        with self._frame_arrived:
            if self._frame_sequence == seen and not self._stop.is_set():
                self._frame_arrived.wait(timeout)
            return self._frame_sequence

    def watch(self, cameras: Collection[str]) -> None:
        """Holds the default-options encoder of each camera in ``cameras``, releases the others'."""
        wanted = set() if self._stop.is_set() else set(cameras)
        current = self.cameras
        for name, (camera, encoder) in list(self._watched.items()):
            if name not in wanted or current.get(name) is not camera:  # unwanted, removed or restarted
                del self._watched[name]
                self.encoders.release(encoder)
        for name in wanted - set(self._watched):
            added = current.get(name)
            if added is not None:
                self._watched[name] = (added, self.encoders.acquire(added, ViewOptions()))

    def latest_frame(self, camera: str, after: float) -> LatestFrame | None:
        watched = self._watched.get(camera)
        if watched is None:
            return None
        source, encoder = watched
        encoded = encoder.current()
        if encoded is None or encoded.frame_time <= after:
            return None
        return LatestFrame(encoded.jpeg, encoded.frame_time, source.frames_read(), source.cam.width, source.cam.height)

    # -- objects --------------------------------------------------------------------------------
    def best_object(self, camera: str, label: str) -> ObjectState | None:
        """The live true-positive ``label`` object with the best picture, else the last one that ended."""
        candidates = [
            obj
            for obj in self.camera(camera).live_objects()
            # a true positive stays one when low scores pull its median under the threshold for a while
            if obj.label == label and not obj.false_positive and obj.best is not None
        ]
        if candidates:
            return max(candidates, key=lambda obj: obj.best.score if obj.best else 0.0)
        with self._lock:
            return self._last_ended.get((camera, label))

    def live_event(self, event_id: str) -> ObjectState | None:
        """The tracked object of an event in progress, on any camera."""
        for camera in self.cameras.values():
            for obj in camera.live_objects():
                if obj.id == event_id and obj.has_event:
                    return obj
        return None

    def recent_event(self, event_id: str) -> ObjectState | None:
        """An event's object that ended lately (its clip and snapshot may still be in the making)."""
        with self._lock:
            return self._recent.get(event_id)

    # -- LifecycleListener (tracking thread) --------------------------------------------------------
    def object_started(self, obj: ObjectState) -> None:
        pass

    def object_updated(self, obj: ObjectState, reason: str) -> None:
        pass

    def object_ended(self, obj: ObjectState) -> None:
        if obj.best is None:
            return
        with self._lock:
            self._recent[obj.id] = obj
            while len(self._recent) > self._recent_max:
                self._recent.popitem(last=False)
            if obj.has_event:  # a false positive that never became an event is nobody's best
                self._last_ended[(obj.camera, obj.label)] = obj

    def close(self) -> None:
        """Ends every MJPEG stream and stops reading frames (before the rings go away)."""
        self._stop.set()
        with self._frame_arrived:
            self._frame_arrived.notify_all()
        for camera in self.cameras.values():
            camera.close()


def bounded_options(camera: LiveCamera, options: ViewOptions) -> ViewOptions:
    """``h`` at or above the detect height is the full size: never upscaled, one option set (and encoder) with
    no ``h``; the registry also caps the option sets per camera (events/mjpeg.py)."""
    if options.height is not None and options.height >= camera.cam.height:
        return replace(options, height=None)
    return options
