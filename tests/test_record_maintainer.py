"""The 24/7 maintainer on real record segments (audio kept) and on cache runs laid out as ffmpeg leaves them."""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee as pw
import pytest

from frigate_like.cameras.subscribers import RecorderSubscriber, StatsSubscriber
from frigate_like.db import recordings as rows
from frigate_like.db.database import close_database
from frigate_like.db.reconnect import DatabaseUnavailable
from frigate_like.record.maintainer import RecordCamera, RecordingMaintainer, recording_path
from frigate_like.record.retention import Retention
from frigate_like.stats import StatsCollector
from frigate_like.video.binaries import find_ffmpeg
from tests.record_support import car_record_cache, decodes_cleanly, fake_run, open_test_db, run_name, streams
from tests.registry_support import PlainRuntimes, record_camera, registry_with
from tests.segment_footage import copy_cache

PATTERN = re.compile(r"/recordings/\d{4}-\d\d/\d\d/\d\d/car/\d\d\.\d\d(\.\d+)?\.mp4$")  # Frigate 0.8's layout
T0 = 1_790_000_000.0  # a fixed "now" for the runs laid out by hand


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    return car_record_cache(tmp_path_factory.mktemp("cache"), shared_dir)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[pw.Database]:
    database = open_test_db(tmp_path)
    yield database
    close_database(database)


def maintainer(cache: Path, media: Path, clock: float | None = None, segment_time: float = 5.0) -> RecordingMaintainer:
    """A maintainer that gets its camera "car" through the registry, as in the daemon."""
    kwargs = {} if clock is None else {"clock": lambda: clock}
    keeper = RecordingMaintainer(cache, media / "recordings", rows, threading.Event(), **kwargs)  # type: ignore[arg-type]
    registry_with([RecorderSubscriber(keeper)], [record_camera("car", segment_time)])
    return keeper


def test_finished_segments_move_to_dated_folders_with_a_row_each(
    real_cache: Path, tmp_path: Path, db: pw.Database
) -> None:
    cache = copy_cache(real_cache, tmp_path / "cache")
    keeper = maintainer(cache, tmp_path / "media")
    assert keeper.run_once() == 4
    assert keeper.run_once() == 0
    recorded = rows.recordings("car")
    assert len(recorded) == 4
    assert not list((cache / "car" / "record").glob("*.mp4")), "every finished segment left the cache"
    for row in recorded:
        path = Path(row["path"])
        assert PATTERN.search(str(path)) and path.is_file()
        assert path == recording_path(tmp_path / "media" / "recordings", "car", row["start_time"])
        assert row["size_bytes"] == path.stat().st_size
        assert row["duration"] == pytest.approx(row["end_time"] - row["start_time"])
    for before, after in zip(recorded, recorded[1:], strict=False):
        assert abs(after["start_time"] - before["end_time"]) < 1.0, "consecutive segments are contiguous"
    first = Path(recorded[0]["path"])
    assert streams(first) == {"video": "h264", "audio": "aac"}, "the camera's audio is kept"
    assert decodes_cleanly(first, find_ffmpeg())
    stats = keeper.stats()["car"]["record"]
    assert (stats["moved"], stats["backlog"], stats["restarts"], stats["gaps"]) == (4, 0, 0, 0)
    assert stats["last_segment_end"] == pytest.approx(recorded[-1]["end_time"])


def test_a_tmpfs_cache_moves_across_file_systems(real_cache: Path, tmp_path: Path, db: pw.Database) -> None:
    shm = Path(tempfile.mkdtemp(prefix="fl-test-", dir="/dev/shm"))
    try:
        cache = copy_cache(real_cache, shm / "cache")
        keeper = maintainer(cache, tmp_path / "media")
        assert keeper.run_once() == 4
        recorded = rows.recordings("car")
        assert [Path(r["path"]).stat().st_size for r in recorded] == [r["size_bytes"] for r in recorded]
        assert not list(tmp_path.rglob(".*.partial"))
    finally:
        shutil.rmtree(shm)


def test_restarts_and_gaps_are_counted_and_logged(
    tmp_path: Path, db: pw.Database, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "cache" / "car" / "record"
    fake_run(folder, run_name(T0 - 3600), T0 - 3600, [10.0])  # an earlier daemon's run: not a restart
    keeper = maintainer(tmp_path / "cache", tmp_path / "media", clock=T0)
    fake_run(folder, run_name(T0 + 1), T0 + 1, [10.0, 10.0])
    caplog.set_level(logging.INFO, logger="frigate_like.record")
    assert keeper.run_once() == 3
    stats = keeper.stats()["car"]["record"]
    assert (stats["restarts"], stats["gaps"]) == (0, 1)  # the hour since the earlier daemon's footage
    first_gap = stats["gap_seconds"]
    assert 3589.0 < first_gap < 3592.0
    fake_run(folder, run_name(T0 + 30, 1), T0 + 30, [10.0])
    assert keeper.run_once() == 1
    stats = keeper.stats()["car"]["record"]
    assert (stats["restarts"], stats["gaps"]) == (1, 2)
    assert 8.0 < stats["gap_seconds"] - first_gap < 10.0  # 21 s of footage, then nothing until 30 s
    messages = [r.getMessage() for r in caplog.records]
    assert any("record ffmpeg of car restarted" in m for m in messages)
    assert sum("recording gap on car" in m for m in messages) == 2


def test_a_move_that_fails_stays_in_the_backlog_and_is_retried(
    tmp_path: Path, db: pw.Database, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "cache" / "car" / "record"
    fake_run(folder, run_name(T0), T0, [10.0] * 4)
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "recordings").write_text("not a folder")  # every move fails
    keeper = maintainer(tmp_path / "cache", tmp_path / "media", clock=T0 + 60)
    assert keeper.run_once() == 0
    stats = keeper.stats()["car"]["record"]
    assert (stats["backlog"], stats["failures"]) == (4, 1)
    assert rows.recordings("car") == [], "no row for a file that did not move"
    messages = [r.getMessage() for r in caplog.records]
    assert any("recordings of car are behind: 4 finished segment(s) waiting" in m for m in messages)
    assert any("cannot move" in m for m in messages)
    (tmp_path / "media" / "recordings").unlink()
    assert keeper.run_once() == 4
    assert keeper.stats()["car"]["record"]["backlog"] == 0
    assert len(rows.recordings("car")) == 4


def test_two_segments_in_one_second_do_not_overwrite_each_other(tmp_path: Path, db: pw.Database) -> None:
    fake_run(tmp_path / "cache" / "car" / "record", run_name(T0), T0, [10.0])
    taken = recording_path(tmp_path / "media" / "recordings", "car", T0 + 1)  # the estimated start
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"another segment")
    assert maintainer(tmp_path / "cache", tmp_path / "media", clock=T0).run_once() == 1
    (row,) = rows.recordings("car")
    assert row["path"] == str(taken.with_name(f"{taken.stem}.1.mp4"))
    assert taken.read_bytes() == b"another segment"


def test_a_row_written_before_a_crash_is_reused(tmp_path: Path, db: pw.Database) -> None:
    fake_run(tmp_path / "cache" / "car" / "record", run_name(T0), T0, [10.0])
    target = recording_path(tmp_path / "media" / "recordings", "car", T0 + 1)
    rows.add_recording("car", str(target), T0 + 1, T0 + 11, 1)  # the row went in, then the daemon died
    assert maintainer(tmp_path / "cache", tmp_path / "media", clock=T0).run_once() == 1
    (row,) = rows.recordings("car")
    assert (row["path"], row["size_bytes"]) == (str(target), 1000) and target.is_file()


def test_the_last_pass_runs_after_stop(tmp_path: Path, db: pw.Database) -> None:
    fake_run(tmp_path / "cache" / "car" / "record", run_name(T0), T0, [10.0, 10.0])
    stop = threading.Event()
    keeper = RecordingMaintainer(tmp_path / "cache", tmp_path / "media" / "recordings", rows, stop,
                                 clock=lambda: T0, interval=30.0)  # fmt: skip
    registry_with([RecorderSubscriber(keeper)], [record_camera("car", 10.0)])
    stop.set()  # the cameras have stopped: ffmpeg listed its last segments on the way out
    thread = threading.Thread(target=keeper.run)
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and len(rows.recordings("car")) == 2


def test_recording_figures_appear_in_api_stats(tmp_path: Path, db: pw.Database) -> None:
    keeper = maintainer(tmp_path / "cache", tmp_path / "media", clock=T0)
    collector = StatsCollector(lambda: {}, [tmp_path])
    collector.add_camera_section(keeper.stats)
    registry_with([StatsSubscriber(collector, PlainRuntimes())], [record_camera("car", 5.0)])
    doc = collector.stats()
    assert doc["car"]["record"]["backlog"] == 0 and "camera_fps" in doc["car"]


class _AwayStore:
    """The real recording rows behind a switch: while ``away``, every call fails as a database outage does."""

    def __init__(self) -> None:
        self.away = True

    def __getattr__(self, name: str) -> Any:
        real = getattr(rows, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.away:
                raise DatabaseUnavailable("the database is unavailable: connection refused")
            return real(*args, **kwargs)

        return call


def test_a_database_outage_keeps_segments_in_the_cache_quietly_then_they_move(
    tmp_path: Path, db: pw.Database, caplog: pytest.LogCaptureFixture
) -> None:
    fake_run(tmp_path / "cache" / "car" / "record", run_name(T0), T0, [10.0] * 3)
    store, stop = _AwayStore(), threading.Event()
    retention = Retention(store, tmp_path / "media" / "recordings", cameras={}, default_retain_days=1,
                          min_free_mb=0, clock=lambda: T0)  # type: ignore[arg-type]
    keeper = RecordingMaintainer(tmp_path / "cache", tmp_path / "media" / "recordings", store, stop,
                                 retention=retention, retention_interval=0.0, clock=lambda: T0 + 60,
                                 interval=0.05)  # type: ignore[arg-type]
    keeper.add_camera(RecordCamera("car", 10.0))  # as the registry adds it, while the database is away
    thread = threading.Thread(target=keeper.run)
    thread.start()
    try:
        stop.wait(0.5)  # several passes and retention rounds against the outage
        assert len(list((tmp_path / "cache" / "car" / "record").glob("*.mp4"))) == 3
        store.away = False
        for _ in range(100):
            if len(rows.recordings("car")) == 3:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert len(rows.recordings("car")) == 3 and keeper.stats()["car"]["record"]["backlog"] == 0
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert failures == [], [r.getMessage() for r in failures]
