"""SegmentIndex on real segments from ffmpeg's segment muxer (csv lists, no probing)."""

from __future__ import annotations

import csv
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from frigate_like.record import segments as segments_module
from frigate_like.record.segments import Segment, SegmentIndex, segment_name_time
from tests.segment_footage import SEGMENT_TIME, copy_cache, ffprobe, start_segmenter, write_segments

LIVE_SECONDS = 20
# car-detection.mp4 has a key frame every 4.8 s; segments split at the first one past each 5 s.
EXPECTED_DURATIONS = [9.6, 4.8, 4.8, 0.8]
LATER = 1000.0  # clock offset that makes every file stale


@dataclass
class LiveRun:
    launched: float
    cache_dir: Path
    folder: Path
    observed: list[tuple[list[Segment], Path | None]]
    final: list[Segment]


@pytest.fixture(scope="module")
def live_run(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> LiveRun:
    """ffmpeg paced like a camera (-re) for 20 s, the index refreshed twice a second meanwhile."""
    cache_dir = tmp_path_factory.mktemp("live")
    folder = cache_dir / "front" / "clips"
    index = SegmentIndex(cache_dir, "front", "clips", segment_time=SEGMENT_TIME)
    launched = time.time()
    process = start_segmenter(shared_dir / "media" / "car-detection.mp4", folder, seconds=LIVE_SECONDS,
                              read_rate=1)
    observed: list[tuple[list[Segment], Path | None]] = []
    try:
        while process.poll() is None:
            observed.append((index.refresh(), index.in_progress))
            time.sleep(0.5)
    finally:
        if process.poll() is None:
            process.kill()
        _, stderr = process.communicate(timeout=10)  # also closes the stderr pipe
    assert process.returncode == 0, stderr.decode(errors="replace")
    return LiveRun(launched, cache_dir, folder, observed, index.refresh())


def csv_rows(folder: Path) -> list[list[str]]:
    (listing,) = folder.glob("segments-*.csv")
    with listing.open() as handle:
        return list(csv.reader(handle))


def private_copy(live_run: LiveRun, tmp_path: Path) -> tuple[Path, Path]:
    folder = copy_cache(live_run.folder, tmp_path / "cache" / "front" / "clips")
    return tmp_path / "cache", folder


def stale_clock() -> float:
    return time.time() + LATER


def test_live_segments_are_contiguous_and_on_the_wall_clock(live_run: LiveRun) -> None:
    final = live_run.final
    assert [round(s.duration, 2) for s in final] == EXPECTED_DURATIONS
    for before, after in zip(final, final[1:], strict=False):
        assert after.start == pytest.approx(before.end, abs=1e-6)
    # ffmpeg opened the first segment right after starting; the estimate is at most ~1 s late.
    assert live_run.launched - 0.5 <= final[0].start <= live_run.launched + 2.5
    for segment in final:
        name_time = segment_name_time(segment.path.name)
        assert name_time is not None
        assert name_time - 1.0 <= segment.start <= name_time + 1.0 + 1e-6
    assert [s.path.name for s in final] == [row[0] for row in csv_rows(live_run.folder)]


def test_live_index_grows_while_ffmpeg_writes(live_run: LiveRun) -> None:
    counts = [len(listed) for listed, _ in live_run.observed]
    assert counts == sorted(counts), "segments never disappear while ffmpeg runs"
    assert any(0 < count < len(EXPECTED_DURATIONS) for count in counts), "incremental reads seen"
    in_progress = [(listed, current) for listed, current in live_run.observed if current is not None]
    assert in_progress, "the segment being written is reported as in progress"
    for listed, current in in_progress:
        assert current not in {s.path for s in listed}, "an unfinished segment is never listed"
    first_seen = {s.path: s.start for listed, _ in live_run.observed for s in reversed(listed)}
    for segment in live_run.final:
        if segment.path in first_seen:
            assert abs(first_seen[segment.path] - segment.start) < 1.0


def test_faster_than_real_time_input_keeps_one_origin(tmp_path: Path, shared_dir: Path) -> None:
    """Without -re ffmpeg opens every segment within a second or two: names repeat and the
    later file overwrites the earlier. The survivors get csv-offset times from one origin."""
    folder = tmp_path / "front" / "clips"
    write_segments(shared_dir / "media" / "car-detection.mp4", folder, seconds=LIVE_SECONDS, read_rate=None)
    listed = SegmentIndex(tmp_path, "front", "clips", segment_time=SEGMENT_TIME).refresh()
    last_rows = {row[0]: (float(row[1]), float(row[2])) for row in csv_rows(folder)}
    assert sorted(s.path.name for s in listed) == sorted(p.name for p in folder.glob("*.mp4"))
    assert len(listed) == len(last_rows)
    origins = set()
    for segment in listed:
        start, end = last_rows[segment.path.name]
        assert segment.duration == pytest.approx(end - start, abs=1e-6)
        origins.add(round(segment.start - start, 6))
    assert len(origins) == 1
    assert listed[-1].duration == pytest.approx(0.8, abs=0.01)


def test_vanished_files_are_dropped(live_run: LiveRun, tmp_path: Path) -> None:
    cache_dir, folder = private_copy(live_run, tmp_path)
    index = SegmentIndex(cache_dir, "front", "clips", segment_time=SEGMENT_TIME, clock=stale_clock)
    before = index.refresh()
    before[1].path.unlink()
    after = index.refresh()
    assert [s.path.name for s in after] == [s.path.name for i, s in enumerate(before) if i != 1]
    assert [s.start for s in after] == [s.start for i, s in enumerate(before) if i != 1]


def test_truncated_or_replaced_list_is_read_again(live_run: LiveRun, tmp_path: Path) -> None:
    cache_dir, folder = private_copy(live_run, tmp_path)
    (listing,) = folder.glob("segments-*.csv")
    lines = listing.read_text().splitlines(keepends=True)
    index = SegmentIndex(cache_dir, "front", "clips", segment_time=SEGMENT_TIME, clock=stale_clock)
    assert len(index.refresh()) == 4
    with listing.open("r+") as handle:  # truncated in place
        handle.truncate(len("".join(lines[:2])))
    assert len(index.refresh()) == 2
    assert len(index.broken) == 2, "listed no more, unreadable without ffprobe: broken"
    replacement = folder / "new.tmp"
    replacement.write_text("".join(lines))
    replacement.replace(listing)  # a new file under the same name
    assert len(index.refresh()) == 4
    assert index.broken == []


def test_a_line_is_used_only_once_complete(live_run: LiveRun, tmp_path: Path) -> None:
    cache_dir, folder = private_copy(live_run, tmp_path)
    (listing,) = folder.glob("segments-*.csv")
    lines = listing.read_text().splitlines(keepends=True)
    listing.write_text(lines[0] + lines[1].rstrip("\n"))
    index = SegmentIndex(cache_dir, "front", "clips", segment_time=SEGMENT_TIME)
    assert len(index.refresh()) == 1
    with listing.open("a") as handle:
        handle.write("\n")
    assert len(index.refresh()) == 2


def test_orphans_in_progress_salvaged_or_broken(
    live_run: LiveRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir, folder = private_copy(live_run, tmp_path)
    finished = sorted(folder.glob("2*.mp4"))
    last_time = segment_name_time(finished[-1].name)
    assert last_time is not None

    def name_at(offset: float) -> str:
        return datetime.fromtimestamp(last_time + offset, UTC).strftime("%Y%m%d%H%M%S") + ".mp4"

    killed = folder / name_at(30)  # a killed ffmpeg's last segment: mp4 without its index
    killed.write_bytes(finished[1].read_bytes()[:100_000])
    unlisted = folder / name_at(40)  # complete, but ffmpeg died before listing it
    shutil.copyfile(finished[1], unlisted)
    probes: list[Path] = []
    real_probe = segments_module.probe_duration

    def counting_probe(binary: str | None, path: Path) -> float | None:
        probes.append(path)
        return real_probe(binary, path)

    monkeypatch.setattr(segments_module, "probe_duration", counting_probe)
    now = [time.time()]
    index = SegmentIndex(cache_dir, "front", "clips", segment_time=SEGMENT_TIME, ffprobe_bin=ffprobe(),
                         clock=lambda: now[0])
    listed = index.refresh()
    # The newest unlisted file, named in the future of `now`, may still be written to.
    assert index.in_progress == unlisted and index.broken == [killed]
    assert unlisted not in {s.path for s in listed}
    now[0] += LATER
    listed = index.refresh()
    index.refresh()
    assert index.in_progress is None and index.broken == [killed]
    salvaged = [s for s in listed if s.path == unlisted]
    assert len(salvaged) == 1 and salvaged[0].start == segment_name_time(unlisted.name)
    assert salvaged[0].duration == pytest.approx(4.8, abs=0.05)
    assert sorted(probes) == sorted([killed, unlisted]), "each orphan is probed once"


def test_a_killed_runs_orphan_starts_where_its_run_left_off(live_run: LiveRun, tmp_path: Path) -> None:
    """The segment a killed ffmpeg was writing follows the last one its run listed, not its name's whole second."""
    cache_dir, folder = private_copy(live_run, tmp_path)
    index = SegmentIndex(cache_dir, "front", "clips", segment_time=SEGMENT_TIME, ffprobe_bin=ffprobe(),
                         clock=stale_clock)  # fmt: skip
    last = index.refresh()[-1]
    last_name = segment_name_time(last.path.name)
    assert last_name is not None
    opened = max(int(last.end), int(last_name) + 1)  # the second ffmpeg opened its next file
    orphan = folder / (datetime.fromtimestamp(opened, UTC).strftime("%Y%m%d%H%M%S") + ".mp4")
    shutil.copyfile(last.path, orphan)
    [salvaged] = [s for s in index.refresh() if s.path == orphan]
    assert salvaged.start == last.end and salvaged.duration == pytest.approx(last.duration, abs=0.05)


def test_ffmpeg_restart_orphans_the_old_runs_last_file(live_run: LiveRun, tmp_path: Path) -> None:
    cache_dir, folder = private_copy(live_run, tmp_path)
    last_time = segment_name_time(sorted(folder.glob("2*.mp4"))[-1].name)
    assert last_time is not None
    old = folder / (datetime.fromtimestamp(last_time + 10, UTC).strftime("%Y%m%d%H%M%S") + ".mp4")
    new = folder / (datetime.fromtimestamp(last_time + 12, UTC).strftime("%Y%m%d%H%M%S") + ".mp4")
    old.write_bytes(b"\0" * 1000)
    new.write_bytes(b"\0" * 1000)
    (folder / "segments-99999999999999.csv").write_text("")  # the new run's list, empty so far
    index = SegmentIndex(cache_dir, "front", "clips", segment_time=SEGMENT_TIME)
    assert len(index.refresh()) == 4
    assert index.in_progress == new
    assert index.broken == [old]


def test_restart_before_the_new_runs_first_segment(live_run: LiveRun, tmp_path: Path) -> None:
    cache_dir, folder = private_copy(live_run, tmp_path)
    now = time.time()
    # Named after every segment of the live run (a name taken from the clock alone could collide with one).
    last_time = segment_name_time(sorted(folder.glob("2*.mp4"))[-1].name)
    assert last_time is not None
    old = folder / (datetime.fromtimestamp(last_time + SEGMENT_TIME + 1, UTC).strftime("%Y%m%d%H%M%S") + ".mp4")
    old.write_bytes(b"\0" * 1000)
    os.utime(old, (now - 3, now - 3))  # written until ffmpeg was killed 3 s ago
    new_list = folder / "segments-99999999999999.csv"
    new_list.write_text("")  # the new ffmpeg started and is still probing the stream
    os.utime(new_list, (now, now))
    index = SegmentIndex(cache_dir, "front", "clips", segment_time=SEGMENT_TIME, clock=lambda: now)
    index.refresh()
    assert index.in_progress is None and index.broken == [old]


def test_spent_lists_are_deleted_but_not_the_active_one(live_run: LiveRun, tmp_path: Path) -> None:
    cache_dir, folder = private_copy(live_run, tmp_path)
    spent = folder / "segments-1.csv"
    spent.write_text("20000101000000.mp4,0.000000,10.000000\n")
    os.utime(spent, (946_684_800, 946_684_800))
    index = SegmentIndex(cache_dir, "front", "clips", segment_time=SEGMENT_TIME, clock=stale_clock)
    assert len(index.refresh()) == 4
    assert not spent.exists()
    for segment in folder.glob("*.mp4"):
        segment.unlink()
    assert index.refresh() == []
    assert len(list(folder.glob("segments-*.csv"))) == 1, "the active run's list stays"


def test_long_runs_forget_deleted_segments(tmp_path: Path) -> None:
    """A week-long ffmpeg run lists ~60k segments; only those still cached are kept in memory."""
    folder = tmp_path / "front" / "clips"
    folder.mkdir(parents=True)
    start = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    names = [datetime.fromtimestamp(start + 10 * k, UTC).strftime("%Y%m%d%H%M%S") + ".mp4" for k in range(10_000)]
    rows = [f"{name},{10 * k:.6f},{10 * k + 10:.6f}\n" for k, name in enumerate(names)]
    (folder / "segments-1.csv").write_text("".join(rows))
    for name in names[-3:]:
        (folder / name).write_bytes(b"listed segments are never opened")
    index = SegmentIndex(tmp_path, "front", "clips", clock=stale_clock)
    listed = index.refresh()
    assert [s.path.name for s in listed] == names[-3:]
    # Files opened exactly on the second: the estimate is the bound, 1 s late at most.
    assert listed[0].start == start + 10 * 9_997 + 1 and listed[-1].end == start + 100_000 + 1
    assert sum(len(state.entries) for state in index._lists.values()) <= 3 + segments_module.ORIGIN_WINDOW
    assert [s.start for s in index.refresh()] == [s.start for s in listed]


def test_missing_folder_is_empty(tmp_path: Path) -> None:
    index = SegmentIndex(tmp_path, "nobody", "clips")
    assert index.refresh() == []
    assert index.in_progress is None and index.broken == []


def test_segment_name_time() -> None:
    assert segment_name_time("20201204233915.mp4") == datetime(2020, 12, 4, 23, 39, 15, tzinfo=UTC).timestamp()
    assert segment_name_time("20201304233915.mp4") is None
    assert segment_name_time("clip.mp4") is None
    assert segment_name_time("20201204233915.mp4.partial") is None
