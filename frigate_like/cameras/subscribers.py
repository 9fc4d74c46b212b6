"""The registry's subscribers that keep the main process's per-camera state.

One class per subsystem, each the only code that adds a camera to (or removes one from)
that subsystem. ``app.NVR`` subscribes them in this order (removal runs in reverse):

1. ``CameraRuntimes``          ring, detector channel, shared counters (cameras/runtime.py); the
                               subscribers below read them through :class:`RuntimeParts`
2. :class:`SwitchesSubscriber` detect/clips/snapshots switches (MQTT ``<camera>/<switch>``)
3. :class:`EventsSubscriber`   event rows, clips and snapshots (its clip cache)
4. :class:`MqttEventsSubscriber` MQTT events, counts and snapshots
5. :class:`ObjectsSubscriber`  tracked objects and the live view (MJPEG, latest.jpg, best.jpg)
6. :class:`RecorderSubscriber` 24/7 recordings
7. :class:`ManualSubscriber`   manual recordings (``record/start``)
8. :class:`StatsSubscriber`    ``/api/stats`` and MQTT stats
9. ``CameraProcesses``         the camera process (started last, stopped first)
10. :class:`ChangeCallback`    the WebSocket's state message
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from frigate_like.cameras.registry import Camera, RestartOnUpdate
from frigate_like.cameras.runtime import FrameReader
from frigate_like.comms.events import EventPublisher
from frigate_like.comms.publisher import Publisher
from frigate_like.comms.switches import Switches
from frigate_like.config import CameraConfig
from frigate_like.events.live import LiveCamera, LiveView
from frigate_like.events.processor import EventProcessor
from frigate_like.events.tracked import CameraObjects, LifecycleListener, TrackedObjectProcessor
from frigate_like.metrics import CameraMetrics
from frigate_like.record.camera_writer import CameraSource
from frigate_like.record.clips import ClipCache, DeferredKeeper
from frigate_like.record.maintainer import RecordCamera, RecordingMaintainer
from frigate_like.record.manual import ManualRecorder
from frigate_like.record.wiring import segment_time
from frigate_like.stats import CameraStatsSource, StatsCollector
from frigate_like.video.capture import CaptureMetrics

CLIPS_SEGMENT_TIME = 10.0  # -segment_time of the clips role when its output args do not say
RECORD_SEGMENT_TIME = 60.0


class RuntimeParts(Protocol):
    """What the subscribers read of a running camera: its ring and shared counters.

    ``CameraRuntimes`` in the daemon (subscribed before them, so these exist); tests that run no
    camera process give plain counters and their own frames.
    """

    def metrics(self, camera: str) -> CameraMetrics: ...
    def capture_metrics(self, camera: str) -> CaptureMetrics: ...
    def frame_reader(self, camera: str) -> FrameReader: ...
    def frames_read(self, camera: str) -> Callable[[], int]: ...
    def upstream_drops(self, camera: str) -> Callable[[], int]: ...


def clip_cache(
    cam: CameraConfig, cache_dir: Path, ffmpeg_bin: str, ffprobe_bin: str | None, deferred: DeferredKeeper | None = None
) -> ClipCache | None:
    """The camera's clip cache, None when no input has the clips role; ``deferred``: see ``ClipCache``."""
    if cam.input_for("clips") is None:
        return None
    seconds = segment_time(cam.ffmpeg.output_args.get("clips", []), CLIPS_SEGMENT_TIME)
    return ClipCache(
        cache_dir, cam.name, cam.clips, ffmpeg_bin, ffprobe_bin=ffprobe_bin, segment_time=seconds, deferred=deferred
    )


class SwitchesSubscriber(RestartOnUpdate):
    def __init__(self, switches: Switches, runtimes: RuntimeParts) -> None:
        self._switches, self._runtimes = switches, runtimes

    def camera_added(self, camera: Camera) -> None:
        self._switches.add_camera(camera.config, self._runtimes.metrics(camera.name).detect_enabled)
        self._switches.publish_camera_states(camera.name)

    def camera_removed(self, camera: Camera) -> None:
        self._switches.remove_camera(camera.name)


class RetainedSubscriber(RestartOnUpdate):
    """A camera removed (in a cluster: moved to another node) is no longer re-sent as retained after a
    reconnect: it would overwrite the switch states and snapshots its new node publishes."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    def camera_added(self, camera: Camera) -> None:
        pass

    def camera_updated(self, old: Camera, new: Camera) -> None:
        pass  # still run here: its retained topics stay this node's

    def camera_removed(self, camera: Camera) -> None:
        self._publisher.forget_retained(camera.name)


class EventsSubscriber(RestartOnUpdate):
    """The event processor never forgets a camera: a removed camera's last events still cut their clips."""

    def __init__(self, events: EventProcessor, clip_source: Callable[[CameraConfig], ClipCache | None]) -> None:
        self._events, self._clip_source = events, clip_source

    def camera_added(self, camera: Camera) -> None:
        self._events.add_camera(camera.config, self._clip_source(camera.config))

    def camera_removed(self, camera: Camera) -> None:
        pass


class MqttEventsSubscriber(RestartOnUpdate):
    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    def camera_added(self, camera: Camera) -> None:
        self._publisher.add_camera(camera.config)

    def camera_removed(self, camera: Camera) -> None:
        self._publisher.remove_camera(camera.name)


class ObjectsSubscriber(RestartOnUpdate):
    """A camera's ``CameraObjects`` (fed by the tracking thread) and the ``LiveCamera`` that shows them."""

    def __init__(
        self,
        tracked: TrackedObjectProcessor,
        live: LiveView,
        runtimes: RuntimeParts,
        listeners: Sequence[LifecycleListener],
    ) -> None:
        self._tracked, self._live, self._runtimes = tracked, live, runtimes
        self._listeners = list(listeners)

    def camera_added(self, camera: Camera) -> None:
        read = self._runtimes.frame_reader(camera.name)
        objects = CameraObjects(camera.config, read, self._listeners)
        live = LiveCamera(camera.config, objects, read, self._runtimes.frames_read(camera.name))
        self._live.add_camera(camera.name, live)
        self._tracked.add_camera(objects)

    def camera_removed(self, camera: Camera) -> None:
        """After the process stopped: its objects end (their events cut their clips)."""
        objects = self._tracked.remove_camera(camera.name)
        self._live.remove_camera(camera.name)
        if objects is not None:
            objects.end_all()


class RecorderSubscriber(RestartOnUpdate):
    """24/7 recordings of cameras with the record role on; a removed camera's last segments still move."""

    def __init__(self, maintainer: RecordingMaintainer) -> None:
        self._maintainer = maintainer

    def camera_added(self, camera: Camera) -> None:
        cam = camera.config
        if cam.record.enabled and cam.input_for("record") is not None:
            seconds = segment_time(cam.ffmpeg.output_args.get("record", []), RECORD_SEGMENT_TIME)
            self._maintainer.add_camera(RecordCamera(cam.name, seconds))

    def camera_removed(self, camera: Camera) -> None:
        pass


class ManualSubscriber(RestartOnUpdate):
    """Every camera with a detect input is a source of the next manual recording."""

    def __init__(self, manual: ManualRecorder, runtimes: RuntimeParts) -> None:
        self._manual, self._runtimes = manual, runtimes
        self._indexes: dict[str, int] = {}  # a camera's index in the recordings' file names, kept for its name

    def camera_added(self, camera: Camera) -> None:
        cam = camera.config
        if cam.input_for("detect") is None:
            return
        name = cam.name
        index = self._indexes.setdefault(name, len(self._indexes))
        source = CameraSource(
            name, index, cam.fps, self._runtimes.frame_reader(name), self._runtimes.upstream_drops(name)
        )
        self._manual.add_source(source)

    def camera_removed(self, camera: Camera) -> None:
        self._manual.remove_source(camera.name)


class StatsSubscriber(RestartOnUpdate):
    def __init__(self, stats: StatsCollector, runtimes: RuntimeParts) -> None:
        self._stats, self._runtimes = stats, runtimes

    def camera_added(self, camera: Camera) -> None:
        name = camera.name
        self._stats.add_camera(
            name, CameraStatsSource(self._runtimes.metrics(name), self._runtimes.capture_metrics(name))
        )

    def camera_removed(self, camera: Camera) -> None:
        self._stats.remove_camera(camera.name)


class ChangeCallback:
    """Calls ``changed()`` after every change of the camera set (the WebSocket's state message)."""

    def __init__(self, changed: Callable[[], None]) -> None:
        self._changed = changed

    def camera_added(self, camera: Camera) -> None:
        self._changed()

    def camera_updated(self, old: Camera, new: Camera) -> None:
        self._changed()

    def camera_paused(self, camera: Camera) -> None:
        self._changed()

    def camera_resumed(self, camera: Camera) -> None:
        self._changed()

    def camera_removed(self, camera: Camera) -> None:
        self._changed()
