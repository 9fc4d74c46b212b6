"""The writes of ``camera_lease``: one atomic statement each, every time from the database's clock.

A lease is taken when it is free, expired or already this node's (``INSERT ... ON CONFLICT DO
UPDATE ... WHERE``): two nodes racing for one camera cannot both win, whatever their clocks say.
Renewing only extends rows still this node's; releasing deletes only this node's rows.
Reads go through ``ClusterDirectory``.
"""

from __future__ import annotations

from collections.abc import Collection

import peewee as pw

from frigate_like.cluster.node import DB_NOW

_ACQUIRE = f"""
INSERT INTO camera_lease (camera, node_id, acquired_at, expires_at)
VALUES (%s, %s, {DB_NOW}, {DB_NOW} + %s)
ON CONFLICT (camera) DO UPDATE SET
    node_id = EXCLUDED.node_id, acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at
WHERE camera_lease.expires_at < EXCLUDED.acquired_at OR camera_lease.node_id = EXCLUDED.node_id
RETURNING camera
"""
_RENEW = f"""
UPDATE camera_lease SET expires_at = {DB_NOW} + %s
WHERE node_id = %s AND camera = ANY(%s) AND expires_at > {DB_NOW}
RETURNING camera
"""
_RELEASE = "DELETE FROM camera_lease WHERE node_id = %s AND camera = ANY(%s)"


class LeaseStore:
    """This node's leases: take, renew, give back. Statements raise ``peewee.DatabaseError`` when the
    database is away; the caller (placement) decides what that means for its cameras."""

    def __init__(self, db: pw.Database, node_id: str, lease_seconds: float) -> None:
        self._db = db
        self.node_id = node_id
        self.lease_seconds = lease_seconds

    def acquire(self, camera: str) -> bool:
        """Takes ``camera``'s lease if it is free, expired or this node's already."""
        cursor = self._db.execute_sql(_ACQUIRE, (camera, self.node_id, self.lease_seconds))
        return cursor.fetchone() is not None

    def renew(self, cameras: Collection[str]) -> set[str]:
        """Extends the leases still this node's and unexpired; returns those renewed (the others are lost)."""
        if not cameras:
            return set()
        cursor = self._db.execute_sql(_RENEW, (self.lease_seconds, self.node_id, sorted(cameras)))
        return {row[0] for row in cursor.fetchall()}

    def release(self, cameras: Collection[str]) -> None:
        """Gives the leases back at once, so another node takes the cameras without waiting for expiry."""
        if cameras:
            self._db.execute_sql(_RELEASE, (self.node_id, sorted(cameras)))
