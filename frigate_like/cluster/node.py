"""This node's row in ``cluster_node``: joining (refusing an id a live node holds), the heartbeat, the clean stop.

The heartbeat writes ``heartbeat_at`` (the database's clock) and the stats of the cameras this
node runs, every ``lease_seconds / 3``; other nodes count it alive while that is younger than
the lease time (``ClusterDirectory``). A row whose ``instance`` is no longer this process's
means another process took the id while this one was unheard of: it must stop (``lost``).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Mapping

import peewee as pw

from frigate_like.errors import FrigateLikeError
from frigate_like.supervise import Health

logger = logging.getLogger(__name__)

DB_NOW = "EXTRACT(EPOCH FROM clock_timestamp())::double precision"  # one clock for every node: the server's
BEATS_PER_LEASE = 3

_JOIN = f"""
INSERT INTO cluster_node (node_id, url, instance, started_at, heartbeat_at, stopped_at, stats)
VALUES (%s, %s, %s, {DB_NOW}, {DB_NOW}, NULL, '{{}}')
ON CONFLICT (node_id) DO UPDATE SET
    url = EXCLUDED.url, instance = EXCLUDED.instance, started_at = EXCLUDED.started_at,
    heartbeat_at = EXCLUDED.heartbeat_at, stopped_at = NULL, stats = '{{}}'
WHERE cluster_node.stopped_at IS NOT NULL OR cluster_node.heartbeat_at < EXCLUDED.heartbeat_at - %s
RETURNING instance
"""
_HOLDER = f"SELECT url, {DB_NOW} - heartbeat_at FROM cluster_node WHERE node_id = %s"
_BEAT = f"UPDATE cluster_node SET heartbeat_at = {DB_NOW}, stats = %s WHERE node_id = %s AND instance = %s"
_LEAVE = f"UPDATE cluster_node SET stopped_at = {DB_NOW} WHERE node_id = %s AND instance = %s"
_STOPPING = (
    f"UPDATE cluster_node SET stopped_at = {DB_NOW}, heartbeat_at = {DB_NOW} WHERE node_id = %s AND instance = %s"
)


class NodeIdTaken(FrigateLikeError):
    """Another live process holds this ``cluster.node_id``."""


class NodeMembership:
    """Joins the cluster as ``node_id`` and keeps its row fresh; ``run`` is the supervised heartbeat thread."""

    def __init__(
        self,
        db: pw.Database,
        node_id: str,
        url: str,
        lease_seconds: float,
        stats: Callable[[], Mapping[str, object]],
        stop: threading.Event,
        health: Health | None = None,
        *,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        """``on_lost``: called once when another process has taken the id (stop the cameras and the daemon)."""
        self._db = db
        self._on_lost = on_lost
        self.node_id = node_id
        self.url = url
        self.lease_seconds = lease_seconds
        self._stats = stats
        self._stop = stop
        self._health = health
        self.instance = secrets.token_hex(8)
        self.lost = threading.Event()  # another process holds the id now: this one must stop

    @property
    def interval(self) -> float:
        return self.lease_seconds / BEATS_PER_LEASE

    def join(self) -> None:
        """Upserts this node's row, unless a live process (fresh heartbeat, not stopped) holds the id."""
        cursor = self._db.execute_sql(_JOIN, (self.node_id, self.url, self.instance, self.lease_seconds))
        if cursor.fetchone() is not None:
            logger.info("joined the cluster as node %s (%s)", self.node_id, self.url)
            return
        holder = self._db.execute_sql(_HOLDER, (self.node_id,)).fetchone()
        url, age = (holder[0] or "no url", float(holder[1])) if holder else ("unknown", 0.0)
        raise NodeIdTaken(
            f"cluster.node_id {self.node_id!r} is held by a live node at {url} (heartbeat {age:.1f} s ago):"
            " give this node another cluster.node_id, or stop that one"
        )

    def beat(self) -> None:
        """One heartbeat with the stats; sets ``lost`` when the row is another process's now."""
        stats = json.dumps(dict(self._stats()), default=str, separators=(",", ":"))
        cursor = self._db.execute_sql(_BEAT, (stats, self.node_id, self.instance))
        if cursor.rowcount == 0 and not self.lost.is_set():
            logger.error("node %s: another process holds this node id now; this one stops", self.node_id)
            self.lost.set()
            if self._on_lost is not None:
                self._on_lost()

    def run(self) -> None:
        """Beats every ``lease/3`` s until stopped; a failed beat is logged and shown in health, then retried."""
        failing = False
        while not self._stop.is_set() and not self.lost.is_set():
            try:
                self.beat()
            except pw.DatabaseError as exc:
                if not failing:  # once per outage: the database's own entry says the rest
                    logger.warning("node %s: heartbeat failed (%s); retrying", self.node_id, exc)
                failing = True
                if self._health is not None:
                    self._health.failed(exc)
            else:
                if failing:
                    logger.info("node %s: heartbeat written again", self.node_id)
                failing = False
                if self._health is not None:
                    self._health.ok()
            self._stop.wait(self.interval)
        self._stop.wait()  # lost: nothing more to do, but returning early would read as a crash

    def stopping(self) -> None:
        """A clean stop has begun (cameras stopped, leases given back): no longer counted among the live
        nodes, so none hands cameras to it; it still writes its last events (others leave them alone while
        its heartbeat is fresh)."""
        try:
            self._db.execute_sql(_STOPPING, (self.node_id, self.instance))
        except pw.DatabaseError as exc:
            logger.warning("node %s: stop not recorded (%s)", self.node_id, exc)

    def leave(self) -> None:
        """A clean stop: others see this node gone at once, not after the lease time."""
        try:
            self._db.execute_sql(_LEAVE, (self.node_id, self.instance))
        except pw.DatabaseError as exc:
            logger.warning("node %s: stop not recorded (%s); others see it gone after the lease", self.node_id, exc)
