"""The event processor over a real SQLite file, real cache segments and a real frame."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from frigate_like.cameras.subscribers import EventsSubscriber
from frigate_like.config import CameraConfig, config_from_dict
from frigate_like.db import database, queries
from frigate_like.db.database import close_database, open_database
from frigate_like.events import backlog as backlog_module
from frigate_like.events.processor import STEP_INTERVAL, EventProcessor
from frigate_like.events.tracked import BestFrame, ObjectState
from frigate_like.messages import TrackedObject
from frigate_like.migrations import MIGRATIONS_DIR
from frigate_like.record.clips import ClipCache
from frigate_like.video.binaries import find_ffmpeg
from tests.integration.checks import clip_duration
from tests.registry_support import registry_with
from tests.segment_footage import copy_cache, write_segments


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    """20 s of the car video as the clips role writes it (read at 4x speed to keep the test short)."""
    cache = tmp_path_factory.mktemp("cache")
    write_segments(shared_dir / "media" / "car-detection.mp4", cache / "drive" / "clips", seconds=20, read_rate=4)
    return cache


@pytest.fixture
def camera(tmp_path: Path, model_path: Path, labelmap_path: Path) -> Iterator[CameraConfig]:
    cfg = config_from_dict(
        {
            "database": {"path": str(tmp_path / "frigate.db")},
            "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
            "objects": {"track": ["car"]},
            "cameras": {
                "drive": {
                    "ffmpeg": {"inputs": [{"path": "rtsp://cam/x", "roles": ["detect", "clips"]}]},
                    "width": 768,
                    "height": 432,
                    "fps": 5,
                    "clips": {"enabled": True, "pre_capture": 1, "post_capture": 1},
                    "snapshots": {"enabled": True, "bounding_box": True, "height": 216},
                }
            },
        }
    )
    db = open_database(cfg.database, MIGRATIONS_DIR)
    yield cfg.cameras["drive"]
    close_database(db)


def processor_for(
    camera: CameraConfig, source: ClipCache, clips_dir: Path, stop: threading.Event | None = None, **kwargs: Any
) -> EventProcessor:
    """An event processor that gets ``camera`` (and its clip cache) through the registry, as in the daemon."""
    processor = EventProcessor(clips_dir, queries, stop or threading.Event(), **kwargs)
    registry_with([EventsSubscriber(processor, lambda cam: source)], [camera])
    return processor


def _frame(shared_dir: Path) -> np.ndarray:
    capture = cv2.VideoCapture(str(shared_dir / "media" / "car-detection.mp4"))
    ok, bgr = capture.read()
    capture.release()
    assert ok
    return cv2.cvtColor(cv2.resize(bgr, (768, 432)), cv2.COLOR_BGR2YUV_I420)


def _clips_and_cache(tmp_path: Path, cache_dir: Path, camera: CameraConfig) -> tuple[Path, ClipCache, float]:
    """An empty clips folder, the camera's clips cache and the time its footage starts."""
    clips_dir = tmp_path / "clips"
    clips_dir.mkdir()
    source = ClipCache(cache_dir, "drive", camera.clips, find_ffmpeg(), segment_time=5)
    return clips_dir, source, source.segments()[0].start


def run_event(processor: EventProcessor, start: float, end: float, shared_dir: Path) -> ObjectState:
    """One car event from ``start`` to ``end`` through ``processor``, handled to its end (clip and snapshot)."""
    state = _state(start, _frame(shared_dir))
    processor.object_started(state)
    state.end_time = end
    processor.object_ended(state)
    processor.finish(timeout=10)
    return state


def _state(start: float, frame: np.ndarray) -> ObjectState:
    box = (300, 200, 420, 300)
    tracked = TrackedObject("evt-1", "car", 0.9, box, 12000, (200, 100, 500, 400), (360, 250), start, True, 0)
    state = ObjectState(id=f"{start}-abcdef", camera="drive", label="car", start_time=start, current=tracked)
    state.top_score, state.computed_score, state.false_positive = 0.9, 0.9, False
    state.best = BestFrame(frame, start + 1, 0.9, box, 12000, tracked.region)
    return state


def test_event_row_clip_and_snapshot(camera: CameraConfig, cache_dir: Path, tmp_path: Path, shared_dir: Path) -> None:
    clips_dir = tmp_path / "clips"
    clips_dir.mkdir()
    source = ClipCache(cache_dir, "drive", camera.clips, find_ffmpeg(), segment_time=5)
    segments = source.segments()
    assert segments, "the fixture wrote no segment"
    t0 = segments[0].start
    processor = processor_for(camera, source, clips_dir, clock=lambda: t0 + 60)
    state = _state(t0 + 4, _frame(shared_dir))
    processor.object_started(state)
    processor.finish(timeout=1)  # handles the start
    row = queries.get_event(state.id)
    assert row is not None and row["end_time"] is None and row["thumbnail"]
    assert not row["has_clip"] and not row["has_snapshot"]  # true only once the files exist
    assert (clips_dir / f"drive-{state.id}.live.json").exists()  # what a crash would leave
    assert queries.list_events(camera="drive")[0]["id"] == state.id  # in progress events are listed

    state.end_time = t0 + 10
    processor.object_ended(state)
    processor.finish(timeout=10)
    row = queries.get_event(state.id)
    assert row is not None
    assert row["end_time"] == pytest.approx(t0 + 10)
    assert row["has_clip"] and row["has_snapshot"] and row["clip_gaps"] == []
    clip = clips_dir / f"drive-{state.id}.mp4"
    assert clip_duration(clip) >= 6.0  # 6 s of event plus 1 s pre and post capture, from key frames
    snapshot = cv2.imread(str(clips_dir / f"drive-{state.id}.jpg"))
    assert snapshot is not None and snapshot.shape[0] == 216  # snapshots.height
    assert sorted(p.name for p in clips_dir.iterdir()) == [f"drive-{state.id}.jpg", f"drive-{state.id}.mp4"]


def test_a_clip_across_lost_footage_keeps_the_rest_and_the_event_names_the_gap(
    camera: CameraConfig, cache_dir: Path, tmp_path: Path, shared_dir: Path
) -> None:
    clips_dir = tmp_path / "clips"
    clips_dir.mkdir()
    copy_cache(cache_dir / "drive" / "clips", tmp_path / "cache" / "drive" / "clips")
    source = ClipCache(tmp_path / "cache", "drive", camera.clips, find_ffmpeg(), segment_time=5)
    segments = source.segments()
    lost = segments[1]  # e.g. its ffmpeg was killed before the segment got a readable header
    lost.path.unlink()
    t0 = segments[0].start
    processor = processor_for(camera, source, clips_dir, clock=lambda: t0 + 60)
    state = _state(t0 + 4, _frame(shared_dir))
    processor.object_started(state)
    state.end_time = segments[2].end - 2
    processor.object_ended(state)
    processor.finish(timeout=10)
    row = queries.get_event(state.id)
    assert row is not None and row["has_clip"]
    assert row["clip_gaps"] == [[round(lost.start, 3), round(lost.end, 3)]]
    assert (clips_dir / f"drive-{state.id}.mp4").exists()


def test_events_left_open_by_a_crash_are_closed_from_what_is_on_disk(
    camera: CameraConfig, cache_dir: Path, tmp_path: Path, shared_dir: Path
) -> None:
    clips_dir, source, t0 = _clips_and_cache(tmp_path, cache_dir, camera)
    now = [t0 + 4]
    before_crash = processor_for(camera, source, clips_dir, clock=lambda: now[0])
    state = _state(t0 + 4, _frame(shared_dir))
    before_crash.object_started(state)
    now[0] = t0 + 9
    before_crash.object_updated(state, "frame")
    before_crash.finish(timeout=0)  # its last DB update at t0 + 9; then the process "dies"
    assert (clips_dir / f"drive-{state.id}.best.jpg").exists()
    no_record = queries.create_event("drive", "car", t0 + 12, id=f"{t0 + 12}-crashd")  # died before any record
    (clips_dir / f"drive-{no_record}.jpg.tmp").write_bytes(b"half a jpeg")

    after = processor_for(camera, source, clips_dir)
    assert after.recover(queries.open_events()) == 2
    assert queries.open_events() == []
    row = queries.get_event(state.id)
    assert row is not None and row["end_time"] == pytest.approx(t0 + 9)  # its last update, not "now"
    assert row["has_clip"] and clip_duration(clips_dir / f"drive-{state.id}.mp4") >= 5.0
    assert row["has_snapshot"] and cv2.imread(str(clips_dir / f"drive-{state.id}.jpg")) is not None
    row = queries.get_event(no_record)
    assert row is not None and row["end_time"] == pytest.approx(t0 + 12)
    assert not row["has_snapshot"] and not (clips_dir / f"drive-{no_record}.jpg").exists()
    assert row["has_clip"] == (clips_dir / f"drive-{no_record}.mp4").exists()
    leftovers = [p.name for p in clips_dir.iterdir() if p.name.endswith((".tmp", ".live.json", ".best.jpg"))]
    assert leftovers == []


def test_clips_disabled_gives_no_clip(camera: CameraConfig, cache_dir: Path, tmp_path: Path, shared_dir: Path) -> None:
    camera.clips.enabled = False
    camera.snapshots.enabled = False
    source = ClipCache(cache_dir, "drive", camera.clips, find_ffmpeg(), segment_time=5)
    t0 = source.segments()[0].start
    state = run_event(processor_for(camera, source, tmp_path, clock=lambda: t0 + 60), t0 + 4, t0 + 8, shared_dir)
    row = queries.get_event(state.id)
    assert row is not None and row["end_time"] == pytest.approx(t0 + 8)
    assert not row["has_clip"] and not row["has_snapshot"]
    assert list(tmp_path.glob("drive-*")) == []


def test_an_event_left_open_is_cut_from_the_24_7_recordings_when_the_clips_cache_lost_it(
    camera: CameraConfig, cache_dir: Path, tmp_path: Path
) -> None:
    from frigate_like.db import recordings
    from frigate_like.events.recovery import RecordedClips

    clips_dir = tmp_path / "clips"
    clips_dir.mkdir()
    recorded = ClipCache(cache_dir, "drive", camera.clips, find_ffmpeg(), segment_time=5).segments()
    for segment in recorded:  # the footage as the recordings maintainer would have filed it
        recordings.add_recording("drive", str(segment.path), segment.start, segment.end, segment.path.stat().st_size)
    t0 = recorded[0].start
    empty_cache = ClipCache(tmp_path / "cache", "drive", camera.clips, find_ffmpeg(), segment_time=5)
    event_id = queries.create_event("drive", "car", t0 + 6, id=f"{t0 + 6}-tmpfsx")
    processor = processor_for(camera, empty_cache, clips_dir)
    assert processor.recover(queries.open_events(), lambda cam: RecordedClips(cam, recordings, find_ffmpeg())) == 1
    row = queries.get_event(event_id)
    assert row is not None and row["has_clip"] and row["end_time"] == pytest.approx(t0 + 6)
    assert clip_duration(clips_dir / f"drive-{event_id}.mp4") >= 1.5  # pre + post capture of 1 s each


@dataclass(frozen=True)
class _Sqlite:
    path: Path
    url: str | None = None


def test_a_crash_while_the_database_refuses_writes_loses_no_event_and_keeps_ended_ones_whole(
    camera: CameraConfig, cache_dir: Path, tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Event A ends and B starts while SQLite is held under BEGIN EXCLUSIVE; then the writer "dies"
    (its thread stops, nothing of a shutdown runs). The next start replays the spill file first:
    A keeps the clip and snapshot it had, B is created, then closed as the crash victim it is."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.2)  # "database is locked" after 0.2 s, not 10 s
    monkeypatch.setitem(database.SQLITE_PRAGMAS, "busy_timeout", 200)
    monkeypatch.setattr(backlog_module, "DRAIN_IN_BACKGROUND", False)  # the dying writer has no other thread
    db = open_database(_Sqlite(tmp_path / "frigate.db"), MIGRATIONS_DIR)
    spill = tmp_path / "events-backlog.jsonl"
    clips_dir, source, t0 = _clips_and_cache(tmp_path, cache_dir, camera)
    stop = threading.Event()
    before = EventProcessor(clips_dir, queries, stop, clock=lambda: t0 + 60, spill_path=spill)
    registry_with([EventsSubscriber(before, lambda cam: source)], [camera])
    writer = threading.Thread(target=before.run)
    writer.start()
    ended, left_open = _state(t0 + 4, _frame(shared_dir)), _state(t0 + 12, _frame(shared_dir))
    left_open.id = f"{t0 + 12}-crashd"
    before.object_started(ended)
    deadline = time.monotonic() + 20
    while queries.get_event(ended.id) is None:
        assert time.monotonic() < deadline, "event A never reached the database"
        time.sleep(0.05)
    holder = sqlite3.connect(tmp_path / "frigate.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        ended.end_time = t0 + 9
        before.object_ended(ended)
        before.object_started(left_open)
        clip, snapshot = clips_dir / f"drive-{ended.id}.mp4", clips_dir / f"drive-{ended.id}.jpg"
        while not (clip.exists() and snapshot.exists() and spill.exists() and len(spill.read_text().splitlines()) == 2):
            assert time.monotonic() < deadline + 20, "A's clip and snapshot, B's start: never there"
            time.sleep(0.05)
        stop.set()  # the crash
        writer.join(10)
        assert sorted(json.loads(line)["op"] for line in spill.read_text().splitlines()) == ["create", "update"]
        assert holder.execute("SELECT COUNT(*) FROM event").fetchone()[0] == 1
    finally:
        holder.execute("COMMIT")
        holder.close()
    clip_before, snapshot_before = clip.read_bytes(), snapshot.read_bytes()
    duration = clip_duration(clip)

    closed: list[dict[str, object]] = []
    after = processor_for(camera, source, clips_dir, spill_path=spill)
    assert after.recover(queries.open_events(), closed=closed.append) == 1
    assert [row["id"] for row in closed] == [left_open.id] and closed[0]["end_time"] is not None
    assert not spill.exists()  # drained: compacted to nothing
    row = queries.get_event(ended.id)
    assert row is not None and row["end_time"] == pytest.approx(t0 + 9) and row["has_clip"] and row["has_snapshot"]
    assert clip.read_bytes() == clip_before and clip_duration(clip) == duration
    assert snapshot.read_bytes() == snapshot_before
    row = queries.get_event(left_open.id)
    assert row is not None and row["end_time"] is not None and queries.open_events() == []
    assert closed[0]["has_clip"] == row["has_clip"] and closed[0]["has_snapshot"] == row["has_snapshot"]
    close_database(db)


def test_recovery_keeps_a_clip_and_snapshot_written_before_the_crash(
    camera: CameraConfig, cache_dir: Path, tmp_path: Path
) -> None:
    """Died between cutting the clip and writing the end: the clip and snapshot stay as they are."""
    clips_dir, source, t0 = _clips_and_cache(tmp_path, cache_dir, camera)
    event_id = queries.create_event("drive", "car", t0 + 4, id=f"{t0 + 4}-cutdone")
    (clips_dir / f"drive-{event_id}.mp4").write_bytes(b"a clip cut before the crash")
    (clips_dir / f"drive-{event_id}.jpg").write_bytes(b"its snapshot")
    processor = processor_for(camera, source, clips_dir)
    assert processor.recover(queries.open_events()) == 1
    row = queries.get_event(event_id)
    assert row is not None and row["has_clip"] and row["has_snapshot"] and row["end_time"] is not None
    assert (clips_dir / f"drive-{event_id}.mp4").read_bytes() == b"a clip cut before the crash"
    assert (clips_dir / f"drive-{event_id}.jpg").read_bytes() == b"its snapshot"


def test_an_event_that_ended_before_the_crash_ends_when_it_did_and_is_not_announced_again(
    camera: CameraConfig, cache_dir: Path, tmp_path: Path, shared_dir: Path
) -> None:
    """Killed while its clip waited for the footage: the next start knows it ended, and when."""
    clips_dir, source, t0 = _clips_and_cache(tmp_path, cache_dir, camera)
    stop = threading.Event()
    before = EventProcessor(clips_dir, queries, stop, clock=lambda: t0 + 5)
    registry_with([EventsSubscriber(before, lambda cam: source)], [camera])
    writer = threading.Thread(target=before.run)
    writer.start()
    state = _state(t0 + 4, _frame(shared_dir))
    before.object_started(state)
    state.end_time = t0 + 30  # past the footage: its clip waits
    before.object_ended(state)
    live = clips_dir / f"drive-{state.id}.live.json"
    deadline = time.monotonic() + 20
    while not (live.exists() and json.loads(live.read_text()).get("ended")):
        assert time.monotonic() < deadline, "the end never reached the live file"
        time.sleep(0.05)
    stop.set()  # the crash
    writer.join(10)
    closed: list[dict[str, object]] = []
    after = processor_for(camera, source, clips_dir)
    assert after.recover(queries.open_events(), closed=closed.append) == 1
    assert closed == []  # MQTT heard its end already
    row = queries.get_event(state.id)
    assert row is not None and row["end_time"] == pytest.approx(t0 + 30) and row["has_clip"]


class CountingCache(ClipCache):
    """A real clips cache that counts how often its folder is listed."""

    listings = 0

    def segments(self) -> list[Any]:
        self.listings += 1
        return super().segments()


def test_a_flood_of_updates_does_not_list_the_clips_cache_for_each(
    camera: CameraConfig, cache_dir: Path, tmp_path: Path, shared_dir: Path
) -> None:
    """An event waiting for its post-capture footage is checked every STEP_INTERVAL, not at every update
    of the other objects (one per object per frame); its end is still handled at once."""
    source = CountingCache(cache_dir, "drive", camera.clips, find_ffmpeg(), segment_time=5)
    t_end = source.segments()[-1].end
    stop = threading.Event()
    processor = processor_for(camera, source, tmp_path, stop, clock=lambda: t_end + 1)
    waiting = _state(t_end - 3, _frame(shared_dir))  # its post capture runs past the cached footage: it waits
    busy = _state(t_end - 2, waiting.best.frame if waiting.best else _frame(shared_dir))
    busy.id = f"{busy.start_time}-busy"
    writer = threading.Thread(target=processor.run)
    writer.start()
    try:
        processor.object_started(waiting)
        processor.object_started(busy)
        waiting.end_time = t_end
        processor.object_ended(waiting)
        time.sleep(0.5)
        before, started = source.listings, time.monotonic()
        for _ in range(400):  # 20 updates a second for 20 s, sent in 2 s
            processor.object_updated(busy, "frame")
            time.sleep(0.005)
        elapsed = time.monotonic() - started
        listings = source.listings - before
    finally:
        stop.set()
        writer.join(10)
    # per step: clip_ready, plus maintain's listing every 5 s; at most one step per STEP_INTERVAL
    assert listings <= 2 * (elapsed / STEP_INTERVAL + 2), (listings, elapsed)
    assert processor.backlog() == 0
