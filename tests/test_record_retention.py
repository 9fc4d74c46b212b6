"""Retention on a real SQLite file and real files, with an injected clock and a fake disk (no sleeping for days).

Each camera's settings come from the camera registry as it is at each pass, YAML and group cameras alike.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee as pw
import pytest

from frigate_like.cameras import CONFIG_SOURCE, CameraRegistry
from frigate_like.config import CameraConfig, FrigateConfig, config_from_dict
from frigate_like.db import queries
from frigate_like.db import recordings as rows
from frigate_like.db.database import close_database
from frigate_like.devices import DeviceDiscovery
from frigate_like.groups import GroupManager, GroupStore, groups_path_for
from frigate_like.record.export import RecordingExporter
from frigate_like.record.maintainer import recording_path
from frigate_like.record.retention import MB, ClipWindow, Retention
from frigate_like.record.wiring import build_recording_parts
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


def camera(record: dict[str, Any] | None = None, clips: dict[str, Any] | None = None) -> dict[str, Any]:
    inputs = [{"path": "rtsp://cam/x", "roles": ["detect", "clips", "record"]}]
    return {"ffmpeg": {"inputs": inputs}, "width": 640, "height": 360, "record": record or {}, "clips": clips or {}}


def make_config(model_path: Path, labelmap_path: Path, **sections: Any) -> FrigateConfig:
    model = {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300}
    return config_from_dict({"model": model, **sections})


@pytest.fixture
def registry(model_path: Path, labelmap_path: Path) -> CameraRegistry:
    """YAML cameras "front" (1 day, clips of 5 s pre-capture and 300 s at most) and "back" (3 days)."""
    cfg = make_config(
        model_path, labelmap_path, record={"retain_days": 10},
        cameras={"front": camera({"retain_days": 1}, {"pre_capture": 5, "max_seconds": 300}),
                 "back": camera({"retain_days": 3})},
    )  # fmt: skip
    registry = CameraRegistry()
    for cam in cfg.cameras.values():
        registry.add(cam, CONFIG_SOURCE)
    return registry


def with_settings(cam: CameraConfig, *, retain_days: int | None = None, max_seconds: int | None = None) -> CameraConfig:
    """The camera's config with its own ``record.retain_days`` / ``clips.max_seconds``."""
    record = cam.record if retain_days is None else cam.record.model_copy(update={"retain_days": retain_days})
    clips = cam.clips if max_seconds is None else cam.clips.model_copy(update={"max_seconds": max_seconds})
    return cam.model_copy(update={"record": record, "clips": clips})


def retention(folder: Path, registry: CameraRegistry, **kwargs: Any) -> Retention:
    settings: dict[str, Any] = {"default_retain_days": 10, "min_free_mb": 0, "clock": lambda: NOW, **kwargs}
    return Retention(rows, folder, cameras=registry.configs, **settings)


def test_recordings_past_each_cameras_retain_days_go(
    tmp_path: Path, db: pw.Database, registry: CameraRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "recordings"
    old_front = record(folder, "front", NOW - 2 * DAY)
    new_front = record(folder, "front", NOW - 0.5 * DAY)
    kept_back = record(folder, "back", NOW - 2 * DAY)  # back keeps 3 days
    old_back = record(folder, "back", NOW - 4 * DAY)
    gone_cam = record(folder, "removed", NOW - 11 * DAY)  # no longer running: the global 10 days
    kept_gone_cam = record(folder, "removed", NOW - 9 * DAY)
    caplog.set_level(logging.INFO, logger="frigate_like.record.retention")
    deleted = retention(folder, registry).run()
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
    keeper = retention(folder, CameraRegistry(), min_free_mb=4, free_bytes=disk, default_retain_days=30)
    deleted = keeper.run()
    # 4 MB floor, freed up to 4.4 MB: the three oldest go (2 + 3 = 5 MB free)
    assert [Path(r["path"]) for r in deleted] == paths[:3]
    assert all(not p.exists() for p in paths[:3]) and all(p.exists() for p in paths[3:])
    assert disk(folder) == 5 * SIZE
    (line,) = [r.getMessage() for r in caplog.records if "low disk space" in r.getMessage()]
    assert "2 MB free" in line and "record.min_free_mb (4 MB)" in line and "the 3 oldest recording(s)" in line
    assert "back, front" in line
    assert keeper.run() == [], "above the floor: nothing more goes"


def test_low_disk_takes_stored_exports_before_any_recording(tmp_path: Path, db: pw.Database) -> None:
    """Exports (made again on request) fill the disk: they go, every recording stays (issue 19, item 2)."""
    folder, exports = tmp_path / "recordings", tmp_path / "exports"
    paths = [record(folder, "front", NOW - 3600 + i * SEGMENT) for i in range(6)]
    exports.mkdir()
    for i in range(4):
        (exports / f"front-{i}.mp4").write_bytes(b"\0" * SIZE)

    def disk(_path: Path) -> int:  # one disk for both folders
        used = sum(f.stat().st_size for f in [*folder.rglob("*.mp4"), *exports.glob("*.mp4")])
        return 12 * SIZE - used  # 2 MB free with 6 MB recorded and 4 MB exported

    exporter = RecordingExporter(exports, rows, "ffmpeg")
    keeper = retention(folder, CameraRegistry(), min_free_mb=4, free_bytes=disk, default_retain_days=30,
                       spare=exporter.release)  # fmt: skip
    assert keeper.run() == []
    assert all(p.exists() for p in paths)
    assert disk(folder) >= 4 * SIZE and len(list(exports.glob("*.mp4"))) <= 1


def test_footage_an_unfinished_event_needs_is_never_deleted(
    tmp_path: Path, db: pw.Database, registry: CameraRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "recordings"
    paths = [record(folder, "front", NOW - 600 + i * SEGMENT) for i in range(10)]  # the last 10 minutes
    queries.create_event("front", "person", NOW - 200)  # live: no end_time yet
    disk = FakeDisk(folder, capacity=10 * SIZE)  # no space left at all
    registry.update(with_settings(registry.configs["front"], retain_days=0))
    keeper = retention(folder, registry, min_free_mb=8, free_bytes=disk)
    deleted = keeper.run()
    # retain_days 0 and a full disk, yet footage from 5 s before the event (- a 30 s margin) stays
    held_from = NOW - 200 - 5 - 30
    assert len(deleted) == 6 and all(r["end_time"] <= held_from for r in deleted)
    kept = [p for i, p in enumerate(paths) if NOW - 600 + (i + 1) * SEGMENT > held_from]
    assert len(kept) == 4 and all(p.exists() for p in kept)
    assert any("no recording can be deleted" in r.getMessage() for r in caplog.records)


def test_an_event_left_open_by_a_crash_pins_no_more_than_a_clip(
    tmp_path: Path, db: pw.Database, registry: CameraRegistry
) -> None:
    folder = tmp_path / "recordings"
    old = record(folder, "front", NOW - 3 * DAY)
    queries.create_event("front", "person", NOW - 3 * DAY + 10)  # never ended: the daemon crashed
    assert [Path(r["path"]) for r in retention(folder, registry).run()] == [old]


def test_settings_are_read_at_each_pass_and_a_removed_camera_gets_the_global_ones(
    tmp_path: Path, db: pw.Database, registry: CameraRegistry
) -> None:
    folder = tmp_path / "recordings"
    two_days = record(folder, "back", NOW - 2 * DAY)
    keeper = retention(folder, registry, default_retain_days=1)
    assert keeper.run() == [], "back keeps 3 days"
    registry.update(with_settings(registry.configs["back"], retain_days=5))
    registry.remove("back")  # its leftover footage: the global retain_days (1) and clip window
    assert keeper.retain_days("back") == 1 and keeper.clip_window("back") == ClipWindow()
    assert [Path(r["path"]) for r in keeper.run()] == [two_days]


class RecordingWiring:
    """The daemon's recording wiring: a registry holding the YAML camera "yard" (no settings of its own),
    the recording parts built over the registry's configs, and the GroupManager that adds group cameras."""

    def __init__(self, tmp_path: Path, model_path: Path, person_video: Path, **sections: Any) -> None:
        cfg = make_config(
            model_path, model_path.parent / "coco_labelmap.txt",
            paths={"media_dir": str(tmp_path / "media"), "cache_dir": str(tmp_path / "cache")},
            camera_groups={"file_roots": [str(person_video.parent)]}, cameras={"yard": camera()}, **sections,
        )  # fmt: skip
        self.registry = CameraRegistry()
        self.registry.add(cfg.cameras["yard"], CONFIG_SOURCE)
        self.parts = build_recording_parts(cfg, self.registry.configs, "ffmpeg", threading.Event())
        self.groups = GroupManager(
            self.registry, cfg, GroupStore(groups_path_for(tmp_path / "config.yml")),
            DeviceDiscovery(tmp_path / "sys", tmp_path / "dev"), free_slots=lambda: 4,
        )  # fmt: skip
        self.folder = tmp_path / "media" / "recordings"

    def add_group_camera(self, name: str, video: Path) -> None:
        body = {"camera_name": name, "source": str(video), "loop": True, "clips": True, "record": True}
        group_id = self.groups.apply({"camera_configs": {"1": body}})["group_id"]
        assert self.registry.get(name).source == group_id

    def footage(self, camera: str, now: float) -> dict[str, Path]:
        """Recordings 3 and 20 days old, and the minutes 1 to 9 before the last; and an event that started
        500 s ago and is not finished (its clip is not cut yet)."""
        paths = {
            "3 days": record(self.folder, camera, now - 3 * DAY),
            "20 days": record(self.folder, camera, now - 20 * DAY),
        }
        for i in range(1, 10):
            paths[f"{i} min"] = record(self.folder, camera, now - 60 - i * SEGMENT)
        queries.create_event(camera, "person", now - 500)
        return paths

    def run_retention(self) -> set[Path]:
        return {Path(r["path"]) for r in self.parts.retention.run()}


def test_a_group_camera_holds_footage_for_the_clips_max_seconds_it_inherits(
    tmp_path: Path, db: pw.Database, model_path: Path, person_video: Path
) -> None:
    """Global clips.max_seconds: 600, and record.retain_days: 0 (keep only what events need)."""
    record_only_events = {"enabled": True, "retain_days": 0, "min_free_mb": 0}
    daemon = RecordingWiring(tmp_path, model_path, person_video, record=record_only_events, clips={"max_seconds": 600})
    daemon.add_group_camera("lobby", person_video)
    lobby = daemon.registry.configs["lobby"]
    assert (lobby.record.retain_days, lobby.clips.max_seconds) == (0, 600)
    now = time.time()
    yard, group = daemon.footage("yard", now), daemon.footage("lobby", now)
    # a clip of at most 600 s from 5 s before the event: held from now - 505 s - 30 s (the hold's margin);
    # a group camera given the default 300 s lost minutes 6 to 8 before its clip was cut from them
    deleted = daemon.run_retention()
    assert deleted == {
        p for paths in (yard, group) for key, p in paths.items() if key in ("3 days", "20 days", "9 min")
    }
    assert all(group[f"{i} min"].exists() and yard[f"{i} min"].exists() for i in range(1, 9))


def test_a_group_camera_is_kept_by_its_own_record_and_clips_settings(
    tmp_path: Path, db: pw.Database, model_path: Path, person_video: Path
) -> None:
    """Group cameras resolve the globals; a group camera with settings of its own (its resolved config updated
    in the registry) is kept by them from the next pass on."""
    ten_days = {"enabled": True, "retain_days": 10, "min_free_mb": 0}
    daemon = RecordingWiring(tmp_path, model_path, person_video, record=ten_days)
    daemon.add_group_camera("lobby", person_video)
    registry = daemon.registry
    registry.update(with_settings(registry.configs["lobby"], retain_days=1, max_seconds=600))
    now = time.time()
    yard, lobby = daemon.footage("yard", now), daemon.footage("lobby", now)

    assert daemon.run_retention() == {lobby["3 days"], lobby["20 days"], yard["20 days"]}  # 1 day vs 10

    registry.update(with_settings(registry.configs["lobby"], retain_days=0, max_seconds=600))
    # retain_days 0: only what its open event's clip may need stays, what ended after now - 535 s
    assert daemon.run_retention() == {lobby["9 min"]}
    kept = {Path(r["path"]) for r in rows.oldest(limit=100)}
    assert {lobby[f"{i} min"] for i in range(1, 9)} <= kept
    assert set(yard.values()) - {yard["20 days"]} <= kept

    registry.update(with_settings(registry.configs["lobby"], retain_days=0, max_seconds=120))
    assert daemon.run_retention() == {lobby[f"{i} min"] for i in range(3, 9)}  # held from now - 150 s
