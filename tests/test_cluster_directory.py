"""The read side of the cluster tables, on a real SQLite file (the schema of migration 005)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import peewee as pw
import pytest

from frigate_like.cluster.directory import ClusterDirectory, database_now
from frigate_like.db.database import open_database
from frigate_like.db.models import CameraLease, ClusterNode

MIGRATIONS = Path(__file__).resolve().parents[1] / "frigate_like" / "migrations"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[pw.Database]:
    database = open_database(SimpleNamespace(path=tmp_path / "f.db", url=None), MIGRATIONS)
    yield database
    database.close()


def test_alive_nodes_and_the_owner_of_a_camera(db: pw.Database) -> None:
    now = database_now(db)
    ClusterNode.create(node_id="a", url="http://a:5000", instance="1", started_at=now - 60, heartbeat_at=now - 1)
    ClusterNode.create(node_id="b", url="http://b:5000", instance="2", started_at=now - 60, heartbeat_at=now - 30)
    ClusterNode.create(
        node_id="c", url="http://c:5000", instance="3", started_at=now - 60, heartbeat_at=now, stopped_at=now
    )
    CameraLease.create(camera="door", node_id="a", acquired_at=now - 5, expires_at=now + 9)
    CameraLease.create(camera="yard", node_id="a", acquired_at=now - 5, expires_at=now + 9)
    CameraLease.create(camera="gate", node_id="b", acquired_at=now - 40, expires_at=now - 20)  # expired
    directory = ClusterDirectory(db, lease_seconds=10)
    nodes = {n.node_id: n for n in directory.nodes()}
    assert [nodes[n].alive for n in "abc"] == [True, False, False]
    assert nodes["a"].cameras == ("door", "yard")
    assert nodes["b"].cameras == ()
    owner = directory.owner_of("door")
    assert owner is not None and owner.node_id == "a" and owner.url == "http://a:5000"
    assert directory.owner_of("gate") is None, "an expired lease names no owner"
    assert directory.owner_of("nowhere") is None
    assert abs(database_now(db) - now) < 5
