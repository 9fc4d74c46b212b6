"""Clips cut on their first request: an ended event keeps its segments; the first reader cuts the clip."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from frigate_like.config import CameraConfig
from frigate_like.db import queries
from frigate_like.errors import NotFound, Unavailable
from frigate_like.events.cleanup import EventCleanup
from frigate_like.events.media import EventMedia
from frigate_like.events.recovery import LiveFiles, close_crashed_events
from frigate_like.record.clips import ClipCache, ClipWriter
from frigate_like.record.deferred import DeferredClips, is_kept, parts_dir
from frigate_like.record.segments import Segment
from frigate_like.video.binaries import find_ffmpeg, find_ffprobe
from tests.integration.checks import clip_duration
from tests.mounts import fill, tmpfs
from tests.segment_footage import copy_cache
from tests.test_event_processor import cache_dir, camera, processor_for, run_event  # noqa: F401  (fixtures)


def _deferred(clips: Path) -> DeferredClips:
    return DeferredClips(clips, ClipWriter(find_ffmpeg(), ffprobe_bin=find_ffprobe()))


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    folder = tmp_path / "clips"
    folder.mkdir()
    return folder


@pytest.fixture
def footage(cache_dir: Path) -> list[Segment]:  # noqa: F811
    """The module's cached segments (read only)."""
    return ClipCache(cache_dir, "drive", _Clips(), find_ffmpeg(), segment_time=5).segments()


@pytest.fixture
def own_cache(cache_dir: Path, tmp_path: Path) -> Path:  # noqa: F811
    """A copy of the module's cache this test may delete from."""
    return copy_cache(cache_dir, tmp_path / "cache")


def test_an_ended_event_keeps_its_footage_and_the_first_request_cuts_the_clip(
    camera: CameraConfig,  # noqa: F811
    own_cache: Path,
    clips: Path,
    shared_dir: Path,
) -> None:
    deferred = _deferred(clips)
    source = ClipCache(own_cache, "drive", camera.clips, find_ffmpeg(), segment_time=5, deferred=deferred)
    t0 = source.segments()[0].start
    state = run_event(processor_for(camera, source, clips, clock=lambda: t0 + 60), t0 + 4, t0 + 10, shared_dir)

    row = queries.get_event(state.id)
    assert row is not None and row["has_clip"] and row["clip_gaps"] == []
    name = f"drive-{state.id}.mp4"
    assert not (clips / name).exists(), "no re-mux when the event ends"
    assert deferred.pending(name) and is_kept(clips / name)
    # the cache's retention deletes its segments (the hold went with the event's end): the kept parts stay
    for segment in source.segments():
        segment.path.unlink()
    assert source.segments() == []

    media = EventMedia(None, queries, clips, {"drive": camera}, deferred)  # type: ignore[arg-type]
    path = media.media_file(name)
    assert path == (clips / name).resolve()
    assert clip_duration(path) >= 6.0  # 6 s of event plus 1 s pre and post capture, from key frames
    assert not parts_dir(clips / name).exists(), "the parts go once the clip is cut"
    assert sorted(p.name for p in clips.iterdir()) == [f"drive-{state.id}.jpg", name]
    assert media.media_file(name) == path  # later requests read the file


def test_concurrent_first_requests_cut_once(footage: list[Segment], clips: Path) -> None:
    deferred = _deferred(clips)
    t0 = footage[0].start
    assert deferred.keep(footage, t0 + 1, t0 + 9, clips / "drive-1.mp4")
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(deferred.ensure("drive-1.mp4"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [True] * 4
    assert clip_duration(clips / "drive-1.mp4") >= 7.0
    assert [p.name for p in clips.iterdir()] == ["drive-1.mp4"]


def test_no_footage_keeps_nothing_and_unknown_names_stay_404(footage: list[Segment], clips: Path) -> None:
    deferred = _deferred(clips)
    assert deferred.keep(footage, footage[-1].end + 100, footage[-1].end + 110, clips / "drive-2.mp4") is None
    assert list(clips.iterdir()) == []
    assert not deferred.ensure("drive-2.mp4")
    media = EventMedia(None, queries, clips, {}, deferred)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        media.media_file("drive-2.mp4")


def test_a_cut_that_fails_is_a_503_and_the_footage_stays_for_the_next_request(
    footage: list[Segment],
    clips: Path,
    tmp_path: Path,
) -> None:
    t0 = footage[0].start
    broken = tmp_path / "ffmpeg"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    failing = DeferredClips(clips, ClipWriter(str(broken)))
    assert failing.keep(footage, t0 + 1, t0 + 9, clips / "drive-3.mp4")
    with pytest.raises(Unavailable):
        EventMedia(None, queries, clips, {}, failing).media_file("drive-3.mp4")  # type: ignore[arg-type]
    assert failing.pending("drive-3.mp4")
    assert _deferred(clips).ensure("drive-3.mp4")  # ffmpeg works again
    assert clip_duration(clips / "drive-3.mp4") >= 7.0


def test_keeping_on_a_full_disk_fails_cleanly_and_works_once_space_returns(
    footage: list[Segment],
    tmp_path: Path,
) -> None:
    t0 = footage[0].start
    with tmpfs(tmp_path / "small", "size=8m") as small:  # another file system: the segments are copied
        deferred = _deferred(small)
        fill(small / "filler")
        assert deferred.keep(footage, t0 + 1, t0 + 15, small / "drive-4.mp4") is None
        assert [p.name for p in small.iterdir()] == ["filler"], "nothing half-kept is left"
        (small / "filler").unlink()
        assert deferred.keep(footage, t0 + 1, t0 + 15, small / "drive-4.mp4")
        assert deferred.ensure("drive-4.mp4") and clip_duration(small / "drive-4.mp4") >= 13.0


def test_retention_deletes_the_kept_footage_with_its_event(
    camera: CameraConfig,  # noqa: F811
    footage: list[Segment],
    clips: Path,
) -> None:
    deferred = _deferred(clips)
    t0 = footage[0].start
    old = queries.create_event("drive", "car", t0 - 40 * 86_400, end_time=t0 - 40 * 86_400 + 5, has_clip=True)
    new = queries.create_event("drive", "car", t0 - 86_400, end_time=t0 - 86_400 + 5, has_clip=True)
    for event_id in (old, new):
        assert deferred.keep(footage, t0, t0 + 5, clips / f"drive-{event_id}.mp4")
    cleanup = EventCleanup({"drive": camera}, clips, queries, threading.Event(), clock=lambda: t0, deferred=deferred)
    assert cleanup.run_once()[0] == 1  # the default retention: 10 days
    assert not deferred.pending(f"drive-{old}.mp4") and queries.get_event(old) is None
    assert deferred.pending(f"drive-{new}.mp4"), "a kept event keeps its footage"


def test_a_crash_after_the_footage_was_kept_counts_as_a_clip(
    footage: list[Segment],
    clips: Path,
) -> None:
    deferred = _deferred(clips)
    t0 = footage[0].start
    live = LiveFiles(clips)
    live.record("drive", "e5", t0 + 6, True, None, ended=True)
    assert deferred.keep(footage, t0, t0 + 7, clips / "drive-e5.mp4")
    row = {"id": "e5", "camera": "drive", "start_time": t0 + 1}
    [result] = close_crashed_events([row], live, {}, lambda _name: _Clips())
    assert result.has_clip and deferred.pending("drive-e5.mp4")


class _Clips:
    pre_capture, post_capture, max_seconds = 1, 1, 300


@pytest.fixture(autouse=True)
def _db(camera: CameraConfig) -> Iterator[None]:  # noqa: F811  (every test gets its own database)
    yield


def test_kept_footage_shorter_than_listed_is_cut_from_what_there_is(footage: list[Segment], clips: Path) -> None:
    """A segment written while its disk filled up is listed whole but holds less (here: nothing readable)."""
    deferred = _deferred(clips)
    start, end = footage[0].start, footage[2].end
    name = "drive-short.mp4"
    assert deferred.keep(footage[:3], start, end, clips / name) is not None
    kept = sorted(p for p in parts_dir(clips / name).iterdir() if p.suffix == ".mp4")
    broken = kept[-1]
    data = broken.read_bytes()
    broken.unlink()  # a hard link: truncate a copy of its own, not the module's cache
    broken.write_bytes(data[: len(data) // 3])
    assert deferred.ensure(name), "the clip of the readable footage"
    listed = end - start
    assert 1.0 < clip_duration(clips / name) < listed - 2.0
