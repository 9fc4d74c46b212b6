"""Who is in the cluster and who runs which camera: the read side of ``cluster_node`` and ``camera_lease``.

Read-only: node heartbeats and leases are written by the cluster's own writers (``cluster/``),
never here. Every node reads the same rows, so every node answers the same. A node is alive
while its heartbeat is younger than the lease time and it has not stopped cleanly; a lease
counts while it has not expired. Times come from the database's clock (``database_now``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import peewee as pw

from frigate_like.db.models import CameraLease, ClusterNode


def database_now(db: pw.Database) -> float:
    """Epoch seconds by the database server's clock: every node compares lease times against one clock."""
    if isinstance(db, pw.PostgresqlDatabase):
        sql = "SELECT EXTRACT(EPOCH FROM clock_timestamp())::double precision"
    else:  # SQLite: a single node, whose clock is the database's
        sql = "SELECT (julianday('now') - 2440587.5) * 86400.0"
    row = db.execute_sql(sql).fetchone()
    return float(row[0])


@dataclass(frozen=True)
class LeaseInfo:
    """One camera's lease row (expired or not)."""

    camera: str
    node_id: str
    acquired_at: float
    expires_at: float


@dataclass(frozen=True)
class NodeInfo:
    """One node as the database sees it."""

    node_id: str
    url: str
    alive: bool
    heartbeat_at: float
    cameras: tuple[str, ...]  # cameras it holds an unexpired lease on, sorted
    stats: dict[str, object]  # what it last wrote to its row (see migrations/005_cluster.py)
    silent_for: float = 0.0  # seconds since its last heartbeat, by the database's clock
    stopped: bool = False  # it stopped cleanly (or is stopping)


class ClusterDirectory:
    """Reads the cluster's membership and camera placement from the shared database."""

    def __init__(self, db: pw.Database, lease_seconds: float) -> None:
        self._db = db
        self._lease_seconds = lease_seconds

    def now(self) -> float:
        return database_now(self._db)

    def nodes(self) -> list[NodeInfo]:
        """Every node that ever joined, sorted by id, with the cameras each holds now."""
        now = self.now()
        with self._db.bind_ctx([ClusterNode, CameraLease]):
            rows = list(ClusterNode.select().order_by(ClusterNode.node_id))
            leases = list(CameraLease.select().where(CameraLease.expires_at > now))
        held: dict[str, list[str]] = {}
        for lease in leases:
            held.setdefault(lease.node_id, []).append(lease.camera)
        return [self._info(row, now, held.get(row.node_id, [])) for row in rows]

    def leases(self) -> list[LeaseInfo]:
        """Every lease row, expired ones too, sorted by camera."""
        with self._db.bind_ctx([CameraLease]):
            rows = list(CameraLease.select().order_by(CameraLease.camera))
        return [LeaseInfo(r.camera, r.node_id, r.acquired_at, r.expires_at) for r in rows]

    def node(self, node_id: str) -> NodeInfo | None:
        return next((info for info in self.nodes() if info.node_id == node_id), None)

    def owner_of(self, camera: str) -> NodeInfo | None:
        """The node holding ``camera``'s unexpired lease, or None when no node runs it now."""
        now = self.now()
        with self._db.bind_ctx([ClusterNode, CameraLease]):
            lease = CameraLease.get_or_none((CameraLease.camera == camera) & (CameraLease.expires_at > now))
            if lease is None:
                return None
            row = ClusterNode.get_or_none(ClusterNode.node_id == lease.node_id)
            if row is None:
                return None
            cameras = [
                c.camera
                for c in CameraLease.select(CameraLease.camera).where(
                    (CameraLease.node_id == row.node_id) & (CameraLease.expires_at > now)
                )
            ]
        return self._info(row, now, cameras)

    def _info(self, row: ClusterNode, now: float, cameras: list[str]) -> NodeInfo:
        alive = row.stopped_at is None and now - row.heartbeat_at < self._lease_seconds
        try:
            stats = json.loads(row.stats or "{}")
        except ValueError:
            stats = {}
        return NodeInfo(
            node_id=row.node_id,
            url=row.url,
            alive=alive,
            heartbeat_at=row.heartbeat_at,
            cameras=tuple(sorted(cameras)),
            stats=stats if isinstance(stats, dict) else {},
            silent_for=max(0.0, now - row.heartbeat_at),
            stopped=row.stopped_at is not None,
        )
