"""Each running camera's frame ring, detector channel and process: the first and last registry subscribers.

:class:`CameraRuntimes` is subscribed first: on ``added`` it creates the ring and takes a
detector channel, so the subscribers after it can read frames and shared counters. Its
:attr:`CameraRuntimes.processes` face is subscribed last: it starts the process once
everything downstream exists, and (``removed`` goes in reverse) stops it before anything
goes away. A ring is closed only under :attr:`CameraRuntimes.lock`, which every frame read
holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.context import SpawnContext, SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import numpy as np

from frigate_like.cameras.registry import Camera
from frigate_like.config import CameraConfig, FrigateConfig
from frigate_like.detect.channel import DetectorChannel
from frigate_like.detect.process import DetectorHub
from frigate_like.errors import Unavailable
from frigate_like.messages import FrameUpdate
from frigate_like.metrics import CameraMetrics
from frigate_like.supervise import RestartBackoff, health_entry
from frigate_like.track.camera_process import CameraProcessParts, RingSpec, camera_process_main, ring_slots
from frigate_like.video.capture import CaptureMetrics
from frigate_like.video.frames import FrameRing, shm_name_for

logger = logging.getLogger(__name__)

CHILD_JOIN_TIMEOUT = 8.0  # camera processes stop their ffmpegs (≤ 5 s) then exit

FrameReader = Callable[[int, float], "np.ndarray | None"]


def join_process(process: SpawnProcess | None, timeout: float) -> None:
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


@dataclass
class CameraRuntime:
    """The main process's handles on one camera."""

    name: str
    parts: CameraProcessParts
    ring: FrameRing  # owned: unlinked when the camera is removed
    process: SpawnProcess | None = None
    restarts: list[float] = field(default_factory=list)
    replaced: bool = False  # restarted by the watchdog; not reported back (pid) yet
    backoff: RestartBackoff = field(default_factory=RestartBackoff)


@dataclass(frozen=True)
class ProcessSettings:
    """What every camera process shares (from the config and the daemon)."""

    cfg: FrigateConfig
    ffmpeg_bin: str
    ctx: SpawnContext
    updates: Queue[FrameUpdate]
    log_queue: Queue[logging.LogRecord]
    children_stop: EventType  # set when the daemon stops (no restarts)
    # input path → restream URL (``RestreamServer.routes``): the camera's ffmpegs read the restream
    routes: Callable[[CameraConfig], dict[str, str]] = lambda _cam: {}


class CameraRuntimes:
    """Rings, detector channels and processes of the running cameras (a ``CameraSubscriber``)."""

    def __init__(self, settings: ProcessSettings, hub: DetectorHub) -> None:
        self._settings = settings
        self._hub = hub
        self.lock = threading.RLock()
        self._runtimes: dict[str, CameraRuntime] = {}  # replaced on change: the watchdog iterates it
        self.processes = CameraProcesses(self)

    # -- CameraSubscriber -----------------------------------------------------------------------
    def camera_added(self, camera: Camera) -> None:
        channel = self._hub.assign_channel(camera.name)  # Conflict when no channel is left
        try:
            runtime = self._new_runtime(camera, channel)
        except OSError as exc:  # shared memory full, ...
            self._hub.release_channel(camera.name)
            raise Unavailable(f"camera {camera.name}: cannot create its frame buffer: {exc}") from exc
        with self.lock:
            self._runtimes = {**self._runtimes, camera.name: runtime}

    def camera_updated(self, old: Camera, new: Camera) -> None:
        """A new ring (the size may change) and new counters; ``processes`` starts it again."""
        self.processes.stop(old.name)
        self.camera_removed(old)
        self.camera_added(new)

    def camera_paused(self, camera: Camera) -> None:
        self.get(camera.name).parts.paused.set()

    def camera_resumed(self, camera: Camera) -> None:
        self.get(camera.name).parts.paused.clear()

    def camera_removed(self, camera: Camera) -> None:
        with self.lock:  # no reader holds a view of the ring after this
            runtime = self._runtimes.get(camera.name)
            if runtime is None:
                return
            self._runtimes = {k: v for k, v in self._runtimes.items() if k != camera.name}
            runtime.ring.close()
            runtime.ring.unlink()
        self._hub.release_channel(camera.name)

    # -- reads ----------------------------------------------------------------------------------
    def get(self, name: str) -> CameraRuntime:
        return self._runtimes[name]

    def find(self, name: str) -> CameraRuntime | None:
        return self._runtimes.get(name)

    def all(self) -> Iterable[CameraRuntime]:
        return self._runtimes.values()

    def camera_names(self) -> Iterable[str]:
        return list(self._runtimes)

    def metrics(self, camera: str) -> CameraMetrics:
        """The camera process's shared counters (and its ``detect_enabled`` switch)."""
        return self._runtimes[camera].parts.metrics

    def capture_metrics(self, camera: str) -> CaptureMetrics:
        return self._runtimes[camera].parts.capture_metrics

    def frame_reader(self, camera: str) -> FrameReader:
        """Copies a frame of ``camera`` out of its ring; None once the slot moved on or the camera is gone."""

        def read(slot: int, frame_time: float) -> np.ndarray | None:
            with self.lock:
                runtime = self._runtimes.get(camera)
                return None if runtime is None else runtime.ring.read_copy(slot, frame_time)

        return read

    def upstream_drops(self, camera: str) -> Callable[[], int]:
        """Frames of ``camera`` lost before the main process saw them (capture skips, dropped updates)."""

        def count() -> int:
            runtime = self._runtimes.get(camera)
            if runtime is None:
                return 0
            parts = runtime.parts
            return int(parts.capture_metrics.skipped_frames.value) + int(parts.metrics.updates_dropped.value)

        return count

    def frames_read(self, camera: str) -> Callable[[], int]:
        """The count of frames ``camera``'s capture has read (0 once the camera is gone)."""

        def count() -> int:
            runtime = self._runtimes.get(camera)
            return 0 if runtime is None else int(runtime.parts.capture_metrics.frames.value)

        return count

    # -- processes ------------------------------------------------------------------------------
    def start_process(self, runtime: CameraRuntime) -> None:
        process = self._settings.ctx.Process(
            target=camera_process_main, args=(runtime.parts,), name=f"camera:{runtime.name}", daemon=True
        )
        process.start()
        runtime.process = process
        runtime.backoff.started()

    def restart_dead(self) -> dict[str, str]:
        """Restarts camera processes that died (the watchdog); none once the daemon stops.

        Returns ``{camera: why}`` of the processes restarted (the watchdog reports them in ``service.health``).
        Bound: the watchdog waits on the processes' sentinels (``sentinels()``), so this runs within
        milliseconds of the death (50 ms more when the process could not be reaped yet); the new process
        reports itself (``recovered``) after Python's start and its imports (0.4-0.9 s at load average
        1-2 on 2 cores, up to ~2.7 s seen at 7), and its ffmpegs start right after. A process that died
        within 10 s of its start waits 1 s doubling to 30 s (``RestartBackoff``: a crash loop)."""
        restarted: dict[str, str] = {}
        with self.lock:
            for runtime in self._runtimes.values():
                process = runtime.process
                if process is None or process.is_alive() or self._settings.children_stop.is_set():
                    continue
                if runtime.backoff.ready():  # at once, unless it had just been started (a crash loop)
                    logger.error("camera process %s exited (code %s); restarting", runtime.name, process.exitcode)
                    runtime.restarts.append(time.time())
                    restarted[runtime.name] = f"camera process exited with code {process.exitcode}"
                    runtime.parts.metrics.pid.value = 0
                    self.start_process(runtime)
                    runtime.replaced = True
        return restarted

    # -- supervise.Watched: the app's watchdog ------------------------------------------------------
    def names(self) -> list[str]:
        return list(self._runtimes)

    def sentinels(self) -> list[int]:
        """Handles that become ready when a camera process exits (``multiprocessing.connection.wait``)."""
        # each process read once: a camera being removed sets its ``process`` to None from another thread
        processes = [r.process for r in list(self._runtimes.values())]
        return [p.sentinel for p in processes if p is not None and p.exitcode is None]

    def replace_failed(self) -> dict[str, str]:
        return self.restart_dead()

    def recovered(self) -> list[str]:
        """Cameras whose replaced process runs again (it wrote its pid) since the last call."""
        back = []
        for runtime in list(self._runtimes.values()):
            process = runtime.process
            if runtime.replaced and process is not None and runtime.parts.metrics.pid.value == process.pid:
                runtime.replaced = False
                back.append(runtime.name)
        return back

    def input_health(self) -> dict[str, dict[str, Any]]:
        """Each camera ffmpeg's ``service.health`` entry (kept by the camera process: ``capture.InputHealth``)."""
        entries: dict[str, dict[str, Any]] = {}
        for runtime in list(self._runtimes.values()):
            for entry in runtime.parts.capture_metrics.inputs.entries():
                name = entry.pop("name")
                entries[name] = health_entry(
                    bool(entry.get("ok")), entry.get("error"), entry.get("last_error"), entry.get("last_error_time"),
                    int(entry.get("restarts") or 0), None, entry.get("failing_since"),
                )  # fmt: skip
        return entries

    def camera_answers(self, camera: str) -> bool | None:
        """False while the camera's capture probes its source (down), True otherwise, None for no such camera."""
        runtime = self._runtimes.get(camera)
        return None if runtime is None else not runtime.parts.capture_metrics.inputs.source_down()

    def stop_all(self) -> None:
        """Daemon stop: no more restarts; every process asked at once, then joined."""
        self._settings.children_stop.set()
        runtimes = list(self._runtimes.values())
        for runtime in runtimes:
            runtime.parts.stop.set()
        for runtime in runtimes:
            join_process(runtime.process, CHILD_JOIN_TIMEOUT)

    def close_rings(self) -> None:
        with self.lock:
            for runtime in self._runtimes.values():
                runtime.ring.close()
                runtime.ring.unlink()
            self._runtimes = {}

    def _new_runtime(self, camera: Camera, channel: DetectorChannel) -> CameraRuntime:
        """A camera's ring and process parts; its own stop and pause events (cameras stop one by one)."""
        s, cam = self._settings, camera.config
        spec = RingSpec(shm_name_for(camera.name), cam.width, cam.height, ring_slots())
        ring = FrameRing.create(spec.name, spec.width, spec.height, spec.slots)
        parts = CameraProcessParts(
            cam=cam,
            model=s.cfg.model,
            cache_dir=Path(s.cfg.paths.cache_dir),
            ffmpeg_bin=s.ffmpeg_bin,
            ring=spec,
            detector_channel=channel,
            updates=s.updates,
            metrics=CameraMetrics(s.ctx, cam.detect.enabled),
            capture_metrics=CaptureMetrics(s.ctx),
            stop=s.ctx.Event(),
            log_queue=s.log_queue,
            log_default=s.cfg.logger.default,
            log_levels=dict(s.cfg.logger.logs),
            paused=s.ctx.Event(),
            routes=s.routes(cam),
        )
        if camera.paused:
            parts.paused.set()
        return CameraRuntime(name=camera.name, parts=parts, ring=ring)


class CameraProcesses:
    """The last subscriber: starts a camera's process when all else is ready; stops it first."""

    def __init__(self, runtimes: CameraRuntimes) -> None:
        self._runtimes = runtimes

    def camera_added(self, camera: Camera) -> None:
        self._runtimes.start_process(self._runtimes.get(camera.name))

    def camera_updated(self, old: Camera, new: Camera) -> None:
        self.camera_added(new)  # CameraRuntimes stopped the old process and made a new ring

    def camera_paused(self, camera: Camera) -> None:
        pass

    def camera_resumed(self, camera: Camera) -> None:
        pass

    def camera_removed(self, camera: Camera) -> None:
        self.stop(camera.name)

    def stop(self, name: str) -> None:
        runtime = self._runtimes.find(name)
        if runtime is None or runtime.process is None:
            return
        process, runtime.process = runtime.process, None  # the watchdog does not restart it meanwhile
        runtime.parts.stop.set()
        join_process(process, CHILD_JOIN_TIMEOUT)
