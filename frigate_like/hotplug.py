"""Cameras added, restarted and removed while the NVR runs (camera groups), and their newest frames.

A mixin of ``app.NVR`` (the composition root), kept apart so ``app.py`` stays a readable
start/stop sequence. A camera added here is a full camera: its own process and frame
ring, a spare detector channel, an entry in the tracked-object processor, the event
processor, ``/api/stats`` and ``/api/config``. Maps that other threads iterate are
replaced, never changed in place; ``cameras_lock`` orders the changes against the
watchdog and the frame readers (a ring is only closed under it).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from frigate_like.config import CameraConfig
from frigate_like.errors import Conflict, NotFound, Unavailable
from frigate_like.websocket.frames import LatestFrame

logger = logging.getLogger(__name__)

CHILD_JOIN_TIMEOUT = 8.0  # camera processes stop their ffmpegs (≤ 5 s) then exit


def join_process(process: Any, timeout: float) -> None:
    """Join, then terminate, then kill."""
    if process is None:
        return
    process.join(timeout)
    if process.is_alive():
        logger.warning("%s did not stop in %.0f s; terminating", process.name, timeout)
        process.terminate()
        process.join(2)
    if process.is_alive():
        process.kill()
        process.join(1)


class CameraHotplug:
    """The NVR's run-time camera changes (``groups.CameraHost``) and its ``websocket.FrameSource``."""

    cfg: Any  # FrigateConfig
    cameras: dict[str, Any]  # name → app.CameraRuntime
    cameras_lock: threading.RLock
    hub: Any  # DetectorHub
    tracked: Any  # TrackedObjectProcessor
    events: Any  # EventProcessor
    stats: Any  # StatsCollector
    live: Any  # events.live.LiveView (None before the API is built)
    switches: Any  # comms.switches.Switches: detect/clips/snapshots at run time
    recorder: Any  # record.maintainer.RecordingMaintainer: cache → recordings

    # provided by app.NVR
    def _new_runtime(self, name: str, cam: CameraConfig, channel: Any) -> Any:
        raise NotImplementedError

    def _start_camera(self, runtime: Any) -> None:
        raise NotImplementedError

    def _frame_reader(self, camera: str) -> Any:
        raise NotImplementedError

    def _clip_source(self, name: str, cam: CameraConfig) -> Any:
        raise NotImplementedError

    # -- groups.CameraHost ----------------------------------------------------------------------
    def camera_names(self) -> set[str]:
        return set(self.cameras)

    def camera_config(self, name: str) -> CameraConfig | None:
        cam: CameraConfig | None = self.cfg.cameras.get(name)
        return cam

    def free_camera_slots(self) -> int:
        return int(self.hub.spare_channels)

    def add_camera(self, cam: CameraConfig, *, paused: bool = False) -> None:
        """Starts ``cam`` as a new camera; ``Conflict`` if the name is taken or no slot is free."""
        from frigate_like.events.tracked import CameraObjects
        from frigate_like.stats import CameraStatsSource

        with self.cameras_lock:
            if cam.name in self.cameras:
                raise Conflict(f"a camera named {cam.name!r} already runs")
            channel = self.hub.assign_channel(cam.name)
        try:
            runtime = self._new_runtime(cam.name, cam, channel)
        except OSError as exc:  # shared memory full, ...
            self.hub.release_channel(cam.name)
            raise Unavailable(f"camera {cam.name}: cannot create its frame buffer: {exc}") from exc
        if paused:
            runtime.parts.paused.set()
        if self.switches is not None:
            self.switches.add_camera(cam, runtime.parts.metrics.detect_enabled)
        self.events.add_camera(cam, self._clip_source(cam.name, cam))
        if self.recorder is not None and cam.record.enabled and cam.input_for("record") is not None:
            from frigate_like.record.maintainer import RecordCamera
            from frigate_like.record.wiring import segment_time

            self.recorder.add_camera(
                RecordCamera(cam.name, segment_time(cam.ffmpeg.output_args.get("record", []), 60.0))
            )
        objects = CameraObjects(cam, self._frame_reader(cam.name), [self.events])
        if self.live is not None:  # MJPEG, latest.jpg and best.jpg for the new camera too
            from frigate_like.events.live import LiveCamera

            objects.add_listener(self.live)
            self.live.add_camera(cam.name, LiveCamera(cam, objects, self._frame_reader(cam.name)))
        with self.cameras_lock:
            self.cameras[cam.name] = runtime
            self.cfg.cameras = {**self.cfg.cameras, cam.name: cam}
            self.tracked.cameras = {**self.tracked.cameras, cam.name: objects}
            self.stats.add_camera(cam.name, CameraStatsSource(runtime.parts.metrics, runtime.parts.capture_metrics))
            self._start_camera(runtime)
        logger.info("camera %s added (%dx%d @ %d fps)", cam.name, cam.width, cam.height, cam.fps)

    def remove_camera(self, name: str) -> None:
        """Stops a camera, ends its objects (their events cut their clips) and frees its resources."""
        with self.cameras_lock:
            runtime = self.cameras.pop(name, None)
            if runtime is None:
                raise NotFound(f"no camera named {name!r}")
            self.cfg.cameras = {k: v for k, v in self.cfg.cameras.items() if k != name}
            objects = self.tracked.cameras.get(name)
            self.tracked.cameras = {k: v for k, v in self.tracked.cameras.items() if k != name}
            self.stats.remove_camera(name)
        if self.live is not None:
            self.live.remove_camera(name)
        runtime.parts.stop.set()
        join_process(runtime.process, CHILD_JOIN_TIMEOUT)
        if objects is not None:
            objects.end_all()
        with self.cameras_lock:  # no reader holds a view of the ring now
            runtime.ring.close()
            runtime.ring.unlink()
        self.hub.release_channel(name)
        logger.info("camera %s removed", name)

    def update_camera(self, cam: CameraConfig) -> None:
        """Restarts a camera with a new config (its size may change: new ring, new process)."""
        runtime = self.cameras.get(cam.name)
        if runtime is None:
            raise NotFound(f"no camera named {cam.name!r}")
        paused = runtime.parts.paused.is_set()
        self.remove_camera(cam.name)
        self.add_camera(cam, paused=paused)

    def set_camera_paused(self, name: str, paused: bool) -> None:
        runtime = self.cameras.get(name)
        if runtime is None:
            raise NotFound(f"no camera named {name!r}")
        if paused:
            runtime.parts.paused.set()
        else:
            runtime.parts.paused.clear()

    # -- websocket.FrameSource ------------------------------------------------------------------
    def latest_frame(self, camera: str, after: float) -> LatestFrame | None:
        with self.cameras_lock:
            runtime = self.cameras.get(camera)
            if runtime is None:
                return None
            ring = runtime.ring
            newest, newest_time = -1, after
            for slot in range(ring.slots):
                frame_time = ring.frame_time(slot)
                if frame_time > newest_time:  # NaN (being written) never is
                    newest, newest_time = slot, frame_time
            if newest < 0:
                return None
            frame = ring.read_copy(newest, newest_time)
            number = int(runtime.parts.capture_metrics.frames.value)
        if frame is None:
            return None
        return LatestFrame(frame, newest_time, number, ring.width, ring.height)
