"""Retention on a real SQLite file and real files, with an injected clock and a fake disk (no sleeping for days)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import peewee as pw
import pytest

from frigate_like.db import queries
from frigate_like.db import recordings as rows
from frigate_like.db.database import close_database
from frigate_like.record.maintainer import recording_path
from frigate_like.record.retention import MB, ClipWindow, Retention
from tests.record_support import open_test_db

NOW = 1_790_000_000.0
DAY = 86400.0
SEGMENT = 60.0
SIZE = 1 * MB


@pytest.fixture
def db(tmp_path: Path) -> Iterator[pw.Database]:
    database = open_test_db(tmp_path)
    yield database
    close_database(database)


class FakeDisk:
    """A disk of ``capacity`` bytes holding only the recordings folder: free = capacity - its files."""

    def __init__(self, folder: Path, capacity: int) -> None:
        self.folder, self.capacity = folder, capacity

    def __call__(self, path: Path) -> int:
        return self.capacity - sum(f.stat().st_size for f in self.folder.rglob("*.mp4"))


def record(folder: Path, camera: str, start: float, size: int = SIZE) -> Path:
    path = recording_path(folder, camera, start)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    rows.add_recording(camera, str(path), start, start + SEGMENT, size)
    return path


def retention(folder: Path, **kwargs: object) -> Retention:
    settings: dict[str, object] = {
        "retain_days": {"front": 1, "back": 3},
        "default_retain_days": 10,
        "min_free_mb": 0,
        "clip_windows": {"front": ClipWindow(pre_capture=5, max_seconds=300)},
        "clock": lambda: NOW,
        **kwargs,
    }
    return Retention(rows, folder, **settings)  # type: ignore[arg-type]


def test_recordings_past_each_cameras_retain_days_go(
    tmp_path: Path, db: pw.Database, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "recordings"
    old_front = record(folder, "front", NOW - 2 * DAY)
    new_front = record(folder, "front", NOW - 0.5 * DAY)
    kept_back = record(folder, "back", NOW - 2 * DAY)  # back keeps 3 days
    old_back = record(folder, "back", NOW - 4 * DAY)
    gone_cam = record(folder, "removed", NOW - 11 * DAY)  # no longer configured: the global 10 days
    kept_gone_cam = record(folder, "removed", NOW - 9 * DAY)
    caplog.set_level(logging.INFO, logger="frigate_like.record.retention")
    deleted = retention(folder).run()
    assert sorted(Path(r["path"]) for r in deleted) == sorted([old_front, old_back, gone_cam])
    for path in (old_front, old_back, gone_cam):
        assert not path.exists()
        assert not path.parent.exists(), "an emptied <day>/<hour>/<camera> folder goes too"
    for path in (new_front, kept_back, kept_gone_cam):
        assert path.exists()
    assert {r["path"] for r in rows.oldest(limit=100)} == {str(new_front), str(kept_back), str(kept_gone_cam)}
    assert folder.is_dir()
    assert any("deleted 1 recording(s) of front older than 1 day(s)" in r.getMessage() for r in caplog.records)


def test_low_disk_deletes_the_oldest_of_any_camera_first(
    tmp_path: Path, db: pw.Database, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "recordings"
    paths = [record(folder, "front" if i % 2 else "back", NOW - 3600 + i * SEGMENT) for i in range(10)]
    disk = FakeDisk(folder, capacity=12 * SIZE)  # 2 MB free with 10 MB recorded
    keeper = retention(folder, min_free_mb=4, free_bytes=disk, retain_days={}, default_retain_days=30)
    deleted = keeper.run()
    # 4 MB floor, freed up to 4.4 MB: the three oldest go (2 + 3 = 5 MB free)
    assert [Path(r["path"]) for r in deleted] == paths[:3]
    assert all(not p.exists() for p in paths[:3]) and all(p.exists() for p in paths[3:])
    assert disk(folder) == 5 * SIZE
    (line,) = [r.getMessage() for r in caplog.records if "low disk space" in r.getMessage()]
    assert "2 MB free" in line and "record.min_free_mb (4 MB)" in line and "the 3 oldest recording(s)" in line
    assert "back, front" in line
    assert keeper.run() == [], "above the floor: nothing more goes"


def test_footage_an_unfinished_event_needs_is_never_deleted(
    tmp_path: Path, db: pw.Database, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "recordings"
    paths = [record(folder, "front", NOW - 600 + i * SEGMENT) for i in range(10)]  # the last 10 minutes
    queries.create_event("front", "person", NOW - 200)  # live: no end_time yet
    disk = FakeDisk(folder, capacity=10 * SIZE)  # no space left at all
    keeper = retention(folder, retain_days={"front": 0}, min_free_mb=8, free_bytes=disk)
    deleted = keeper.run()
    # retain_days 0 and a full disk, yet footage from 5 s before the event (- a 30 s margin) stays
    held_from = NOW - 200 - 5 - 30
    assert len(deleted) == 6 and all(r["end_time"] <= held_from for r in deleted)
    kept = [p for i, p in enumerate(paths) if NOW - 600 + (i + 1) * SEGMENT > held_from]
    assert len(kept) == 4 and all(p.exists() for p in kept)
    assert any("no recording can be deleted" in r.getMessage() for r in caplog.records)


def test_an_event_left_open_by_a_crash_pins_no_more_than_a_clip(tmp_path: Path, db: pw.Database) -> None:
    folder = tmp_path / "recordings"
    old = record(folder, "front", NOW - 3 * DAY)
    queries.create_event("front", "person", NOW - 3 * DAY + 10)  # never ended: the daemon crashed
    assert [Path(r["path"]) for r in retention(folder).run()] == [old]
