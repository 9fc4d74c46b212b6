"""A damaged database and an unwritable media folder: one line with the path and what to do, no traceback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.daemon import Daemon, demo_config
from tests.mounts import tmpfs

GARBAGE = b"this is not an SQLite file, but someone's data all the same\n" * 100


def _run(tmp_path: Path, cfg: dict[str, Any], *flags: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(cfg))
    return subprocess.run(
        [sys.executable, "-m", "frigate_like", "run", "-c", str(path), *flags],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A read-only tmpfs (root ignores file modes, so a mode bit would not do)."""
    with tmpfs(tmp_path / "ro", "ro,size=1m") as folder:
        yield folder


def test_a_damaged_database_is_named_left_alone_and_moved_aside_only_when_asked(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path)
    db_path = Path(cfg["database"]["path"])
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(GARBAGE)
    result = _run(tmp_path, cfg)
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if str(db_path) in line]
    assert len(lines) == 1 and "damaged" in lines[0] and "--move-corrupt-database" in lines[0], output
    assert db_path.read_bytes() == GARBAGE

    daemon = Daemon(tmp_path, cfg)
    daemon.run_args = ["--move-corrupt-database"]
    daemon.start()
    try:
        assert daemon.get_json("/api/events") == []  # a new, empty database
    finally:
        assert daemon.terminate()[0] == 0
    moved = list(db_path.parent.glob("frigate.db.corrupt-*"))
    assert [p.read_bytes() for p in moved if p.name.count("-") == 1] == [GARBAGE]


def test_an_unwritable_media_folder_is_one_line_naming_the_key(tmp_path: Path, read_only_folder: Path) -> None:
    cfg = demo_config(tmp_path)
    cfg["paths"]["media_dir"] = str(read_only_folder)
    cfg["database"]["path"] = str(tmp_path / "db" / "frigate.db")
    result = _run(tmp_path, cfg)
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Traceback" not in output
    # found before start by the same checks as check-config (config/resources.py), named by its key
    clips = read_only_folder / "clips"
    assert f"paths.media_dir: {clips} cannot be created: {read_only_folder} is not writable" in output
