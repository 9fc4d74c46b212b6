"""/api/stats of a cluster: this node's live document merged with the other nodes' rows (stats.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import peewee as pw
import pytest

from frigate_like.cluster.directory import ClusterDirectory, database_now
from frigate_like.db.database import open_database
from frigate_like.db.models import CameraLease, ClusterNode
from frigate_like.health import pipeline_problems
from frigate_like.migrations import MIGRATIONS_DIR
from frigate_like.stats import ClusterStats, merge_cluster_stats, node_stats_row


@pytest.fixture
def db(tmp_path: Path) -> Iterator[pw.Database]:
    database = open_database(SimpleNamespace(path=tmp_path / "f.db", url=None), MIGRATIONS_DIR)
    yield database
    database.close()


def _doc(cameras: dict[str, float], pid: int, detector_pid: int | None = 7) -> dict[str, Any]:
    doc: dict[str, Any] = {
        name: {"camera_fps": fps, "detection_fps": fps / 2, "process_fps": fps, "skipped_fps": 0.0, "pid": pid}
        for name, fps in cameras.items()
    }
    doc["detection_fps"] = round(sum(fps / 2 for fps in cameras.values()), 2)
    doc["detectors"] = {"cpu": {"detection_start": 0.0, "inference_speed": 9.5, "pid": detector_pid}}
    doc["service"] = {"uptime": 100, "version": "0.1.0", "storage": {}, "pid": pid}
    return doc


def _node(
    db: pw.Database, node_id: str, stats: dict[str, Any], *, age: float = 0.0, cameras: tuple[str, ...] = ()
) -> None:
    now = database_now(db)
    ClusterNode.create(
        node_id=node_id, url=f"http://{node_id}:5000", instance=node_id, started_at=now - 60,
        heartbeat_at=now - age, stats=json.dumps(node_stats_row(stats)),
    )  # fmt: skip
    for camera in cameras:
        CameraLease.create(camera=camera, node_id=node_id, acquired_at=now, expires_at=now + 10)


def test_node_stats_row_is_the_cameras_detectors_and_service() -> None:
    doc = _doc({"door": 5.0, "yard": 4.0}, pid=11)
    row = node_stats_row(doc)
    assert set(row) == {"cameras", "detectors", "service"}
    assert set(row["cameras"]) == {"door", "yard"}
    assert row["detectors"] == doc["detectors"] and row["service"] == doc["service"]
    json.dumps(row)  # what the node writes to its row


def test_every_alive_node_cameras_merged_in_frigate_shape(db: pw.Database) -> None:
    _node(db, "a", _doc({"door": 5.0}, pid=1), cameras=("door",))
    _node(db, "b", _doc({"yard": 4.0, "gate": 2.0}, pid=2), cameras=("yard", "gate"))
    _node(db, "c", _doc({"shed": 3.0}, pid=3), age=60)  # dead: its row is stale
    stats = ClusterStats(lambda: _doc({"door": 5.0}, pid=1), "a", ClusterDirectory(db, lease_seconds=10)).stats()
    cameras = {k: v for k, v in stats.items() if k not in ("detection_fps", "detectors", "service")}
    assert set(cameras) == {"door", "yard", "gate"}
    assert cameras["yard"]["camera_fps"] == 4.0 and cameras["yard"]["node_id"] == "b"
    assert cameras["door"]["node_id"] == "a"
    assert stats["detection_fps"] == 5.5
    assert set(stats["detectors"]) == {"a:cpu", "b:cpu"}, "two nodes' cpu detectors do not clash"
    assert stats["service"]["pid"] == 1 and stats["service"]["node_id"] == "a"
    assert stats["service"]["nodes"]["b"] == {"alive": True, "url": "http://b:5000", "cameras": ["gate", "yard"]}
    assert stats["service"]["nodes"]["c"]["alive"] is False


def test_the_health_check_of_a_node_looks_at_its_own_cameras_only() -> None:
    other = SimpleNamespace(
        node_id="b", alive=True, url="http://b", heartbeat_at=1.0, cameras=("yard",),
        stats=node_stats_row(_doc({"yard": 0.0}, pid=2, detector_pid=None)),
    )  # fmt: skip
    merged = merge_cluster_stats(_doc({"door": 5.0}, pid=1), "a", [other])  # type: ignore[list-item]
    assert merged["yard"]["camera_fps"] == 0.0
    assert pipeline_problems(merged, now=1000.0) == [], "b's stuck camera and detector are b's to report"
    assert pipeline_problems(_doc({"door": 0.0}, pid=1), now=1000.0) == ["camera door: no frames (camera_fps 0)"]


def test_stats_still_answer_when_the_database_is_away(tmp_path: Path) -> None:
    gone = pw.SqliteDatabase(str(tmp_path / "no-such-folder" / "f.db"))  # every statement fails
    directory = ClusterDirectory(gone, lease_seconds=10)
    stats = ClusterStats(lambda: _doc({"door": 5.0}, pid=1), "a", directory).stats()
    assert stats["door"]["camera_fps"] == 5.0
    assert "unreadable" in stats["service"]["cluster_error"]
