"""Recordings in the earlier YYYY-MM-DD/HH layout move into Frigate 0.8's YYYY-MM/DD/HH at start-up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from frigate_like.config import DatabaseConfig
from frigate_like.db import recordings as rows
from frigate_like.db.database import close_database, open_database
from frigate_like.migrations import MIGRATIONS_DIR
from frigate_like.record.layout import migrate_layout


@pytest.fixture
def db(tmp_path: Path) -> Iterator[None]:
    database = open_database(DatabaseConfig(path=tmp_path / "frigate.db"), MIGRATIONS_DIR)
    yield
    close_database(database)


def _old(recordings: Path, rel: str, content: bytes) -> Path:
    path = recordings / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    rows.add_recording(path.parts[-2], str(path), 1.0, 2.0, len(content))
    return path


def test_old_layout_moves_with_its_rows(tmp_path: Path, db: None) -> None:
    recordings = tmp_path / "recordings"
    _old(recordings, "2021-08-10/14/back/03.00.mp4", b"a")
    _old(recordings, "2021-08-10/14/back/04.00.1.mp4", b"b")
    _old(recordings, "2021-08-11/00/front/00.00.mp4", b"c")
    (recordings / "2021-08" / "12" / "01" / "back").mkdir(parents=True)  # already in the new layout
    (recordings / "2021-08" / "12" / "01" / "back" / "00.00.mp4").write_bytes(b"d")
    assert migrate_layout(recordings, rows) == 3
    moved = {
        "2021-08/10/14/back/03.00.mp4": b"a",
        "2021-08/10/14/back/04.00.1.mp4": b"b",
        "2021-08/11/00/front/00.00.mp4": b"c",
    }
    for rel, content in moved.items():
        assert (recordings / rel).read_bytes() == content
    assert sorted(p.name for p in recordings.iterdir()) == ["2021-08"]  # old folders gone
    assert {r["path"] for cam in ("back", "front") for r in rows.recordings(cam)} == {
        str(recordings / rel) for rel in moved
    }
    assert migrate_layout(recordings, rows) == 0  # nothing left to do on the next start


def test_a_crash_between_row_and_file_is_finished_on_the_next_start(tmp_path: Path, db: None) -> None:
    recordings = tmp_path / "recordings"
    old = _old(recordings, "2021-08-10/14/back/03.00.mp4", b"a")
    new = recordings / "2021-08/10/14/back/03.00.mp4"
    rows.rename_recording(str(old), str(new))  # the row was updated, then the daemon died
    assert migrate_layout(recordings, rows) == 1
    assert new.read_bytes() == b"a" and not old.exists()
    assert [r["path"] for r in rows.recordings("back")] == [str(new)]


def test_a_taken_new_path_keeps_the_old_file(tmp_path: Path, db: None) -> None:
    recordings = tmp_path / "recordings"
    old = _old(recordings, "2021-08-10/14/back/03.00.mp4", b"old")
    (recordings / "2021-08/10/14/back").mkdir(parents=True)
    (recordings / "2021-08/10/14/back/03.00.mp4").write_bytes(b"other")
    assert migrate_layout(recordings, rows) == 0
    assert old.read_bytes() == b"old"  # nothing lost
    assert [r["path"] for r in rows.recordings("back")] == [str(old)]
