"""Clips cut from real cache segments with the concat demuxer, and the clip cache's bookkeeping."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from frigate_like.record.clips import (
    ClipCache,
    ClipWriter,
    concat_script,
    footage_seconds,
    remove_partial_clips,
    unplayable,
)
from frigate_like.record.segments import Segment, SegmentIndex, segment_name_time
from frigate_like.video.binaries import find_ffmpeg
from tests.segment_footage import SEGMENT_TIME, copy_cache, ffprobe, write_segments

GOP_S = 4.8  # car-detection.mp4 has a key frame every 4.8 s
FPS = 12.5


@dataclass(frozen=True)
class ClipsCfg:
    pre_capture: int = 5
    max_seconds: int = 300


@pytest.fixture(scope="module")
def cache_folder(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    """20 s of car-detection.mp4 as clips-role cache segments (read at 4x so the names differ)."""
    folder = tmp_path_factory.mktemp("cache") / "front" / "clips"
    write_segments(shared_dir / "media" / "car-detection.mp4", folder, seconds=20, read_rate=4)
    return folder


@pytest.fixture
def cache_dir(cache_folder: Path, tmp_path: Path) -> Path:
    """A private copy of the cache: tests delete and corrupt segments."""
    copy_cache(cache_folder, tmp_path / "cache" / "front" / "clips")
    return tmp_path / "cache"


@pytest.fixture
def segments(cache_dir: Path) -> list[Segment]:
    found = SegmentIndex(cache_dir, "front", "clips", segment_time=SEGMENT_TIME).refresh()
    assert [round(s.duration, 1) for s in found] == [9.6, 4.8, 4.8, 0.8]
    return found


def probe(path: Path, *extra: str) -> dict[str, Any]:
    args = [ffprobe(), "-v", "error", "-of", "json", "-show_format", "-show_streams", *extra, str(path)]
    return dict(json.loads(subprocess.run(args, capture_output=True, check=True, text=True).stdout))


def leading_frame_hashes(path: Path) -> list[str]:
    """MD5s of the first predicted frames (a key frame may gain in-band SPS/PPS when copied)."""
    args = [ffprobe(), "-v", "error", "-of", "json", "-select_streams", "v", "-show_packets", "-show_data_hash",
            "MD5", "-read_intervals", "%+#6", str(path)]
    packets = json.loads(subprocess.run(args, capture_output=True, check=True, text=True).stdout)["packets"]
    return [str(p["data_hash"]) for p in packets if "K" not in p["flags"]]


def top_level_boxes(path: Path) -> list[str]:
    boxes, data, offset = [], path.read_bytes(), 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        boxes.append(data[offset + 4 : offset + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        if size < 8:
            break
        offset += size
    return boxes


def test_clip_is_cut_by_stream_copy(segments: list[Segment], tmp_path: Path) -> None:
    t0 = segments[0].start
    out_dir = tmp_path / "clips"
    out_dir.mkdir()
    out = out_dir / "front-1.mp4"
    started = time.monotonic()
    assert ClipWriter(find_ffmpeg()).cut_clip(segments, t0 + 3, t0 + 12, out)
    elapsed = time.monotonic() - started
    info = probe(out, "-count_frames")
    (video,) = info["streams"]
    duration = float(info["format"]["duration"])
    # Stream copy starts at the key frame before t0+3 (here the one at t0): at most one GOP more.
    assert 9.0 <= duration <= 9.0 + GOP_S + 0.1
    assert int(video["nb_read_frames"]) == pytest.approx(duration * FPS, abs=1), "every frame decodes"
    source = probe(segments[0].path)["streams"][0]
    for key in ("codec_name", "profile", "width", "height", "pix_fmt"):
        assert video[key] == source[key]
    hashes = leading_frame_hashes(out)
    assert len(hashes) == 5 and hashes == leading_frame_hashes(segments[0].path), "copied, not re-encoded"
    assert elapsed < 5.0
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat"), "+faststart"
    assert [p.name for p in out_dir.iterdir()] == ["front-1.mp4"], "no temp files left"


def test_a_whole_clip_has_no_gaps_and_one_across_a_lost_segment_names_it(
    segments: list[Segment], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = ClipWriter(find_ffmpeg())
    t0 = segments[0].start
    whole = writer.cut_clip(segments, t0 + 1, segments[2].end - 1, tmp_path / "whole.mp4")
    assert whole is not None and whole.path == tmp_path / "whole.mp4" and whole.gaps == ()

    lost = segments[1]  # its ffmpeg died: 4.8 s that no file holds
    kept = [s for s in segments if s != lost]
    asked = (t0 - 3.0, segments[-1].end + 2.0)  # pre-capture before the first file, post-capture after the last
    with caplog.at_level(logging.WARNING, logger="frigate_like.record.clips"):
        cut = writer.cut_clip(kept, *asked, tmp_path / "holed.mp4", event=(t0 + 1.0, segments[-1].end - 0.5))
    assert cut is not None
    assert cut.gaps == ((round(lost.start, 3), round(lost.end, 3)),)  # pre and post capture missing is no hole
    # footage missing from the event itself is: it started before the first file, ended after the last
    early = writer.cut_clip(kept, *asked, tmp_path / "early.mp4", event=(t0 - 2.5, segments[-1].end + 1.5))
    assert early is not None
    assert early.gaps == (
        (round(t0 - 2.5, 3), round(t0, 3)),
        (round(lost.start, 3), round(lost.end, 3)),
        (round(segments[-1].end, 3), round(segments[-1].end + 1.5, 3)),
    )
    assert [r.getMessage() for r in caplog.records if "has a gap" in r.getMessage()][:1] == [
        f"clip holed.mp4 has a gap: 4.8 s of footage missing from {lost.start:.3f} to {lost.end:.3f} "
        "(its ffmpeg stopped or restarted)"
    ]
    # the clip holds the footage that exists and nothing in place of the hole
    kept_seconds = sum(s.duration for s in kept)
    assert float(probe(tmp_path / "holed.mp4")["format"]["duration"]) == pytest.approx(kept_seconds, abs=0.3)


def test_clip_inside_one_segment(segments: list[Segment], tmp_path: Path) -> None:
    second = segments[1]
    out = tmp_path / "inner.mp4"
    assert ClipWriter(find_ffmpeg()).cut_clip(segments, second.start + 0.5, second.start + 3.5, out)
    duration = float(probe(out)["format"]["duration"])
    assert 3.0 <= duration <= 3.0 + GOP_S + 0.1


def without_box(data: bytes, kind: bytes) -> bytes:
    """The mp4 ``data`` with its top-level ``kind`` box cut out."""
    offset = 0
    while offset < len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        if data[offset + 4 : offset + 8] == kind:
            return data[:offset] + data[offset + size :]
        offset += size
    raise AssertionError(f"no {kind!r} box")


def test_only_a_playable_clip_of_the_expected_length_passes(segments: list[Segment], tmp_path: Path) -> None:
    t0 = segments[0].start
    good = tmp_path / "good.mp4"
    assert ClipWriter(find_ffmpeg()).cut_clip(segments, t0 + 1, t0 + 12, good)
    expected = footage_seconds(segments, t0 + 1, t0 + 12)
    assert expected == pytest.approx(11.0)
    assert unplayable(good, expected, ffprobe()) is None
    assert unplayable(good, expected, None) is None  # without ffprobe its boxes are checked
    data = good.read_bytes()

    truncated = tmp_path / "truncated"  # the disk filled up while the index was moved to the front
    truncated.write_bytes(data[: len(data) // 2])
    assert "box is cut short" in str(unplayable(truncated, expected, ffprobe()))
    no_moov = tmp_path / "no-moov"  # the trailer was never written, and ffmpeg exited 0 all the same
    no_moov.write_bytes(without_box(data, b"moov"))
    for probe_bin in (ffprobe(), None):
        assert "no moov box" in str(unplayable(no_moov, expected, probe_bin))
    # whole, but not the footage asked for (e.g. a segment that lost most of its frames)
    assert "lasts" in str(unplayable(good, expected + 30, ffprobe()))
    assert "cannot be read" in str(unplayable(tmp_path / "missing", expected, ffprobe()))


def test_a_clip_ffmpeg_left_without_moov_is_refused_though_it_exited_0(
    segments: list[Segment], tmp_path: Path
) -> None:
    """Debian's ffmpeg 5.1 exits 0 when the disk is full at its trailer: what it wrote is checked."""
    fake = tmp_path / "ffmpeg"  # writes ftyp and an open-ended mdat, no moov, and says all went well
    fake.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "open(sys.argv[-1], 'wb').write(b'\\0\\0\\0\\x10ftypisom\\0\\0\\2\\0' + b'\\0\\0\\0\\0mdat' + bytes(4000))\n"
    )
    fake.chmod(0o755)
    out_dir = tmp_path / "clips"
    out_dir.mkdir()
    t0 = segments[0].start
    assert ClipWriter(str(fake)).cut_clip(segments, t0 + 1, t0 + 12, out_dir / "x.mp4") is None
    assert list(out_dir.iterdir()) == [], "neither the clip nor its temp file is left"


def test_concat_script_trims_first_and_last_file() -> None:
    parts = [Segment(Path("/c/a.mp4"), 100.0, 110.0), Segment(Path("/c/it's.mp4"), 110.0, 115.0)]
    assert concat_script(parts, 103.0, 112.0) == (
        "ffconcat version 1.0\n"
        "file '/c/a.mp4'\ninpoint 3.000000\n"
        "file '/c/it'\\''s.mp4'\noutpoint 2.000000\n"
    )
    assert concat_script(parts[:1], 100.0, 110.0) == "ffconcat version 1.0\nfile '/c/a.mp4'\n"


def test_no_clip_without_overlapping_footage(segments: list[Segment], tmp_path: Path) -> None:
    out_dir = tmp_path / "clips"
    out_dir.mkdir()
    out = out_dir / "none.mp4"
    assert not ClipWriter(find_ffmpeg()).cut_clip(segments, segments[-1].end + 100, segments[-1].end + 110, out)
    assert not ClipWriter(find_ffmpeg()).cut_clip([], 0.0, 10.0, out)
    assert list(out_dir.iterdir()) == []


def test_unwritable_destination_leaves_nothing(segments: list[Segment], tmp_path: Path) -> None:
    not_a_folder = tmp_path / "clips"
    not_a_folder.write_text("a file where the clips folder should be")
    t0 = segments[0].start
    assert not ClipWriter(find_ffmpeg()).cut_clip(segments, t0 + 1, t0 + 5, not_a_folder / "x.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "clips"]


def test_failed_ffmpeg_leaves_no_partial_clip(segments: list[Segment], tmp_path: Path) -> None:
    damaged = segments[0].path
    damaged.write_bytes(damaged.read_bytes()[:50_000])  # like a segment whose ffmpeg was killed
    out_dir = tmp_path / "clips"
    out_dir.mkdir()
    t0 = segments[0].start
    assert not ClipWriter(find_ffmpeg()).cut_clip(segments, t0 + 1, t0 + 12, out_dir / "x.mp4")
    assert list(out_dir.iterdir()) == []


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_cache(cache_dir: Path, clock: Clock, **cfg: int) -> ClipCache:
    return ClipCache(cache_dir, "front", ClipsCfg(**cfg), find_ffmpeg(), segment_time=SEGMENT_TIME, clock=clock)


def names(paths: list[Path]) -> list[str]:
    return sorted(p.name for p in paths)


def test_maintain_keeps_held_footage_and_recent_footage(segments: list[Segment], cache_dir: Path) -> None:
    clock = Clock(segments[-1].end + 1)
    cache = make_cache(cache_dir, clock)
    assert cache.maintain() == [], "the last pre_capture + margin seconds stay"
    clock.now = segments[-1].end + 60
    cache.hold("e1", segments[2].start + 1)
    deleted = cache.maintain()
    assert names(deleted) == names([segments[0].path, segments[1].path])
    assert [s.path for s in cache.segments()] == [segments[2].path, segments[3].path]
    cache.release("e1")
    assert names(cache.maintain()) == names([segments[2].path, segments[3].path])
    assert cache.segments() == []


def test_maintain_enforces_max_seconds_even_when_held(
    segments: list[Segment], cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(segments[-1].end + 1)
    cache = make_cache(cache_dir, clock, max_seconds=10)
    cache.hold("long", segments[0].start)
    with caplog.at_level(logging.WARNING, logger="frigate_like.record.clips"):
        deleted = cache.maintain()
        cache.maintain()
    assert deleted == [segments[0].path]
    warnings = [r for r in caplog.records if "max_seconds" in r.getMessage()]
    assert len(warnings) == 1 and "long" in warnings[0].getMessage()


def test_maintain_deletes_broken_orphans(segments: list[Segment], cache_dir: Path) -> None:
    folder = cache_dir / "front" / "clips"
    name_time = segment_name_time(segments[-1].path.name)
    assert name_time is not None
    orphan = folder / (datetime.fromtimestamp(name_time + 30, UTC).strftime("%Y%m%d%H%M%S") + ".mp4")
    orphan.write_bytes(b"\0" * 4096)
    clock = Clock(name_time + 1000)
    cache = make_cache(cache_dir, clock, max_seconds=100_000)
    cache.hold("e1", segments[0].start)
    assert cache.maintain() == [orphan]


def test_clip_ready_and_make_clip(segments: list[Segment], cache_dir: Path, tmp_path: Path) -> None:
    cache = make_cache(cache_dir, Clock(segments[-1].end + 1))
    assert cache.clip_ready(segments[-1].end)
    assert not cache.clip_ready(segments[-1].end + 0.5)
    out = tmp_path / "event.mp4"
    assert cache.make_clip(segments[0].start + 1, segments[1].start + 2, out)
    assert out.stat().st_size > 0
    empty = ClipCache(tmp_path / "empty", "front", ClipsCfg(), find_ffmpeg())
    assert not empty.clip_ready(0.0)
    assert not empty.make_clip(0.0, 10.0, tmp_path / "nothing.mp4")


def test_partials_of_a_crash_are_removed_at_start_up(tmp_path: Path) -> None:
    (tmp_path / ".front-1.mp4.4242.partial").write_bytes(b"half a clip")
    (tmp_path / "front-2.mp4").write_bytes(b"a finished clip")
    assert [p.name for p in remove_partial_clips(tmp_path)] == [".front-1.mp4.4242.partial"]
    assert [p.name for p in tmp_path.iterdir()] == ["front-2.mp4"]
