"""Event retention over a real SQLite file and real files: per camera, per label, snapshots apart."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from frigate_like.config import FrigateConfig, config_from_dict
from frigate_like.db import queries
from frigate_like.db.database import close_database, open_database
from frigate_like.events.cleanup import DAY, EventCleanup
from frigate_like.migrations import MIGRATIONS_DIR

NOW = 1_800_000_000.0


@pytest.fixture
def cfg(tmp_path: Path, model_path: Path, labelmap_path: Path) -> Iterator[FrigateConfig]:
    config = config_from_dict(
        {
            "database": {"path": str(tmp_path / "frigate.db")},
            "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
            "objects": {"track": ["person", "car"]},
            "clips": {"retain": {"default": 10, "objects": {"car": 2}}},
            "cameras": {
                "back": {
                    "ffmpeg": {"inputs": [{"path": "rtsp://cam/x", "roles": ["detect", "clips"]}]},
                    "width": 640,
                    "height": 480,
                    "fps": 5,
                    "clips": {"enabled": True, "retain": {"objects": {"person": 15}}},
                    "snapshots": {"enabled": True, "retain": {"default": 5}},
                }
            },
        }
    )
    db = open_database(config.database, MIGRATIONS_DIR)
    yield config
    close_database(db)


def _event(clips: Path, label: str, age_days: float) -> str:
    start = NOW - age_days * DAY
    event_id = queries.create_event("back", label, start, end_time=start + 10, has_clip=True, has_snapshot=True)
    (clips / f"back-{event_id}.mp4").write_bytes(b"clip")
    (clips / f"back-{event_id}.jpg").write_bytes(b"jpg")
    return event_id


def test_retention_per_label_and_snapshots(cfg: FrigateConfig, tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    person_12 = _event(clips, "person", 12)  # person: 15 days on this camera → kept
    person_16 = _event(clips, "person", 16)  # → deleted
    car_1 = _event(clips, "car", 1)  # car: 2 days (global per-label) → kept
    car_3 = _event(clips, "car", 3)  # → deleted
    live = queries.create_event("back", "car", NOW - 30 * DAY)  # in progress: never deleted
    cleanup = EventCleanup(cfg.cameras, clips, queries, threading.Event(), clock=lambda: NOW)

    deleted, snapshots = cleanup.run_once()

    assert deleted == 2
    assert queries.get_event(person_16) is None and queries.get_event(car_3) is None
    assert not (clips / f"back-{person_16}.mp4").exists() and not (clips / f"back-{car_3}.jpg").exists()
    assert queries.get_event(live) is not None
    # snapshots expire after 5 days even though the clip stays
    kept = queries.get_event(person_12)
    assert kept is not None and kept["has_clip"] and not kept["has_snapshot"] and snapshots == 1
    assert (clips / f"back-{person_12}.mp4").exists() and not (clips / f"back-{person_12}.jpg").exists()
    car = queries.get_event(car_1)
    assert car is not None and car["has_snapshot"] and (clips / f"back-{car_1}.jpg").exists()
    assert cleanup.run_once() == (0, 0)  # idempotent
