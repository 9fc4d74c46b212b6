"""Event store on a temporary SQLite file and on the real PostgreSQL, with the real migrations."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import peewee as pw
import pytest

from frigate_like.db import queries, recordings
from frigate_like.db.database import backup_sqlite, close_database, open_database
from frigate_like.errors import BadRequest, Conflict, FrigateLikeError, Unavailable
from frigate_like.migrations import MIGRATIONS_DIR

REAL_MIGRATIONS = sorted(path.stem for path in MIGRATIONS_DIR.glob("[0-9]*.py"))
LATER_MIGRATION = '''"""900: a test-only table, after every real migration."""
def migrate(migrator, database, *, fake=False, **kwargs):
    migrator.sql("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)")


def rollback(migrator, database, *, fake=False, **kwargs):
    migrator.sql("DROP TABLE note")
'''


@dataclass(frozen=True)
class DbSettings:
    path: Path
    url: str | None = None


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[pw.Database]:
    if request.param == "sqlite":
        settings = DbSettings(path=tmp_path / "clips" / "frigate.db")
    else:
        url = request.getfixturevalue("pg_url")
        settings = DbSettings(path=tmp_path / "unused" / "frigate.db", url=url)
    database = open_database(settings, MIGRATIONS_DIR)
    yield database
    close_database(database)
    if request.param == "postgres":
        assert not settings.path.exists(), "the URL wins: no SQLite file"


def add(camera: str = "front", label: str = "person", start: float = 1.6e9, **fields: object) -> str:
    return queries.create_event(camera, label, start, **fields)  # type: ignore[arg-type]


def test_create_and_get_in_progress_event(db: pw.Database) -> None:
    event_id = add(zones=["yard"], top_score=0.7, thumbnail="aGVsbG8=")
    assert event_id.startswith("1600000000.0-") and len(event_id.split("-")[1]) == 6
    row = queries.get_event(event_id)
    assert row == {
        "id": event_id, "label": "person", "camera": "front", "start_time": 1_600_000_000.0, "end_time": None,
        "top_score": 0.7, "false_positive": False, "zones": ["yard"], "thumbnail": "aGVsbG8=",
        "has_clip": False, "has_snapshot": False, "clip_gaps": [],
    }
    # Frigate 0.8's columns in its order, then ours (clients that know Frigate's ignore the rest)
    assert list(row) == ["id", "label", "camera", "start_time", "end_time", "top_score", "false_positive",
                         "zones", "thumbnail", "has_clip", "has_snapshot", "clip_gaps"]
    assert queries.list_events()[0]["end_time"] is None
    assert queries.get_event("nope") is None


def test_duplicate_id_is_a_conflict(db: pw.Database) -> None:
    add(id="1.0-abcdef")
    with pytest.raises(Conflict):
        add(id="1.0-abcdef")


def test_update_and_end(db: pw.Database) -> None:
    event_id = add(id="5.0-aaaaaa", thumbnail="first")
    assert queries.update_event(event_id, top_score=0.9, zones=("porch",), thumbnail=None)
    row = queries.get_event(event_id)
    assert row is not None
    assert (row["top_score"], row["zones"], row["thumbnail"]) == (0.9, ["porch"], "first")
    assert queries.end_event(event_id, 9.5, 0.95, ["porch", "yard"], "last", has_clip=True, has_snapshot=True)
    row = queries.get_event(event_id)
    assert row is not None
    assert row["end_time"] == 9.5 and row["has_clip"] is True and row["zones"] == ["porch", "yard"]
    assert not queries.update_event("missing", top_score=1.0)
    with pytest.raises(ValueError):
        queries.update_event(event_id, camera="other")


def test_list_filters_and_order(db: pw.Database) -> None:
    base = 1_600_000_000.0
    add("front", "person", base + 1, zones=["yard"], has_clip=True)
    add("front", "car", base + 2, zones=["drive_way"], has_snapshot=True)
    add("back", "person", base + 3, zones=["yard", "porch"], has_clip=True, has_snapshot=True)
    add("back", "dog", base + 4, zones=["driveXway"])
    add("back", "cat", base + 5, false_positive=True)

    def starts(**filters: object) -> list[float]:
        return [row["start_time"] - base for row in queries.list_events(**filters)]  # type: ignore[arg-type]

    assert starts() == [4, 3, 2, 1]  # newest first, false positives hidden
    assert starts(include_false_positives=True) == [5, 4, 3, 2, 1]
    assert starts(camera="front") == [2, 1]
    assert starts(label="person") == [3, 1]
    assert starts(zone="yard") == [3, 1]
    assert starts(zone="drive_way") == [2]  # "_" is not a wildcard
    assert starts(zone="yar") == []  # whole zone names only
    assert starts(has_clip=True) == [3, 1]
    assert starts(has_clip=False) == [4, 2]
    assert starts(has_snapshot=True, has_clip=True) == [3]
    assert starts(before=base + 3) == [2, 1]
    assert starts(after=base + 2) == [4, 3]
    assert starts(after=base + 1, before=base + 4, camera="back") == [3]
    assert starts(limit=2) == [4, 3]
    assert "thumbnail" not in queries.list_events(include_thumbnails=False)[0]
    with pytest.raises(BadRequest):
        queries.list_events(limit=0)


def test_summary_groups_by_local_day(db: pw.Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Kathmandu is UTC+5:45: local midnight falls at 18:15 UTC, mid-hour.
    monkeypatch.setenv("TZ", "Asia/Kathmandu")
    time.tzset()
    try:
        midnight = 1_600_020_900.0  # 2020-09-14 00:00 +0545 = 2020-09-13 18:15 UTC
        add("front", "person", midnight - 1, zones=["yard"])
        add("front", "person", midnight - 600, zones=["yard"])
        add("front", "person", midnight, zones=["yard"])
        add("front", "person", midnight + 60, zones=["yard"], has_clip=True)
        add("back", "car", midnight + 120)
        add("back", "car", midnight + 180, false_positive=True)
        summary = queries.events_summary()
        # Oracle for the day: SQLite's own localtime conversion under the same TZ.
        oracle = sqlite3.connect(":memory:")
        day_sql = "SELECT strftime('%Y-%m-%d', ?, 'unixepoch', 'localtime')"
        days = [oracle.execute(day_sql, (t,)).fetchone()[0] for t in (midnight - 1, midnight)]
        oracle.close()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert days == ["2020-09-13", "2020-09-14"]
    assert summary == [
        {"camera": "back", "label": "car", "day": "2020-09-14", "zones": [], "count": 1,
         "has_clip": False, "has_snapshot": False},
        {"camera": "front", "label": "person", "day": "2020-09-14", "zones": ["yard"], "count": 1,
         "has_clip": False, "has_snapshot": False},
        {"camera": "front", "label": "person", "day": "2020-09-14", "zones": ["yard"], "count": 1,
         "has_clip": True, "has_snapshot": False},
        {"camera": "front", "label": "person", "day": "2020-09-13", "zones": ["yard"], "count": 2,
         "has_clip": False, "has_snapshot": False},
    ]


def test_delete_events_before_keeps_in_progress(db: pw.Database) -> None:
    add("front", "person", 10.0, end_time=20.0, id="10.0-aaaaaa")
    add("front", "car", 11.0, end_time=21.0, id="11.0-bbbbbb")
    add("back", "person", 12.0, end_time=22.0, id="12.0-cccccc")
    add("front", "person", 13.0, id="13.0-dddddd")  # in progress
    add("front", "person", 100.0, end_time=120.0, id="100.0-eeeeee")
    deleted = queries.delete_events_before(50.0, camera="front", exclude_labels=["car"])
    assert [row["id"] for row in deleted] == ["10.0-aaaaaa"]
    assert "thumbnail" not in deleted[0]
    deleted = queries.delete_events_before(50.0, labels=["car", "person"])
    assert sorted(row["id"] for row in deleted) == ["11.0-bbbbbb", "12.0-cccccc"]
    left = [row["id"] for row in queries.list_events()]
    assert left == ["100.0-eeeeee", "13.0-dddddd"]


def test_one_writer_many_reader_threads(db: pw.Database) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                queries.list_events(limit=50)
                queries.events_summary()
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            errors.append(exc)
        finally:
            db.close()

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for thread in readers:
        thread.start()

    def writer() -> None:
        try:
            for i in range(40):
                event_id = add(start=1000.0 + i)
                queries.update_event(event_id, top_score=0.5, end_time=1001.0 + i)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            db.close()

    write_thread = threading.Thread(target=writer)
    write_thread.start()
    write_thread.join(timeout=60)
    stop.set()
    for thread in readers:
        thread.join(timeout=10)
    assert not errors
    assert len(queries.list_events(limit=None)) == 40


def test_migrations_applied_with_indexes(db: pw.Database) -> None:
    names = [row[0] for row in db.execute_sql("SELECT name FROM migratehistory").fetchall()]
    assert names == REAL_MIGRATIONS and names[0] == "001_initial"
    indexes = {index.name for index in db.get_indexes("event")}
    assert {
        "event_start_time",
        "event_camera_start_time",
        "event_label_start_time",
        "event_camera_label_start_time",
    } <= indexes
    indexes = {index.name for index in db.get_indexes("recordings")}
    assert {"recordings_camera_start_time", "recordings_start_time"} <= indexes


def test_backup_before_pending_migrations(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    settings = DbSettings(path=tmp_path / "media" / "frigate.db")
    db = open_database(settings, migrations)
    queries.create_event("front", "person", 1.0, id="1.0-aaaaaa")
    close_database(db)
    assert not list(settings.path.parent.glob("*.backup-*")), "a new file needs no backup"

    db = open_database(settings, migrations)  # nothing pending: no backup
    close_database(db)
    assert not list(settings.path.parent.glob("*.backup-*"))

    (migrations / "900_note.py").write_text(LATER_MIGRATION)
    db = open_database(settings, migrations)
    close_database(db)
    backups = list(settings.path.parent.glob("frigate.db.backup-*"))
    assert len(backups) == 1
    old = sqlite3.connect(backups[0])
    try:
        assert old.execute("SELECT id FROM event").fetchall() == [("1.0-aaaaaa",)]
        assert [row[0] for row in old.execute("SELECT name FROM migratehistory")] == REAL_MIGRATIONS
        assert not old.execute("SELECT name FROM sqlite_master WHERE name = 'note'").fetchall()
    finally:
        old.close()
    db = open_database(settings, migrations)
    assert db.table_exists("note")
    assert queries.get_event("1.0-aaaaaa") is not None
    close_database(db)


def test_events_stored_before_clip_gaps_existed_read_as_having_none(tmp_path: Path) -> None:
    older = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, older, ignore=shutil.ignore_patterns("__pycache__", "004_*"))
    settings = DbSettings(path=tmp_path / "media" / "frigate.db")
    close_database(open_database(settings, older))  # a database as the release before made it
    with sqlite3.connect(settings.path) as old:
        assert "clip_gaps" not in [row[1] for row in old.execute("PRAGMA table_info(event)")]
        old.execute(
            "INSERT INTO event (id, label, camera, start_time, end_time, top_score, false_positive, zones,"
            " has_clip, has_snapshot) VALUES ('5.0-oldone', 'person', 'front', 5.0, 9.0, 0.8, 0, '[]', 1, 1)"
        )
    db = open_database(settings, MIGRATIONS_DIR)
    try:
        row = queries.get_event("5.0-oldone")
        assert row is not None and row["clip_gaps"] == [] and row["has_clip"]
        assert queries.update_event("5.0-oldone", clip_gaps=[[6.0, 7.5]])
        assert queries.get_event("5.0-oldone")["clip_gaps"] == [[6.0, 7.5]]  # type: ignore[index]
    finally:
        close_database(db)


def test_backups_are_pruned(tmp_path: Path) -> None:
    db = open_database(DbSettings(path=tmp_path / "frigate.db"), MIGRATIONS_DIR)
    try:
        for _ in range(5):
            backup_sqlite(db, tmp_path / "frigate.db", keep=3)
    finally:
        close_database(db)
    assert len(list(tmp_path.glob("frigate.db.backup-*"))) == 3


def test_sqlite_is_wal(tmp_path: Path) -> None:
    db = open_database(DbSettings(path=tmp_path / "a" / "b" / "frigate.db"), MIGRATIONS_DIR)
    try:
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute_sql("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 1000
    finally:
        close_database(db)


def test_missing_migrations_folder(tmp_path: Path) -> None:
    with pytest.raises(FrigateLikeError, match="migrations folder"):
        open_database(DbSettings(path=tmp_path / "frigate.db"), tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


def test_failed_migration_is_reported_and_rolled_back(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "900_broken.py").write_text(
        "def migrate(migrator, database, *, fake=False, **kwargs):\n"
        "    migrator.sql('CREATE TABLE event (id TEXT)')\n"
    )
    settings = DbSettings(path=tmp_path / "frigate.db")
    with pytest.raises(FrigateLikeError, match="migration failed"):
        open_database(settings, migrations)
    os.remove(migrations / "900_broken.py")
    db = open_database(settings, migrations)
    try:
        names = [row[0] for row in db.execute_sql("SELECT name FROM migratehistory").fetchall()]
        assert names == REAL_MIGRATIONS
    finally:
        close_database(db)


def test_unreachable_server_is_unavailable(tmp_path: Path) -> None:
    settings = DbSettings(path=tmp_path / "frigate.db", url="postgresql://postgres@127.0.0.1:1/test")
    with pytest.raises(Unavailable, match="127.0.0.1:1/test"):
        open_database(settings, MIGRATIONS_DIR)


def test_recording_rows(db: pw.Database) -> None:
    recordings.add_recording("front", "/r/a.mp4", 100.0, 110.0, 5)
    recordings.add_recording("front", "/r/b.mp4", 110.0, 120.5, 6)
    recordings.add_recording("back", "/r/c.mp4", 90.0, 100.0, 7)
    recordings.add_recording("front", "/r/a.mp4", 100.0, 110.25, 8)  # the same path again: one row
    front = recordings.recordings("front")
    expected = [("/r/a.mp4", 10.25, 8), ("/r/b.mp4", 10.5, 6)]
    assert [(r["path"], r["duration"], r["size_bytes"]) for r in front] == expected
    assert [r["path"] for r in recordings.recordings("front", after=110.5)] == ["/r/b.mp4"]
    assert [r["path"] for r in recordings.recordings("front", before=110.0)] == ["/r/a.mp4"]
    assert recordings.last_recording("front")["path"] == "/r/b.mp4"  # type: ignore[index]
    assert recordings.last_recording("side") is None
    assert [r["path"] for r in recordings.oldest(limit=2)] == ["/r/c.mp4", "/r/a.mp4"]
    assert [r["path"] for r in recordings.oldest(limit=5, offset=2)] == ["/r/b.mp4"]
    assert [r["path"] for r in recordings.ended_before("front", 115.0)] == ["/r/a.mp4"]
    assert recordings.cameras() == ["back", "front"]
    assert recordings.delete_recordings([front[0]["id"]]) == 1
    recordings.forget_recording("/r/c.mp4")
    assert [r["path"] for r in recordings.oldest()] == ["/r/b.mp4"]
    add("front", start=200.0)
    add("front", start=150.0, end_time=160.0)
    add("back", start=300.0)
    assert recordings.open_event_starts() == {"front": 200.0, "back": 300.0}
