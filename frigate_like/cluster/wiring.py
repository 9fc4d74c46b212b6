"""Builds this node's cluster parts from the config: placement (always), and in cluster mode the
node's membership (join, heartbeat) and the directory (who runs what)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peewee as pw

from frigate_like.cameras.registry import CameraRegistry
from frigate_like.cluster.directory import ClusterDirectory
from frigate_like.cluster.leases import LeaseStore
from frigate_like.cluster.node import NodeMembership
from frigate_like.cluster.placement import LeasePlacement, PlacedCameras, Placement
from frigate_like.cluster.takeover import LeftOpenEvents
from frigate_like.config import FrigateConfig
from frigate_like.db import queries
from frigate_like.db.owner import RowOwner, set_row_owner
from frigate_like.groups.manager import CameraSink
from frigate_like.groups.store import DatabaseGroupStore, GroupKeeper, GroupStore
from frigate_like.supervise import Supervisor

logger = logging.getLogger(__name__)


def advertised_url(cfg: FrigateConfig) -> str:
    """``cluster.url``, else this host's name and the HTTP port."""
    if cfg.cluster is not None and cfg.cluster.url:
        return cfg.cluster.url.rstrip("/")
    return f"http://{socket.gethostname()}:{cfg.http.port}"


@dataclass
class ClusterParts:
    placement: Placement
    membership: NodeMembership | None = None  # None: a single node
    directory: ClusterDirectory | None = None
    db: pw.Database | None = None  # the shared database (cluster mode)

    def group_cameras(self, registry: CameraRegistry) -> CameraSink:
        """Where camera groups put their cameras: this node's registry, or the cluster's placement."""
        return registry if self.membership is None else PlacedCameras(self.placement)

    def group_store(self, path: Path) -> GroupKeeper:
        """Where camera groups are kept: a file of this node's, or the shared table (any node's API adds one)."""
        return GroupStore(path) if self.db is None else DatabaseGroupStore(self.db)

    def start(
        self, supervisor: Supervisor, stop: threading.Event, groups_sync: Callable[[], object] | None = None
    ) -> None:
        """The heartbeat and placement threads (after every camera subscriber exists), and in cluster mode
        the poll of the groups table (``groups_sync``: the groups manager's ``sync``)."""
        if self.membership is not None:
            supervisor.spawn("cluster-node", self.membership.run)
            if groups_sync is not None:
                interval = self.membership.interval
                supervisor.spawn("camera-groups-sync", lambda: _poll(groups_sync, interval, stop))
        supervisor.spawn("placement", lambda: self.placement.run(stop))

    def release(self) -> None:
        """A clean stop, after the camera processes stopped: leases given back, the node no longer live."""
        self.placement.release()
        if self.membership is not None:
            self.membership.stopping()

    def leave(self) -> None:
        if self.membership is not None:
            self.membership.leave()

    def nodes(self, url: str) -> list[dict[str, Any]]:
        """``/api/cluster``'s ``nodes``: every node with the cameras it runs; a single node is the one entry."""
        if self.directory is None:
            node_id = self.placement.node_id or socket.gethostname()
            return [{"id": node_id, "url": url, "alive": True, "cameras": self.placement.running()}]
        return [
            {"id": n.node_id, "url": n.url, "alive": n.alive, "cameras": list(n.cameras)}
            for n in self.directory.nodes()
        ]


def _poll(sync: Callable[[], object], interval: float, stop: threading.Event) -> None:
    """Groups added on other nodes are taken up within ``interval`` s; an outage is retried quietly."""
    failing = False
    while not stop.wait(interval):
        try:
            sync()
        except pw.DatabaseError as exc:
            if not failing:
                logger.warning("camera groups: cannot read the shared table (%s); retrying", exc)
            failing = True
        else:
            failing = False


def build_cluster(
    cfg: FrigateConfig,
    db: pw.Database,
    registry: CameraRegistry,
    supervisor: Supervisor,
    stop: threading.Event,
    *,
    stats: Callable[[], Mapping[str, object]],
    closed_event: Callable[[dict[str, Any]], None] | None = None,
    on_lost: Callable[[], None] | None = None,
    directory: ClusterDirectory | None = None,
) -> ClusterParts:
    """Joins the cluster (``NodeIdTaken`` when a live node holds the id) and sets the rows' owner.
    ``directory``: the node's one reader of the cluster rows, when the caller already has it."""
    if cfg.cluster is None:
        set_row_owner(RowOwner(""))
        return ClusterParts(Placement(registry))
    node_id, lease = cfg.cluster.node_id, cfg.cluster.lease_seconds
    set_row_owner(RowOwner(node_id))
    membership = NodeMembership(
        db, node_id, advertised_url(cfg), lease, stats, stop, supervisor.health("cluster-node"), on_lost=on_lost
    )
    membership.join()
    directory = directory or ClusterDirectory(db, lease)
    placement = LeasePlacement(
        registry, node_id, LeaseStore(db, node_id, lease), directory,
        health=supervisor.health("placement"), on_takeover=LeftOpenEvents(queries, closed_event),
    )  # fmt: skip
    return ClusterParts(placement, membership, directory, db)
