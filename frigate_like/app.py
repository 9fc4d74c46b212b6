"""Composition root: builds every part from the config, starts them in order, stops them in reverse.

Cameras are not wired here one by one: every part that keeps per-camera state subscribes to
the :class:`CameraRegistry` (``cameras/subscribers.py``), then the YAML cameras are added to
it as the group ``"config"``, and camera groups add theirs at run time the same way.
"""

from __future__ import annotations

import functools
import logging
import logging.handlers
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from pathlib import Path
from types import FrameType
from typing import Any

import peewee as pw
from flask import Flask

from frigate_like.api import ApiServices, create_app
from frigate_like.api.config_view import running_config
from frigate_like.api.connections import raise_open_files_limit
from frigate_like.api.server import HttpServer
from frigate_like.cameras import CONFIG_SOURCE, CameraRegistry
from frigate_like.cameras.runtime import CameraRuntimes, ProcessSettings
from frigate_like.cameras.subscribers import (
    ChangeCallback,
    EventsSubscriber,
    ManualSubscriber,
    MqttEventsSubscriber,
    ObjectsSubscriber,
    RecorderSubscriber,
    RetainedSubscriber,
    StatsSubscriber,
    SwitchesSubscriber,
    clip_cache,
)
from frigate_like.cluster.directory import ClusterDirectory
from frigate_like.cluster.wiring import ClusterParts, advertised_url, build_cluster
from frigate_like.comms.events import EventPublisher
from frigate_like.comms.mqtt import MqttClient
from frigate_like.comms.publisher import FanOut
from frigate_like.comms.stats import StatsPublisher
from frigate_like.comms.switches import Switches
from frigate_like.config import FrigateConfig
from frigate_like.config.resources import check_shm
from frigate_like.db import queries, recordings
from frigate_like.db.database import open_database
from frigate_like.db.reconnect import DatabaseWatch
from frigate_like.detect.process import DetectorHub
from frigate_like.devices import DeviceDiscovery
from frigate_like.errors import ConfigError, FrigateLikeError
from frigate_like.events.cleanup import EventCleanup
from frigate_like.events.live import LiveView
from frigate_like.events.media import EventMedia
from frigate_like.events.processor import EventProcessor
from frigate_like.events.recovery import RecordedClips
from frigate_like.events.tracked import LifecycleListener, TrackedObjectProcessor
from frigate_like.groups import GroupManager
from frigate_like.log import add_listener_handler, configure_child_logging, configure_main_logging, new_log_queue
from frigate_like.media.locate import MediaLocator
from frigate_like.messages import FrameUpdate
from frigate_like.migrations import MIGRATIONS_DIR
from frigate_like.prometheus import MetricsExport, MetricSources
from frigate_like.record.clips import ClipWriter, remove_partial_clips
from frigate_like.record.deferred import DeferredClips
from frigate_like.record.manual import ManualRecorder
from frigate_like.record.wiring import RecordingParts, build_recording_parts
from frigate_like.restream.live import LiveStreams
from frigate_like.restream.server import RestreamServer
from frigate_like.state import camera_groups_path
from frigate_like.stats import ClusterStats, StatsCollector, node_stats_row
from frigate_like.storage import prepare_folders
from frigate_like.supervise import ProcessWatchdog, Supervisor
from frigate_like.track.camera_process import ring_slots
from frigate_like.video.binaries import find_ffmpeg, find_ffprobe
from frigate_like.video.rtmp import RtmpStatus
from frigate_like.websocket import PATH, LiveHub, WebSocketLogHandler

logger = logging.getLogger(__name__)

MQTT_SETTLE_TIMEOUT = 3.0  # at start, wait this long for the retained switch states before cameras start
UPDATES_PER_CAMERA = 50  # bounded queue of FrameUpdates; full → the update is dropped and counted
EVENTS_SPILL = "events-backlog.jsonl"  # event writes the database refused, kept for when it accepts them
GROUP_CAMERA_SLOTS = 16  # cameras that camera groups may add at run time (spare detector channels)


class NVR:
    """The daemon. ``start()`` then ``stop()``; ``wait()`` blocks until asked to stop.

    ``groups_path``: where camera groups are kept (default: ``<state_dir>/camera-groups.json``).
    Parts are None until ``start`` builds them (``stop`` undoes what was built).
    """

    def __init__(self, cfg: FrigateConfig, *, http: bool = True, groups_path: Path | None = None) -> None:
        self.cfg = cfg
        self.groups_path = groups_path or camera_groups_path(cfg.paths)
        self.registry = CameraRegistry()  # the running cameras: the source of truth, not cfg.cameras
        self._http_enabled = http
        self.ctx = mp.get_context("spawn")
        self.stop_requested = threading.Event()
        self._threads_stop = threading.Event()
        self.supervisor = Supervisor(self._threads_stop)  # every background thread; health in stats
        self._started = False
        self._log_listener: logging.handlers.QueueListener | None = None
        self._updates: Queue[FrameUpdate] | None = None
        self.db: pw.Database | None = None
        self.hub: DetectorHub | None = None
        self.runtimes: CameraRuntimes | None = None
        self.comms: FanOut | None = None  # MQTT (when enabled)
        self.switches: Switches | None = None
        self.tracked: TrackedObjectProcessor | None = None
        self.events: EventProcessor | None = None
        self.event_publisher: EventPublisher | None = None  # MQTT events (when enabled)
        self.stats: StatsCollector | None = None
        self.directory: ClusterDirectory | None = None  # the cluster's rows (None: a single node)
        self.live: LiveView | None = None  # latest frames and shared MJPEG encoders for the API
        self.media: EventMedia | None = None  # event pictures and clip files for the API
        self.deferred: DeferredClips | None = None  # clips cut on their first request
        self.recording: RecordingParts | None = None  # 24/7 and manual recordings, playback
        self.groups: GroupManager | None = None
        self.ws_hub: LiveHub | None = None  # frames, logs and state over the WebSocket
        self.app: Flask | None = None
        self.http_server: HttpServer | None = None
        self.cluster: ClusterParts | None = None  # placement (which cameras run here) and, clustered, the node
        self.restream: RestreamServer | None = None  # the RTSP restream (None: off, or cameras read directly)
        self.live_video: LiveStreams | None = None  # /api/<camera>/live.mp4 feeds

    # -- start ----------------------------------------------------------------------------------
    def start(self) -> None:
        cfg = self.cfg
        os.environ.update({k: str(v) for k, v in cfg.environment_vars.items()})
        log_queue = new_log_queue(self.ctx)
        self._log_listener = configure_main_logging(cfg.logger.default, dict(cfg.logger.logs), log_queue)
        check_shm(cfg, ring_slots())
        media = Path(cfg.paths.media_dir)
        prepare_folders(  # one line naming the key and the path when one cannot be written
            [("paths.media_dir", media / "clips"), ("paths.media_dir", media / "recordings"),
             ("paths.cache_dir", Path(cfg.paths.cache_dir))]
        )  # fmt: skip
        ffmpeg_bin = find_ffmpeg()
        open_files = raise_open_files_limit()  # before any child: they inherit it
        logger.info(
            "frigate-like starting: %d camera(s), ffmpeg %s, open files limit %d",
            len(cfg.cameras), ffmpeg_bin, open_files,
        )  # fmt: skip

        self.db = open_database(cfg.database, MIGRATIONS_DIR)
        self._started = True  # from here on, stop() has something to undo
        if cfg.cluster is not None:
            self.directory = ClusterDirectory(self.db, cfg.cluster.lease_seconds)
        # service.health "database": fed by every statement, and by a probe while nothing else asks
        db_watch = DatabaseWatch(self.db, self.supervisor.health("database"), self._threads_stop)
        self._spawn_thread("database", db_watch.run)
        children_stop = self.ctx.Event()
        self._updates = self.ctx.Queue(maxsize=UPDATES_PER_CAMERA * (len(cfg.cameras) + GROUP_CAMERA_SLOTS))
        self.hub = DetectorHub(
            cfg.model,
            cfg.detectors,
            [],
            mp_context=self.ctx,
            log_setup=functools.partial(configure_child_logging, cfg.logger.default, dict(cfg.logger.logs), log_queue),
            extra_channels=len(cfg.cameras) + GROUP_CAMERA_SLOTS,  # every camera takes a channel as it is added
            model_cache_dir=Path(cfg.paths.cache_dir) / "models",
        )
        self.hub.start()
        self.restream = self._start_restream()
        settings = ProcessSettings(
            cfg, ffmpeg_bin, self.ctx, self._updates, log_queue, children_stop,
            routes=self.restream.routes if self.restream is not None else ProcessSettings.routes,
        )  # fmt: skip
        self.runtimes = CameraRuntimes(settings, self.hub)
        mqtt = self._subscribe_all(ffmpeg_bin)
        self.cluster = build_cluster(
            cfg, self.db, self.registry, self.supervisor, self._threads_stop,
            stats=lambda: node_stats_row(self.stats.stats()) if self.stats is not None else {},
            closed_event=self.event_publisher.event_recovered if self.event_publisher is not None else None,
            on_lost=self._node_id_lost,
            directory=self.directory,
        )  # fmt: skip
        # desired cameras → placement → registry: a single node runs them all now; a cluster node takes its
        # share by leases once every part below exists (its placement thread starts at the end)
        for cam in cfg.cameras.values():
            self.cluster.placement.want(cam, CONFIG_SOURCE)
        assert self.tracked is not None and self.events is not None
        # Events a crash left open, closed from what is on disk: the YAML cameras' clip caches exist by
        # now and their processes do not run yet (group cameras' events are cut from their recordings).
        # Their "end" is queued on MQTT before it connects: ahead of any event of this run.
        published = self.event_publisher.event_recovered if self.event_publisher is not None else None
        self.events.recover(
            queries.open_events(), lambda camera: RecordedClips(camera, recordings, ffmpeg_bin), published
        )
        if mqtt is not None:
            self._start_mqtt(mqtt)
        # The last subscriber: it starts the processes of the cameras above, then of every camera added.
        self.registry.subscribe(self.runtimes.processes)
        self._spawn_thread("tracked-objects", self.tracked.run)
        self._spawn_thread("events", self.events.run)
        # retention of every desired camera: this node keeps the events of cameras that moved to another node
        cleanup = EventCleanup(
            self.cluster.placement.configs, media / "clips", queries, self._threads_stop, deferred=self.deferred
        )
        self._spawn_thread("event-retention", cleanup.run)
        self._spawn_thread("watchdog", self._watchdog)
        # a single node: its registry and a file; a cluster: the placement and the shared table
        self.groups = GroupManager(
            self.cluster.group_cameras(self.registry), cfg, self.cluster.group_store(self.groups_path),
            DeviceDiscovery(),
            free_slots=lambda: self.hub.spare_channels if self.hub is not None else 0, ffprobe_bin=find_ffprobe(),
        )  # fmt: skip
        self.groups.restore()
        self.cluster.start(self.supervisor, self._threads_stop, groups_sync=self.groups.sync)
        if self._http_enabled:
            assert self.recording is not None
            self._start_websocket_hub(self._log_listener, self.groups, self.recording.manual)
            self._start_http(self.groups, ffmpeg_bin)
        logger.info("frigate-like started")

    def _subscribe_all(self, ffmpeg_bin: str) -> MqttClient | None:
        """Every part that keeps per-camera state, subscribed in the order cameras reach them.

        Returns the MQTT client to start once the YAML cameras are known (None: MQTT is off).
        """
        cfg, runtimes, registry = self.cfg, self.runtimes, self.registry
        assert runtimes is not None and self._updates is not None
        media = Path(cfg.paths.media_dir)
        removed = remove_partial_clips(media / "clips")
        ffprobe_bin = find_ffprobe()
        # Clips are cut on their first request: an event ending keeps only its segments (record/deferred.py).
        self.deferred = DeferredClips(media / "clips", ClipWriter(ffmpeg_bin, ffprobe_bin=ffprobe_bin))
        removed += self.deferred.sweep()
        if removed:
            logger.warning("removed %d partial clip(s) left by an earlier crash", len(removed))
        registry.subscribe(runtimes)
        if self.restream is not None:  # mounts before any reader: the processes start last
            registry.subscribe(self.restream)
        self.live_video = LiveStreams(
            ffmpeg_bin,
            lambda name, body, until: self.supervisor.spawn(name, body, until=until),
            self.restream,
            runtimes.camera_answers,
        )
        registry.subscribe(self.live_video)

        self.comms = FanOut()
        mqtt = self._mqtt_client() if cfg.mqtt.enabled else None
        if mqtt is not None:
            self.comms.add(mqtt)
        else:
            logger.info("MQTT is disabled in the config")
        self.switches = Switches(self.comms, cluster=cfg.cluster is not None)
        self.comms.subscribe(self.switches.handle)
        registry.subscribe(SwitchesSubscriber(self.switches, runtimes))
        registry.subscribe(RetainedSubscriber(self.comms))

        self.events = EventProcessor(
            media / "clips", queries, self._threads_stop, switches=self.switches,
            spill_path=media / EVENTS_SPILL, health=self.supervisor.health("events"),
        )  # fmt: skip
        self.supervisor.health("events", self.events.backlog)
        cache_dir = Path(cfg.paths.cache_dir)
        deferred = self.deferred
        registry.subscribe(
            EventsSubscriber(self.events, lambda cam: clip_cache(cam, cache_dir, ffmpeg_bin, ffprobe_bin, deferred))
        )
        self.tracked = TrackedObjectProcessor(self._updates, self._threads_stop)
        listeners: list[LifecycleListener] = [self.events]
        if mqtt is not None:
            publisher = EventPublisher(self.comms, self.switches, self.tracked.live_objects)
            self.event_publisher = publisher
            registry.subscribe(MqttEventsSubscriber(publisher))
            listeners.append(publisher)

        self.live = LiveView()
        listeners.append(self.live)  # remembers ended objects for best.jpg and event pictures
        registry.subscribe(ObjectsSubscriber(self.tracked, self.live, runtimes, listeners))
        self.media = EventMedia(self.live, queries, media / "clips", registry.configs, deferred)

        self.recording = build_recording_parts(cfg, registry.configs, ffmpeg_bin, self._threads_stop)
        registry.subscribe(RecorderSubscriber(self.recording.maintainer))
        registry.subscribe(ManualSubscriber(self.recording.manual, runtimes))
        self.tracked.frame_listeners.append(self.recording.manual.on_frame)
        self.tracked.frame_listeners.append(self.live.on_frame)  # wakes the WebSocket's encoder thread
        self._spawn_thread("recordings", self.recording.maintainer.run)

        assert self.hub is not None
        self.stats = StatsCollector(
            self.hub.stats, [media / "clips", media / "recordings", cache_dir, Path("/dev/shm")]
        )
        self.stats.add_camera_section(self.recording.maintainer.stats)
        self.stats.add_camera_section(self._pause_states)
        self.stats.add_camera_section(self.live_video.stats)  # live_viewers, live_bytes_out
        if self.restream is not None:
            self.stats.add_camera_section(self.restream.stats)  # restream_clients, restream_bytes_out
        self.stats.add_service_section("health", self.supervisor.stats)
        self.supervisor.add_entries(runtimes.input_health)  # ffmpeg:<camera>:<roles>, kept by the camera processes
        registry.subscribe(StatsSubscriber(self.stats, runtimes))
        return mqtt

    def _mqtt_client(self) -> MqttClient:
        """The broker connection; in a cluster, as one node of one Frigate (comms/mqtt.py)."""
        health = self.supervisor.health("mqtt")
        cluster, directory = self.cfg.cluster, self.directory
        if cluster is None or directory is None:
            return MqttClient(self.cfg.mqtt, health=health)

        def others_alive() -> bool:
            return any(node.alive and node.node_id != cluster.node_id for node in directory.nodes())

        return MqttClient(self.cfg.mqtt, health=health, node_id=cluster.node_id, others_alive=others_alive)

    def _start_restream(self) -> RestreamServer | None:
        """The RTSP restream (``restream.enabled``); None when off or it cannot run (cameras read directly)."""
        cfg = self.cfg
        if not cfg.restream.enabled:
            return None
        server = RestreamServer(cfg.http.host, cfg.restream.rtsp_port, cfg.http.api_token,
                                self.supervisor.health("restream"))  # fmt: skip
        if not server.start():
            return None
        self.supervisor.spawn("restream", server.run, until=server.stopped)
        return server

    def _pause_states(self) -> dict[str, dict[str, bool]]:
        """Paused cameras have no frames by design; the container health check skips them."""
        return {name: {"paused": camera.paused} for name, camera in self.registry.snapshot().items()}

    def _start_mqtt(self, mqtt: MqttClient) -> None:
        """Connects (switch states and zero counts are queued by then), waits for the retained switches."""
        assert self.comms is not None and self.stats is not None
        self.comms.start()
        mqtt.wait_settled(MQTT_SETTLE_TIMEOUT)
        stats = StatsPublisher(self.comms, self.cluster_stats, self.cfg.mqtt.stats_interval, self._threads_stop)
        self._spawn_thread("mqtt-stats", stats.run)

    def cluster_stats(self) -> dict[str, Any]:
        """``/api/stats`` and MQTT ``stats``: this node's document, merged with the other nodes' in a cluster."""
        assert self.stats is not None
        cluster = self.cfg.cluster
        if cluster is None or self.directory is None:
            return self.stats.stats()
        return ClusterStats(self.stats.stats, cluster.node_id, self.directory).stats()

    def _locator(self) -> MediaLocator:
        """Where the API finds files and live pictures: here, or (cluster) on the node holding them."""
        cluster = self.cfg.cluster
        if cluster is None or self.directory is None:
            return MediaLocator()
        token = self.cfg.http.api_token
        return MediaLocator(cluster.node_id, self.directory, shared_media=cluster.shared_media, token=token)

    def _metrics(self) -> MetricsExport:
        """``/metrics``: this node's own figures (each node is scraped for itself), labelled with its id."""
        assert self.stats is not None and self.hub is not None
        hub, cluster, directory = self.hub, self.cfg.cluster, self.directory
        node_id = cluster.node_id if cluster is not None else socket.gethostname()

        def leases_held() -> int:
            assert directory is not None
            info = directory.node(node_id)
            return len(info.cameras) if info is not None else 0

        return MetricsExport(
            MetricSources(
                node_id=node_id,
                stats=self.stats.stats,
                detector_calls=lambda: {name: int(m.detections.value) for name, m in hub.metrics.items()},
                event_counts=lambda: queries.event_counts(cluster.node_id if cluster is not None else None),
                leases_held=leases_held if directory is not None else None,
            )
        )

    def _start_websocket_hub(
        self, log_listener: logging.handlers.QueueListener, groups: GroupManager, manual: ManualRecorder
    ) -> None:
        """The WebSocket's hub: frames from the live view, every log record, state on each camera change
        and each manual recording started or stopped."""
        assert self.live is not None
        hub = LiveHub(self.live, functools.partial(self._live_state, groups, manual))
        self.ws_hub = hub
        hub.start(self.supervisor)
        groups.on_change = hub.publish_state
        manual.on_change = hub.publish_state
        self.registry.subscribe(ChangeCallback(hub.publish_state))
        hub.publish_state()
        add_listener_handler(log_listener, WebSocketLogHandler(hub))

    def _live_state(self, groups: GroupManager, manual: ManualRecorder) -> dict[str, Any]:
        cameras = {
            name: {"width": cam.width, "height": cam.height, "fps": cam.fps}
            for name, cam in self.registry.configs.items()
        }
        return {**groups.state(), "cameras": cameras, "recording": manual.state()}

    def public_config(self, rtmp: RtmpStatus, ffmpeg_bin: str) -> dict[str, Any]:
        """``/api/config`` in Frigate 0.8.4's shape: the loaded config with ``cameras`` as they run now
        (YAML and group ones), their switches as they are now, ``rtmp.enabled`` where the stream is live."""
        assert self.switches is not None
        running = {name: camera.config for name, camera in self.registry.snapshot().items()}
        if self.cfg.cluster is not None:  # every node loads the same cameras and runs some: each lists them all
            running = {**self.cfg.cameras, **running}
        return running_config(
            self.cfg.model_copy(update={"cameras": running}),
            switch_state=self.switches.get,
            rtmp_published=rtmp.is_published,
            ffmpeg_bin=ffmpeg_bin,
        )

    def _start_http(self, groups: GroupManager, ffmpeg_bin: str) -> None:
        assert self.stats is not None and self.recording is not None and self.ws_hub is not None
        services = ApiServices(
            config=self.cfg,
            stats=self.cluster_stats,
            public_config=functools.partial(self.public_config, RtmpStatus(self.cfg.rtmp.stat_url), ffmpeg_bin),
            events=queries,
            live=self.live,
            media=self.media,
            recordings=self.recording.recordings,
            manual=self.recording.manual,
            playback=self.recording.playback,
            shutdown=self.stop_requested.set,
            groups=groups,
            devices=DeviceDiscovery(),
            switches=self.switches,
            cluster=self._cluster_nodes,
            locator=self._locator(),
            metrics=self._metrics().render,
            live_video=self.live_video,
        )
        self.app = create_app(services)
        http = self.cfg.http
        # the access policy of self.app guards the WebSocket too (HttpServer's AccessGuard)
        self.http_server = HttpServer(
            self.app, http.host, http.port, websockets={PATH: self.ws_hub.endpoint}, on_loop=self.ws_hub.attach,
            max_body=http.max_body_bytes, health=self.supervisor.health("http"),
        )  # fmt: skip
        if self.stats is not None:
            self.stats.add_service_section("http", self.http_server.stats)
        self.http_server.start()
        logger.info("HTTP API on http://%s:%d", http.host, self.http_server.port)

    def _cluster_nodes(self) -> list[dict[str, Any]]:
        assert self.cluster is not None and self.http_server is not None
        url = advertised_url(self.cfg) if self.cfg.cluster else f"http://{self.cfg.http.host}:{self.http_server.port}"
        return self.cluster.nodes(url)

    def _node_id_lost(self) -> None:
        """Another process holds this node's id now: stop its cameras at once, then the daemon."""
        if self.cluster is not None:
            self.cluster.placement.fence()
        self.stop_requested.set()

    def _spawn_thread(self, name: str, target: Callable[[], object]) -> None:
        self.supervisor.spawn(name, target)

    def _watchdog(self) -> None:
        """Replaces stopped or dead detectors and camera processes (bounds in ``supervise.ProcessWatchdog``);
        each has a ``detector:<name>`` / ``camera:<name>`` entry in ``service.health``."""
        assert self.hub is not None and self.runtimes is not None
        watchdog = ProcessWatchdog(self._threads_stop, self.supervisor)
        watchdog.watch("detector", self.hub)
        watchdog.watch("camera", self.runtimes)
        watchdog.run()

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
        if self.recording is not None:
            self.recording.manual.shutdown()  # finished while frames still flow; its files are complete
        if self.live is not None:
            self.live.close()  # ends MJPEG streams; no frame is read from the rings after this
        if self.live_video is not None:
            self.live_video.close()  # ends live.mp4 responses and their ffmpegs
        if self.ws_hub is not None:
            self.ws_hub.stop()
        if self.cluster is not None:
            self.cluster.placement.halt()  # no camera taken while the others stop
        if self.runtimes is not None:
            self.runtimes.stop_all()
        if self.cluster is not None:
            self.cluster.release()  # processes stopped: other nodes may take the cameras now
        if self.restream is not None:
            self.restream.stop()  # after the readers: none of them sees it go
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
        if self.cluster is not None:
            self.cluster.leave()  # events written: the node is gone (others close nothing of it)
        if self.runtimes is not None:
            self.runtimes.close_rings()
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

    Camera groups are kept in ``paths.state_dir`` (a file older versions left beside ``config_path`` moves there).
    """
    nvr = NVR(cfg, groups_path=camera_groups_path(cfg.paths, config_path))

    def request_stop(signum: int, _frame: FrameType | None) -> None:
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
