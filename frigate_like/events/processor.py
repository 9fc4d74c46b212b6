"""Persists events: a DB row when an object becomes an event, its clip and snapshot when it ends."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from frigate_like.events.backlog import EventStore, HealthLike, WriteBacklog
from frigate_like.events.recovery import (
    CaptureTimes,
    ClipCutter,
    LiveFiles,
    close_crashed_events,
    media_name,
    still_open,
    write_atomically,
)
from frigate_like.events.retries import MediaRetries
from frigate_like.events.snapshot import render_best, thumbnail_b64
from frigate_like.events.tracked import BestFrame, ObjectState
from frigate_like.messages import Box
from frigate_like.record.clips import ClipCut, Span

logger = logging.getLogger(__name__)

DB_UPDATE_INTERVAL = 5.0  # seconds between DB updates of a live event (top score, zones)
CLIP_WAIT_MARGIN = 15.0  # how long past end + post_capture we wait for the segments to close
STEP_INTERVAL = 0.5  # s between the writer's periodic steps (DB retries, live updates, ended events, retries)
RECOVERY_WRITE_WAIT = 5.0  # s the start waits for recovery's writes to land (a refusing DB gets them later)


class ClipSource(Protocol):
    """The cached segments of one camera (record/clips.py ClipCache)."""

    def hold(self, event_id: str, start: float) -> None: ...
    def release(self, event_id: str) -> None: ...
    def clip_ready(self, end_time: float) -> bool: ...
    def make_clip(
        self, start: float, end: float, out_path: Path, *, event: Span | None = None
    ) -> ClipCut | None: ...
    def maintain(self) -> object: ...
    def has_footage(self, start: float, end: float) -> bool: ...


@dataclass(frozen=True)
class EventData:
    """A copy of an object's state taken on the tracking thread."""

    id: str
    camera: str
    label: str
    start_time: float
    end_time: float | None
    top_score: float
    score: float
    false_positive: bool
    zones: tuple[str, ...]
    box: Box
    best: BestFrame | None

    @classmethod
    def of(cls, obj: ObjectState) -> EventData:
        return cls(
            id=obj.id,
            camera=obj.camera,
            label=obj.label,
            start_time=obj.start_time,
            end_time=obj.end_time,
            top_score=obj.top_score,
            score=obj.computed_score,
            false_positive=obj.false_positive,
            zones=tuple(obj.entered_zones),
            box=obj.current.box,
            best=obj.best,
        )


@dataclass
class PendingClip:
    """An ended event waiting for the segments that cover its post-capture time."""

    event: EventData
    clip_start: float
    clip_end: float
    deadline: float
    wants_clip: bool
    wants_snapshot: bool


@dataclass
class _LiveEvent:
    last_db_update: float = 0.0
    wants_clip: bool = False
    wants_snapshot: bool = False
    dirty: bool = False
    latest: EventData | None = field(default=None)
    best_time: float | None = None  # frame time of the best frame last written to its live file


class EventProcessor:
    """Single writer of events: clips are cut on its thread; every DB write goes through its backlog
    (durable when queued, applied in order by the backlog's own thread)."""

    def __init__(
        self,
        clips_dir: Path,
        store: EventStore,
        stop: threading.Event,
        clock: Callable[[], float] = time.time,
        switches: Any = None,
        spill_path: Path | None = None,
        health: HealthLike | None = None,
    ) -> None:
        # per camera, added by the registry's EventsSubscriber (a removed camera's stay, see add_camera)
        self._cameras: dict[str, Any] = {}
        self._clip_sources: Mapping[str, ClipSource] = {}
        self._clips_dir = clips_dir
        # Every DB write goes through the backlog: a database that refuses writes delays them, never loses them.
        self._writes = WriteBacklog(store, spill_path, health)
        self._live_files = LiveFiles(clips_dir)  # what a crash leaves to close the event with
        self._stop = stop
        self._clock = clock
        self._switches = switches  # run-time clips/snapshots switches (MQTT); None = config only
        self._inbox: queue.Queue[tuple[str, EventData]] = queue.Queue()  # starts and ends, in order
        # The latest update of each live event (one per object per frame arrives): taken at each step,
        # so an update neither wakes the writer nor queues behind the others.
        self._updates: dict[str, EventData] = {}
        self._updates_lock = threading.Lock()
        self._live: dict[str, _LiveEvent] = {}
        self._pending: list[PendingClip] = []
        self._retries = MediaRetries()  # clips and snapshots a full disk kept from being written

    def add_camera(self, cam: Any, clip_source: ClipSource | None) -> None:
        """A camera added (or restarted), YAML or camera group. Nothing is forgotten: a removed camera's
        last events still end and cut their clips; a restarted camera keeps its clip cache,
        which may hold segments for those events."""
        self._cameras = {**self._cameras, cam.name: cam}
        if clip_source is not None and cam.name not in self._clip_sources:
            self._clip_sources = {**self._clip_sources, cam.name: clip_source}

    # -- LifecycleListener (called on the tracking thread: only enqueue) ------------------------
    def object_started(self, obj: ObjectState) -> None:
        """Its row is queued here, durably (the spill file), before the listeners after this one
        (MQTT) announce the event: a crash from then on cannot lose it."""
        data = EventData.of(obj)
        try:
            self._create(data)
        finally:
            self._inbox.put(("start", data))

    def object_updated(self, obj: ObjectState, reason: str) -> None:
        data = EventData.of(obj)
        with self._updates_lock:
            self._updates[obj.id] = data

    def object_ended(self, obj: ObjectState) -> None:
        self._inbox.put(("end", EventData.of(obj)))

    def backlog(self) -> int:
        """Writes waiting for the database, plus events waiting to be handled."""
        return len(self._writes) + self._inbox.qsize()

    # -- the writer thread ----------------------------------------------------------------------
    def run(self) -> None:
        next_maintenance = 0.0
        next_steps = 0.0  # monotonic
        while not self._stop.is_set():
            handled = self._handle_queued(timeout=max(0.0, next_steps - time.monotonic()))
            # Updates come every frame of every object with an event (20/s at 4 busy cameras): they
            # are taken, with the steps below (the clips cache's listing among them), every
            # STEP_INTERVAL; after a start or an end at once, as before.
            if not handled and time.monotonic() < next_steps:
                continue
            next_steps = time.monotonic() + STEP_INTERVAL
            now = self._clock()
            self._step("taking updates", self._take_updates)
            self._step("retrying queued event writes", self._writes.retry)
            self._step("updating live events", self._flush_live, now)
            self._step("finishing ended events", self._finish_ready, now, False)
            self._step("retrying clips, snapshots", self._retries.attempt, now, self._clip_sources, self._writes.update)
            if now >= next_maintenance:
                next_maintenance = now + 5.0
                for source in self._clip_sources.values():
                    try:
                        source.maintain()
                    except Exception:
                        logger.exception("clip cache maintenance failed")

    def _handle_queued(self, timeout: float) -> bool:
        """Waits up to ``timeout`` s for a start or an end, then handles it and every other one queued;
        True when it handled one."""
        block, handled = True, False
        while True:
            try:
                kind, data = self._inbox.get(timeout=timeout) if block and timeout > 0 else self._inbox.get_nowait()
            except queue.Empty:
                return handled
            block, handled = False, True
            try:
                self._handle(kind, data)
            except Exception:
                logger.exception("event processing failed")

    def finish(self, timeout: float) -> None:
        """Shutdown: handles what is queued, then writes every pending clip with what exists."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                kind, data = self._inbox.get_nowait()
            except queue.Empty:
                break
            try:
                self._handle(kind, data)
            except Exception:
                logger.exception("event processing failed at shutdown")
        self._take_updates()
        self._flush_live(self._clock(), force=True)
        while self._pending and time.monotonic() < deadline:
            if self._finish_ready(self._clock(), force=False) == 0:
                time.sleep(0.2)
        self._finish_ready(self._clock(), force=True)
        self._retries.attempt(self._clock(), self._clip_sources, self._writes.update, force=True)
        self._retries.give_up(self._clip_sources)
        self._writes.close()

    def _take_updates(self) -> None:
        """Applies the latest update of each live event (one of an event already ended is dropped)."""
        with self._updates_lock:
            updates, self._updates = self._updates, {}
        for data in updates.values():
            self._handle("update", data)

    def _step(self, what: str, step: Callable[..., object], *args: object) -> None:
        """One periodic step; its failure is logged and the loop goes on (the next pass retries)."""
        try:
            step(*args)
        except Exception:
            logger.exception("event writer: %s failed", what)

    # -- steps ----------------------------------------------------------------------------------
    def _handle(self, kind: str, data: EventData) -> None:
        if kind == "start":
            self._start(data)
        elif kind == "update":
            live = self._live.get(data.id)
            if live is not None:
                live.latest, live.dirty = data, True
        elif kind == "end":
            self._end(data)

    def _start(self, data: EventData) -> None:
        cam = self._cameras[data.camera]
        live = _LiveEvent(
            last_db_update=self._clock(),
            wants_clip=self._clips_enabled(data.camera) and label_wanted(cam.clips.objects, data.label),
            wants_snapshot=self._snapshots_enabled(data.camera),
        )
        self._live[data.id] = live
        source = self._clip_sources.get(data.camera)
        if live.wants_clip and source is not None:
            source.hold(data.id, data.start_time - cam.clips.pre_capture)
        self._record_live(data, live, data.start_time)
        logger.info("event %s started: %s on %s", data.id, data.label, data.camera)

    def _create(self, data: EventData) -> None:
        try:
            thumbnail = self._thumbnail(data)
        except Exception:  # a bad frame must not keep the event out of the database
            logger.exception("event %s: no thumbnail", data.id)
            thumbnail = None
        self._writes.create(
            data.id,
            camera=data.camera,
            label=data.label,
            start_time=data.start_time,
            top_score=data.top_score,
            false_positive=data.false_positive,
            zones=list(data.zones),
            thumbnail=thumbnail,
            has_clip=False,  # true once the file exists
            has_snapshot=False,
        )

    def _flush_live(self, now: float, force: bool = False) -> None:
        for event_id, live in self._live.items():
            if live.dirty and live.latest is not None and (force or now - live.last_db_update >= DB_UPDATE_INTERVAL):
                data = live.latest
                self._writes.update(
                    event_id, top_score=data.top_score, zones=list(data.zones), thumbnail=self._thumbnail(data)
                )
                live.last_db_update, live.dirty = now, False
                self._record_live(data, live, now)

    def _record_live(self, data: EventData, live: _LiveEvent, now: float) -> None:
        """Keeps the event's live files current: a crash then leaves its last update and best frame."""
        try:
            best_jpg = None
            if live.wants_snapshot and data.best is not None and data.best.frame_time != live.best_time:
                best_jpg = render_best(data.best, data.label, self._cameras[data.camera].snapshots)
                live.best_time = data.best.frame_time
            self._live_files.record(data.camera, data.id, now, live.wants_clip, best_jpg)
        except Exception as exc:  # e.g. disk full: the event goes on, only its crash record is stale
            logger.warning("event %s: cannot write its live files: %s", data.id, exc)

    def recover(
        self,
        open_events: list[dict[str, Any]],
        recorded: Callable[[str], ClipCutter] | None = None,
        closed: Callable[[dict[str, Any]], None] | None = None,
    ) -> int:
        """At start: closes the events a crash left open (see events/recovery.py); returns how many.

        ``open_events``: the database's open rows. The writes a crash left in the spill file count
        first (replayed now if the database takes them): an event they end was no crash victim.
        ``recorded(camera)``: cuts from the 24/7 recordings where the clips cache lacks the footage.
        ``closed(row)``: told of each event closed whose end was never told (MQTT heard its start
        only), as it is now stored (e.g. to publish its end)."""
        victims = still_open(open_events, self._writes.pending())
        self._writes.retry(force=True)  # the spill file's writes land before recovery's own
        results = close_crashed_events(victims, self._live_files, self._clip_sources, self._capture_times, recorded)
        rows = {str(row["id"]): row for row in victims}
        for result in results:
            self._writes.update(
                result.event_id, end_time=result.end_time, has_clip=result.has_clip,
                has_snapshot=result.has_snapshot, clip_gaps=result.clip_gaps,
            )  # fmt: skip
        self._writes.wait_drained(RECOVERY_WRITE_WAIT)
        for result in results:
            row = {**rows[result.event_id], "end_time": result.end_time, "has_clip": result.has_clip}
            row["has_snapshot"] = result.has_snapshot
            if closed is not None and not result.end_announced:
                try:
                    closed(row)
                except Exception:
                    logger.exception("event %s: telling of its recovered end failed", result.event_id)
        for path in self._live_files.sweep():
            logger.info("removed %s, left by an earlier run", path.name)
        return len(results)

    def _capture_times(self, camera: str) -> CaptureTimes | None:
        cam = self._cameras.get(camera)
        return None if cam is None else cam.clips

    def _end(self, data: EventData) -> None:
        live = self._live.pop(data.id, None) or _LiveEvent()
        cam = self._cameras[data.camera]
        end_time = data.end_time if data.end_time is not None else self._clock()
        wants_clip = live.wants_clip and zones_ok(cam.clips.required_zones, data.zones)
        wants_snapshot = live.wants_snapshot and zones_ok(cam.snapshots.required_zones, data.zones)
        clip_end = end_time + cam.clips.post_capture
        self._pending.append(
            PendingClip(
                event=data,
                clip_start=data.start_time - cam.clips.pre_capture,
                clip_end=clip_end,
                deadline=clip_end + CLIP_WAIT_MARGIN,
                wants_clip=wants_clip,
                wants_snapshot=wants_snapshot,
            )
        )
        if not wants_clip:
            source = self._clip_sources.get(data.camera)
            if source is not None:
                source.release(data.id)
        try:  # a crash before _finalise: the next start knows it ended, and when
            self._live_files.record(data.camera, data.id, end_time, wants_clip, None, ended=True)
        except Exception as exc:
            logger.warning("event %s: cannot write its live files: %s", data.id, exc)

    def _finish_ready(self, now: float, force: bool) -> int:
        done = 0
        for pending in list(self._pending):
            source = self._clip_sources.get(pending.event.camera)
            ready = (
                not pending.wants_clip
                or source is None
                or source.clip_ready(pending.clip_end)
                or now >= pending.deadline
            )
            if ready or force:
                self._pending.remove(pending)
                self._finalise(pending, source)
                done += 1
        return done

    def _finalise(self, pending: PendingClip, source: ClipSource | None) -> None:
        data = pending.event
        clip_path = self._clips_dir / media_name(data.camera, data.id, ".mp4")
        snapshot_path = self._clips_dir / media_name(data.camera, data.id, ".jpg")
        cut: ClipCut | None = None
        if pending.wants_clip and source is not None:
            clip_span = (pending.clip_start, pending.clip_end)
            span = (data.start_time, data.end_time if data.end_time is not None else pending.clip_end)
            retry = False
            try:
                cut = source.make_clip(*clip_span, clip_path, event=span)
                retry = cut is None and source.has_footage(*clip_span)  # e.g. the disk was full
            except Exception:
                logger.exception("clip for event %s failed", data.id)
            finally:
                if retry:  # the event keeps its hold on the footage until the clip is written
                    self._retries.add_clip(data.id, data.camera, clip_path, clip_span, span, self._clock())
                else:
                    source.release(data.id)
        has_snapshot = False
        if pending.wants_snapshot and data.best is not None:
            has_snapshot = self._write_snapshot(data, snapshot_path)
        self._writes.update(
            data.id,
            end_time=data.end_time if data.end_time is not None else self._clock(),
            top_score=data.top_score,
            false_positive=False,
            zones=list(data.zones),
            thumbnail=self._thumbnail(data),
            has_clip=cut is not None,
            has_snapshot=has_snapshot,
            clip_gaps=cut.gaps if cut is not None else (),
        )
        self._live_files.remove(data.camera, data.id)
        gaps = f", {len(cut.gaps)} gap(s) in it" if cut is not None and cut.gaps else ""
        logger.info("event %s ended (clip: %s%s, snapshot: %s)", data.id, cut is not None, gaps, has_snapshot)

    def _write_snapshot(self, data: EventData, path: Path) -> bool:
        assert data.best is not None
        try:
            jpg = render_best(data.best, data.label, self._cameras[data.camera].snapshots)
        except Exception:  # a bad frame must not keep the event from ending
            logger.exception("snapshot for event %s could not be drawn", data.id)
            return False
        try:
            write_atomically(path, jpg)
            return True
        except OSError as exc:  # disk full, I/O error: its JPEG waits in memory for another try
            logger.error("snapshot for event %s could not be written: %s", data.id, exc)
            self._retries.add_snapshot(data.id, path, jpg, self._clock())
            return False

    def _thumbnail(self, data: EventData) -> str | None:
        if data.best is None:
            return None
        return thumbnail_b64(data.best.frame, data.best.box)

    def _clips_enabled(self, camera: str) -> bool:
        if self._switches is not None:
            return bool(self._switches.clips_enabled(camera))
        return bool(self._cameras[camera].clips.enabled)

    def _snapshots_enabled(self, camera: str) -> bool:
        if self._switches is not None:
            return bool(self._switches.snapshots_enabled(camera))
        return bool(self._cameras[camera].snapshots.enabled)


def label_wanted(labels: Sequence[str] | None, label: str) -> bool:
    """Whether a clips ``objects`` list (None: every label) takes ``label``."""
    return labels is None or label in labels


def zones_ok(required: Sequence[str], entered: Sequence[str]) -> bool:
    """Whether an object that entered ``entered`` meets a ``required_zones`` list (empty: always)."""
    return not required or any(zone in entered for zone in required)
