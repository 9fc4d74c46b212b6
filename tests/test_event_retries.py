"""Clips and snapshots a full disk kept from being written: kept, tried again, and the event updated."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from frigate_like.cameras.subscribers import EventsSubscriber
from frigate_like.config import CameraConfig
from frigate_like.db import queries
from frigate_like.events.processor import EventProcessor
from frigate_like.events.retries import MediaRetries
from frigate_like.record.clips import ClipCache
from frigate_like.video.binaries import find_ffmpeg
from tests.integration.checks import clip_duration
from tests.mounts import fill, tmpfs
from tests.registry_support import registry_with
from tests.test_event_processor import _frame, _state, cache_dir, camera  # noqa: F401  (fixtures)


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def small_clips(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "clips", "size=2m") as folder:
        yield folder


def test_a_clip_and_snapshot_lost_to_a_full_disk_are_written_once_space_returns(
    camera: CameraConfig,  # noqa: F811
    cache_dir: Path,  # noqa: F811
    small_clips: Path,
    shared_dir: Path,
) -> None:
    source = ClipCache(cache_dir, "drive", camera.clips, find_ffmpeg(), segment_time=5)
    t0 = source.segments()[0].start
    now = [t0 + 60]  # the retries' clock: the test moves it on instead of sleeping
    stop = threading.Event()
    processor = EventProcessor(small_clips, queries, stop, clock=lambda: now[0])
    registry_with([EventsSubscriber(processor, lambda cam: source)], [camera])
    state = _state(t0 + 4, _frame(shared_dir))
    processor.object_started(state)
    writer = threading.Thread(target=processor.run)
    writer.start()
    try:
        wait_until(lambda: queries.get_event(state.id), 10, "the event row")
        fill(small_clips / "filler")
        state.end_time = t0 + 10
        processor.object_ended(state)
        row = wait_until(
            lambda: (r := queries.get_event(state.id)) is not None and r["end_time"] is not None and r, 30, "its end"
        )
        assert not row["has_clip"] and not row["has_snapshot"]
        assert sorted(p.name for p in small_clips.iterdir()) == ["filler"], "no temp file is left"
        now[0] += 30  # past the first retry's time: the clip fails again, the disk is still full
        time.sleep(1.5)  # (a small snapshot may fit in what the failed clip's temp file gave back)
        assert [p.name for p in small_clips.iterdir() if p.name.endswith((".mp4", ".tmp", ".partial"))] == []
        row = queries.get_event(state.id)
        assert row is not None and not row["has_clip"]

        (small_clips / "filler").unlink()
        now[0] += 60  # the next attempt is due
        row = wait_until(
            lambda: (r := queries.get_event(state.id)) is not None and r["has_clip"] and r["has_snapshot"] and r,
            30,
            "the clip and snapshot to be written",
        )
    finally:
        stop.set()
        writer.join(10)
    clip = small_clips / f"drive-{state.id}.mp4"
    assert clip_duration(clip) >= 6.0
    assert row["clip_gaps"] == []
    assert sorted(p.name for p in small_clips.iterdir()) == sorted([clip.name, f"drive-{state.id}.jpg"])


def test_a_clip_whose_footage_left_the_cache_is_given_up(
    camera: CameraConfig,  # noqa: F811
    tmp_path: Path,
) -> None:
    empty = ClipCache(tmp_path / "cache", "drive", camera.clips, find_ffmpeg(), segment_time=5)
    retries = MediaRetries()
    written: list[tuple[str, dict[str, Any]]] = []
    retries.add_clip("e1", "drive", tmp_path / "drive-e1.mp4", (100.0, 120.0), (105.0, 115.0), now=0.0)
    assert retries.attempt(1.0, {"drive": empty}, lambda e, **f: written.append((e, f))) == 0
    assert len(retries) == 1, "not due yet"
    assert retries.attempt(10.0, {"drive": empty}, lambda e, **f: written.append((e, f))) == 0
    assert len(retries) == 0 and written == []


def test_snapshots_waiting_for_space_are_bounded_oldest_dropped_first(tmp_path: Path) -> None:
    retries = MediaRetries(max_snapshot_bytes=250_000)
    missing = tmp_path / "not-yet"  # every write fails until the folder is there
    for n in range(3):
        retries.add_snapshot(f"e{n}", missing / f"cam-e{n}.jpg", bytes([n]) * 100_000, now=float(n))
    assert len(retries) == 2 and retries.snapshot_bytes == 200_000  # e0 was given up
    written: list[tuple[str, dict[str, Any]]] = []
    assert retries.attempt(100.0, {}, lambda e, **f: written.append((e, f))) == 0
    missing.mkdir()
    assert retries.attempt(101.0, {}, lambda e, **f: written.append((e, f))) == 0, "each waits its delay"
    retries.add_snapshot("e3", missing / "cam-e3.jpg", b"3", now=128.0)  # due at 133
    assert retries.attempt(130.0, {}, lambda e, **f: written.append((e, f))) == 2
    assert written == [("e1", {"has_snapshot": True}), ("e2", {"has_snapshot": True})]
    assert retries.attempt(130.5, {}, lambda e, **f: written.append((e, f))) == 1, "space is back: no waiting"
    assert sorted(p.name for p in missing.iterdir()) == ["cam-e1.jpg", "cam-e2.jpg", "cam-e3.jpg"]
    assert (missing / "cam-e2.jpg").read_bytes() == bytes([2]) * 100_000
    assert len(retries) == 0 and retries.snapshot_bytes == 0
