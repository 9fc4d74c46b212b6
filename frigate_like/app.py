"""Composition root: builds every part from the config, starts them in order, stops them in reverse."""

from __future__ import annotations

import functools
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frigate_like.config import CameraConfig, FrigateConfig
from frigate_like.errors import ConfigError, FrigateLikeError
from frigate_like.hotplug import CHILD_JOIN_TIMEOUT, CameraHotplug, join_process
from frigate_like.storage import prepare_folders
from frigate_like.supervise import Supervisor

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
MQTT_SETTLE_TIMEOUT = 3.0  # at start, wait this long for the retained switch states before cameras start
WATCHDOG_INTERVAL = 5.0
UPDATES_PER_CAMERA = 50  # bounded queue of FrameUpdates; full → the update is dropped and counted
EVENTS_SPILL = "events-backlog.jsonl"  # event writes the database refused, kept for when it accepts them
GROUP_CAMERA_SLOTS = 16  # cameras that camera groups may add at run time (spare detector channels)


@dataclass
class CameraRuntime:
    """The main process's handles on one camera."""

    name: str
    parts: Any  # CameraProcessParts
    ring: Any  # FrameRing (owned: unlinked at stop)
    process: Any = None
    restarts: list[float] = field(default_factory=list)


class NVR(CameraHotplug):
    """The daemon. ``start()`` then ``stop()``; ``wait()`` blocks until asked to stop.

    ``groups_path``: where camera groups are kept (default: ``<media_dir>/camera-groups.json``).
    """

    def __init__(self, cfg: FrigateConfig, *, http: bool = True, groups_path: Path | None = None) -> None:
        self.cfg = cfg
        self.groups_path = groups_path or Path(cfg.paths.media_dir) / "camera-groups.json"
        self.cameras_lock = threading.RLock()
        self.groups: Any = None
        self.ws_hub: Any = None  # websocket.LiveHub: frames, logs and state over the WebSocket
        self._http_enabled = http
        self.ctx = mp.get_context("spawn")
        self.stop_requested = threading.Event()
        self._threads_stop = threading.Event()
        self._children_stop: Any = None
        self.supervisor = Supervisor(self._threads_stop)  # every background thread; health in stats
        self.cameras: dict[str, CameraRuntime] = {}
        self._started = False
        self.http_server: Any = None
        self.db: Any = None
        self.hub: Any = None
        self.tracked: Any = None
        self.events: Any = None
        self.stats: Any = None
        self.app: Any = None
        self.live: Any = None  # LiveView: latest frames and shared MJPEG encoders for the API
        self.media: Any = None  # EventMedia: event pictures and clip files for the API
        self._log_listener: Any = None
        self._updates: Any = None
        self.recorder: Any = None  # record.maintainer.RecordingMaintainer
        self.recordings: Any = None  # record.nvr.Recordings
        self.manual: Any = None  # record.manual.ManualRecorder
        self.playback: Any = None  # record.playback.PlaybackLibrary
        self.comms: Any = None  # FanOut over MQTT (and later the WebSocket)
        self.switches: Any = None
        self._comms_listeners: list[Any] = []

    # -- start ----------------------------------------------------------------------------------
    def start(self) -> None:
        from frigate_like.config.resources import check_shm
        from frigate_like.db import queries
        from frigate_like.db.database import open_database
        from frigate_like.detect.process import DetectorHub
        from frigate_like.log import configure_child_logging, configure_main_logging, new_log_queue
        from frigate_like.track.camera_process import ring_slots
        from frigate_like.video.binaries import find_ffmpeg

        cfg = self.cfg
        os.environ.update({k: str(v) for k, v in cfg.environment_vars.items()})
        self._log_queue = new_log_queue(self.ctx)
        self._log_listener = configure_main_logging(cfg.logger.default, dict(cfg.logger.logs), self._log_queue)
        check_shm(cfg, ring_slots())
        media = Path(cfg.paths.media_dir)
        prepare_folders(  # one line naming the key and the path when one cannot be written
            [("paths.media_dir", media / "clips"), ("paths.media_dir", media / "recordings"),
             ("paths.cache_dir", Path(cfg.paths.cache_dir))]
        )  # fmt: skip
        self.ffmpeg_bin = find_ffmpeg()
        logger.info("frigate-like starting: %d camera(s), ffmpeg %s", len(cfg.cameras), self.ffmpeg_bin)

        self.db = open_database(cfg.database, MIGRATIONS_DIR)
        self._started = True  # from here on, stop() has something to undo
        self._children_stop = self.ctx.Event()
        self._updates = self.ctx.Queue(maxsize=UPDATES_PER_CAMERA * max(1, len(cfg.cameras)))
        self.hub = DetectorHub(
            cfg.model,
            cfg.detectors,
            list(cfg.cameras),
            mp_context=self.ctx,
            log_setup=functools.partial(
                configure_child_logging, cfg.logger.default, dict(cfg.logger.logs), self._log_queue
            ),
            extra_channels=GROUP_CAMERA_SLOTS,
        )
        self.hub.start()
        self._build_cameras()
        self._start_comms()
        self._build_event_pipeline(queries)
        self._build_recordings()
        self._build_live_view(queries)
        for runtime in self.cameras.values():
            self._start_camera(runtime)
        self._spawn_thread("tracked-objects", self.tracked.run)
        self._spawn_thread("events", self.events.run)
        self._spawn_thread("event-retention", self._event_retention().run)
        self._spawn_thread("watchdog", self._watchdog)
        self._start_groups()
        if self._http_enabled:
            self._start_websocket_hub()
            self._start_http()
        logger.info("frigate-like started")

    def _build_cameras(self) -> None:
        for name, cam in self.cfg.cameras.items():
            self.cameras[name] = self._new_runtime(name, cam, self.hub.channel(name))

    def _new_runtime(self, name: str, cam: CameraConfig, channel: Any) -> CameraRuntime:
        """A camera's ring and process parts; its own stop and pause events (cameras stop one by one)."""
        from frigate_like.metrics import CameraMetrics
        from frigate_like.track.camera_process import CameraProcessParts, RingSpec, ring_slots
        from frigate_like.video.capture import CaptureMetrics
        from frigate_like.video.frames import FrameRing, shm_name_for

        cfg = self.cfg
        spec = RingSpec(shm_name_for(name), cam.width, cam.height, ring_slots())
        ring = FrameRing.create(spec.name, spec.width, spec.height, spec.slots)
        parts = CameraProcessParts(
            cam=cam,
            model=cfg.model,
            cache_dir=Path(cfg.paths.cache_dir),
            ffmpeg_bin=self.ffmpeg_bin,
            ring=spec,
            detector_channel=channel,
            updates=self._updates,
            metrics=CameraMetrics(self.ctx, cam.detect.enabled),
            capture_metrics=CaptureMetrics(self.ctx),
            stop=self.ctx.Event(),
            log_queue=self._log_queue,
            log_default=cfg.logger.default,
            log_levels=dict(cfg.logger.logs),
            paused=self.ctx.Event(),
        )
        return CameraRuntime(name=name, parts=parts, ring=ring)

    def _build_event_pipeline(self, queries: Any) -> None:
        from frigate_like.events.processor import EventProcessor
        from frigate_like.events.tracked import CameraObjects, TrackedObjectProcessor
        from frigate_like.record.clips import remove_partial_clips
        from frigate_like.stats import CameraStatsSource, StatsCollector

        cfg = self.cfg
        media = Path(cfg.paths.media_dir)
        removed = remove_partial_clips(media / "clips")
        if removed:
            logger.warning("removed %d partial clip(s) left by an earlier crash", len(removed))
        clip_sources = {name: self._clip_source(name, cam) for name, cam in cfg.cameras.items()}
        clip_sources = {name: source for name, source in clip_sources.items() if source is not None}
        self.events = EventProcessor(
            dict(cfg.cameras), media / "clips", queries, clip_sources, self._threads_stop, switches=self.switches,
            spill_path=media / EVENTS_SPILL, health=self.supervisor.health("events"),
        )  # fmt: skip
        self.supervisor.health("events", self.events.backlog)
        self.events.recover(queries.open_events(), self._recorded_clips)  # events a crash left open
        listeners = [self.events, *self._comms_listeners]
        per_camera = {
            name: CameraObjects(cam, self._frame_reader(name), listeners) for name, cam in cfg.cameras.items()
        }
        self.tracked = TrackedObjectProcessor(per_camera, self._updates, self._threads_stop)
        self.stats = StatsCollector(
            {name: CameraStatsSource(rt.parts.metrics, rt.parts.capture_metrics) for name, rt in self.cameras.items()},
            self.hub.stats,
            [media / "clips", media / "recordings", Path(cfg.paths.cache_dir), Path("/dev/shm")],
        )
        self.stats.add_service_section("health", self.supervisor.stats)

    def _recorded_clips(self, camera: str) -> Any:
        from frigate_like.db import recordings
        from frigate_like.events.recovery import RecordedClips

        return RecordedClips(camera, recordings, self.ffmpeg_bin)

    def _event_retention(self) -> Any:
        from frigate_like.db import queries
        from frigate_like.events.cleanup import EventCleanup

        clips_dir = Path(self.cfg.paths.media_dir) / "clips"
        return EventCleanup(dict(self.cfg.cameras), clips_dir, queries, self._threads_stop)

    def _build_recordings(self) -> None:
        """24/7 recordings (maintainer thread, retention, NVR reads), manual recordings and playback."""
        from frigate_like.record.wiring import build_recording_parts

        parts = build_recording_parts(
            self.cfg, self.ffmpeg_bin, self._threads_stop, self._frame_reader, self._upstream_drops
        )
        self.recorder, self.recordings = parts.maintainer, parts.recordings
        self.manual, self.playback = parts.manual, parts.playback
        self.stats.add_camera_section(self.recorder.stats)
        self.tracked.frame_listeners.append(self.manual.on_frame)
        self._spawn_thread("recordings", self.recorder.run)

    def _upstream_drops(self, camera: str) -> Any:
        """Frames of ``camera`` lost before the main process saw them (capture skips, dropped updates)."""

        def count() -> int:
            parts = self.cameras[camera].parts
            return int(parts.capture_metrics.skipped_frames.value) + int(parts.metrics.updates_dropped.value)

        return count

    def _add_recording_services(self, services: Any) -> None:
        services.recordings, services.manual, services.playback = self.recordings, self.manual, self.playback

    def _build_live_view(self, queries: Any) -> None:
        """The API's view of the cameras; a lifecycle listener, so added before the tracking thread runs."""
        from frigate_like.events.live import build_live_view
        from frigate_like.events.media import EventMedia

        cams = dict(self.cfg.cameras)
        self.live = build_live_view(cams, self.tracked.cameras, {name: self._frame_reader(name) for name in cams})
        for camera_objects in self.tracked.cameras.values():
            camera_objects.add_listener(self.live)
        self.media = EventMedia(self.live, queries, Path(self.cfg.paths.media_dir) / "clips", cams)

    def _start_comms(self) -> None:
        """Switches, the MQTT channel (connects in the background) and the listener that publishes events."""
        from frigate_like.comms.events import EventPublisher
        from frigate_like.comms.mqtt import MqttClient
        from frigate_like.comms.publisher import FanOut
        from frigate_like.comms.stats import StatsPublisher
        from frigate_like.comms.switches import Switches

        cfg = self.cfg
        self.comms = FanOut()
        mqtt = MqttClient(cfg.mqtt) if cfg.mqtt.enabled else None
        if mqtt is not None:
            self.comms.add(mqtt)
        else:
            logger.info("MQTT is disabled in the config")
        detect_flags = {name: rt.parts.metrics.detect_enabled for name, rt in self.cameras.items()}
        self.switches = Switches(dict(cfg.cameras), detect_flags, self.comms)
        self.comms.subscribe(self.switches.handle)
        if self.comms.empty:
            return
        publisher = EventPublisher(dict(cfg.cameras), self.comms, self.switches)
        self._comms_listeners.append(publisher)
        self.switches.publish_states()  # sent once the retained ones have been read back
        publisher.publish_zero_counts()
        self.comms.start()
        if mqtt is not None:
            mqtt.wait_settled(MQTT_SETTLE_TIMEOUT)
        stats = StatsPublisher(self.comms, lambda: self.stats.stats(), cfg.mqtt.stats_interval, self._threads_stop)
        self._spawn_thread("mqtt-stats", stats.run)

    def _clip_source(self, name: str, cam: CameraConfig) -> Any:
        """The camera's clip cache, None when no input has the clips role."""
        from frigate_like.record.clips import ClipCache
        from frigate_like.record.wiring import segment_time as role_segment_time
        from frigate_like.video.binaries import find_ffprobe

        if not any("clips" in inp.roles for inp in cam.ffmpeg.inputs):
            return None
        segment_time = role_segment_time(cam.ffmpeg.output_args.get("clips", []), 10.0)
        return ClipCache(
            Path(self.cfg.paths.cache_dir), name, cam.clips, self.ffmpeg_bin, ffprobe_bin=find_ffprobe(),
            segment_time=segment_time,
        )  # fmt: skip

    def _frame_reader(self, camera: str) -> Any:
        def read(slot: int, frame_time: float) -> Any:
            with self.cameras_lock:  # a removed camera's ring is closed under this lock
                runtime = self.cameras.get(camera)
                return None if runtime is None else runtime.ring.read_copy(slot, frame_time)

        return read

    def _start_camera(self, runtime: CameraRuntime) -> None:
        from frigate_like.track.camera_process import camera_process_main

        process = self.ctx.Process(
            target=camera_process_main, args=(runtime.parts,), name=f"camera:{runtime.name}", daemon=True
        )
        process.start()
        runtime.process = process

    def _start_groups(self) -> None:
        from frigate_like.devices import DeviceDiscovery
        from frigate_like.groups import GroupManager, GroupStore
        from frigate_like.video.binaries import find_ffprobe

        store = GroupStore(self.groups_path)
        self.groups = GroupManager(self, self.cfg, store, DeviceDiscovery(), ffprobe_bin=find_ffprobe())
        self.groups.restore()

    def _start_websocket_hub(self) -> None:
        """The WebSocket's hub: frames from the rings, every log record, state on each group change."""
        from frigate_like.log import add_listener_handler
        from frigate_like.websocket import LiveHub, WebSocketLogHandler

        self.ws_hub = LiveHub(self, self._live_state)
        self.ws_hub.start()
        self.groups.on_change = self.ws_hub.publish_state
        self.ws_hub.publish_state()
        add_listener_handler(self._log_listener, WebSocketLogHandler(self.ws_hub))

    def _live_state(self) -> dict[str, Any]:
        cameras = {
            name: {"width": cam.width, "height": cam.height, "fps": cam.fps} for name, cam in self.cfg.cameras.items()
        }
        return {**self.groups.state(), "cameras": cameras, "recording": {"is_recording": False}}

    def _start_http(self) -> None:
        from frigate_like.api import ApiServices, create_app
        from frigate_like.api.server import HttpServer
        from frigate_like.config import to_public_dict
        from frigate_like.db import queries
        from frigate_like.devices import DeviceDiscovery
        from frigate_like.websocket import PATH

        services = ApiServices(
            config=self.cfg,
            stats=self.stats.stats,
            public_config=lambda: to_public_dict(self.cfg),
            events=queries,
            live=self.live,
            media=self.media,
            shutdown=self.stop_requested.set,
            groups=self.groups,
            devices=DeviceDiscovery(),
        )
        self._add_recording_services(services)
        self.app = create_app(services)
        http = self.cfg.http
        self.http_server = HttpServer(
            self.app, http.host, http.port, websockets={PATH: self.ws_hub.endpoint}, on_loop=self.ws_hub.attach
        )
        self.http_server.start()
        logger.info("HTTP API on http://%s:%d", http.host, self.http_server.port)

    def _spawn_thread(self, name: str, target: Any) -> None:
        self.supervisor.spawn(name, target)

    def _watchdog(self) -> None:
        while not self._threads_stop.wait(WATCHDOG_INTERVAL):
            try:
                for name in self.hub.check():
                    self.supervisor.health(f"detector:{name}").restarted(self.hub.restart_reasons.get(name))
            except Exception:
                logger.exception("detector check failed")
            with self.cameras_lock:  # a camera being removed is out of the map before it is stopped
                for runtime in self.cameras.values():
                    process = runtime.process
                    if process is not None and not process.is_alive() and not self._children_stop.is_set():
                        logger.error("camera process %s exited (code %s); restarting", runtime.name, process.exitcode)
                        runtime.restarts.append(time.time())
                        self._start_camera(runtime)

    # -- stop -----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Reverse order: HTTP, cameras (ffmpeg closes its segments), events, detectors, shm, DB."""
        if not self._started:
            self._close_logging()
            return
        t0 = time.monotonic()
        logger.info("frigate-like stopping")
        if self.http_server is not None:
            self.http_server.stop()
        if self.manual is not None:
            self.manual.shutdown()  # finished while frames still flow; its files are complete
        if self.live is not None:
            self.live.close()  # ends MJPEG streams; no frame is read from the rings after this
        if self.ws_hub is not None:
            self.ws_hub.stop()
        if self._children_stop is not None:
            self._children_stop.set()
        for runtime in self.cameras.values():
            runtime.parts.stop.set()
        for runtime in self.cameras.values():
            join_process(runtime.process, CHILD_JOIN_TIMEOUT)
        self._threads_stop.set()
        self.supervisor.join(timeout=10)
        if self.tracked is not None:
            self.tracked.drain()
            self.tracked.end_all()
        if self.events is not None:
            self.events.finish(timeout=3.0)
        if self.comms is not None:
            self.comms.stop()  # after the last events: then available goes offline
        if self.hub is not None:
            self.hub.stop()
        for runtime in self.cameras.values():
            runtime.ring.close()
            runtime.ring.unlink()
        if self._updates is not None:
            self._updates.close()
            self._updates.join_thread()
        if self.db is not None:
            self.db.close()
        logger.info("frigate-like stopped in %.1f s", time.monotonic() - t0)
        self._started = False
        self._close_logging()

    def _close_logging(self) -> None:
        if self._log_listener is not None:
            self._log_listener.stop()
            self._log_listener = None

    def wait(self) -> None:
        while not self.stop_requested.wait(1.0):
            pass


def run(cfg: FrigateConfig, config_path: Path | None = None) -> int:
    """Runs the daemon until SIGTERM/SIGINT (or ``GET /shutdown``); returns the process exit code.

    Camera groups are kept next to ``config_path`` (``config.groups.json`` beside ``config.yml``).
    """
    from frigate_like.groups import groups_path_for

    nvr = NVR(cfg, groups_path=groups_path_for(config_path) if config_path is not None else None)

    def request_stop(signum: int, _frame: Any) -> None:
        logger.info("received %s, shutting down", signal.Signals(signum).name)
        nvr.stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        nvr.start()
    except ConfigError:
        nvr.stop()
        raise
    except FrigateLikeError as exc:  # e.g. no Coral attached: a clear line, not a traceback
        logger.error("cannot start: %s", exc)
        nvr.stop()
        return 1
    except Exception:
        logger.exception("start-up failed")
        nvr.stop()
        return 1
    try:
        nvr.wait()
    finally:
        nvr.stop()
    return 0
