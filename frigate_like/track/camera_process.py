"""One camera's process: capture threads feed frames to motion → regions → detector → tracker."""

from __future__ import annotations

import logging
import os
import queue
import signal
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frigate_like.config import CameraConfig, ModelConfig
from frigate_like.detect.channel import DetectorChannel
from frigate_like.detect.client import DetectorClient
from frigate_like.errors import DetectorUnavailable
from frigate_like.messages import FrameUpdate
from frigate_like.metrics import CameraMetrics, RateMeter
from frigate_like.supervise import spawning_parent_pid

if TYPE_CHECKING:  # the capture (and its imports) loads in the camera process only
    from frigate_like.video.capture import CaptureMetrics

FRAME_QUEUE_SIZE = 10  # frames waiting for the tracker; the ring has this + 2 slots


def ring_slots(queue_size: int = FRAME_QUEUE_SIZE) -> int:
    """Slots a camera's ring needs: the queued frames, the one being processed, the one being written."""
    return queue_size + 2


@dataclass(frozen=True)
class RingSpec:
    name: str
    width: int
    height: int
    slots: int


@dataclass
class CameraProcessParts:
    """Everything a camera process is built from; all of it picklable."""

    cam: CameraConfig
    model: ModelConfig
    cache_dir: Path
    ffmpeg_bin: str
    ring: RingSpec
    detector_channel: DetectorChannel
    updates: Queue[FrameUpdate]  # bounded
    metrics: CameraMetrics
    capture_metrics: CaptureMetrics
    stop: EventType
    log_queue: Queue[logging.LogRecord]
    log_default: str
    log_levels: dict[str, str]
    paused: EventType  # set = capture drops every frame (pause)
    routes: dict[str, str] = field(default_factory=dict)  # input path → restream URL its ffmpegs read instead


class CameraProcess:
    """The body of one camera's process (``run`` is the process target)."""

    def __init__(self, parts: CameraProcessParts) -> None:
        self.parts = parts

    def run(self) -> None:
        import cv2

        from frigate_like.log import configure_child_logging

        parts = self.parts
        # One camera's work is sequential; cv2's own thread pool only adds contention on small boxes.
        cv2.setNumThreads(1)
        # The main process owns shutdown: a Ctrl-C in the terminal must not kill us mid-frame.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: parts.stop.set())
        configure_child_logging(parts.log_default, parts.log_levels, parts.log_queue)
        logger = logging.getLogger(f"frigate_like.camera.{parts.cam.name}")
        parts.metrics.pid.value = os.getpid()
        try:
            self._loop(logger)
        except Exception:
            logger.exception("camera process crashed")
            raise

    def _loop(self, logger: logging.Logger) -> None:
        from frigate_like.track.frame_processor import FrameProcessor
        from frigate_like.video.capture import CameraCapture
        from frigate_like.video.frames import FrameRing

        parts = self.parts
        cam = parts.cam
        ring = FrameRing.attach(parts.ring.name, parts.ring.width, parts.ring.height, parts.ring.slots)
        client = DetectorClient(parts.detector_channel)
        frames: queue.Queue[tuple[int, float]] = queue.Queue(maxsize=parts.ring.slots - 2)
        capture = CameraCapture(
            cam,
            parts.cache_dir,
            ring,
            frames,
            parts.capture_metrics,
            parts.stop,
            parts.ffmpeg_bin,
            logging.getLogger(f"ffmpeg.{cam.name}"),
            paused=parts.paused,
            routes=parts.routes,
        )
        processor = FrameProcessor(cam, parts.model, client.detect, client.input)
        process_rate, detection_rate = RateMeter(), RateMeter()
        detections_before = 0
        detecting = True
        capture.start()
        logger.info("camera %s started (%dx%d @ %s fps)", cam.name, cam.width, cam.height, cam.fps)
        parent = spawning_parent_pid()  # not os.getppid(): the daemon may be gone already
        last_parent_check = 0.0
        try:
            while not parts.stop.is_set():
                try:
                    slot, frame_time = frames.get(timeout=1.0)
                except queue.Empty:
                    self._publish_rates(process_rate, detection_rate, 0, 0)
                    if os.getppid() != parent:  # the daemon was killed (-9): stop our ffmpegs and go
                        logger.warning("camera %s: the main process is gone; exiting", cam.name)
                        break
                    continue
                if frame_time - last_parent_check >= 1.0:
                    last_parent_check = frame_time
                    if os.getppid() != parent:
                        logger.warning("camera %s: the main process is gone; exiting", cam.name)
                        break
                objects: tuple[Any, ...] = ()
                motion: tuple[Any, ...] = ()
                regions: tuple[Any, ...] = ()
                answered = True
                detect = bool(parts.metrics.detect_enabled.value)
                if detect and not detecting:
                    # switched back on (MQTT): old tracks would come back under ids whose events ended
                    processor = FrameProcessor(cam, parts.model, client.detect, client.input)
                    detections_before = 0
                detecting = detect
                if detect:
                    try:
                        objects, motion, regions = processor.process(ring.frame(slot), frame_time)
                    except DetectorUnavailable as exc:
                        logger.warning("frame skipped: %s", exc)
                        answered = False
                detections = processor.detections_run - detections_before
                detections_before = processor.detections_run
                self._publish_rates(process_rate, detection_rate, 1, detections)
                update = FrameUpdate(
                    cam.name, frame_time, slot, tuple(objects), tuple(motion), tuple(regions), answered
                )
                try:
                    parts.updates.put_nowait(update)
                except queue.Full:
                    parts.metrics.updates_dropped.value += 1
        finally:
            capture.stop()
            ring.close()
            logger.info("camera %s stopped", cam.name)

    def _publish_rates(self, process_rate: RateMeter, detection_rate: RateMeter, frames: int, detections: int) -> None:
        rate = process_rate.tick(frames)
        if rate is not None:
            self.parts.metrics.process_fps.value = round(rate, 2)
        rate = detection_rate.tick(detections)
        if rate is not None:
            self.parts.metrics.detection_fps.value = round(rate, 2)


def camera_process_main(parts: CameraProcessParts) -> None:
    """Process target (module-level so the spawn start method can find it)."""
    CameraProcess(parts).run()
