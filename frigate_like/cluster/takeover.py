"""Closing the events a dead node left open on a camera this node takes over.

The dead node's clip cache and live files are on its own disk (unless media is shared), so the
event ends when that node was last heard of (its last heartbeat: it saw the object until then at
most), with no clip cut here; its 24/7 footage stays listed in the recordings. A node still
alive (stopping, or its heartbeat not yet stale) closes its own events: it is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from frigate_like.cluster.directory import NodeInfo

logger = logging.getLogger(__name__)


class OpenEvents(Protocol):
    """What this needs of ``db/queries.py``."""

    def open_event_nodes(self, camera: str) -> list[str]: ...
    def open_events(self, *, camera: str | None = ..., node_id: str | None = ...) -> list[dict[str, Any]]: ...
    def update_event(self, event_id: str, **fields: Any) -> bool: ...


class LeftOpenEvents:
    """``placement``'s takeover hook: ``(camera, nodes not alive)`` → their open events of it closed."""

    def __init__(self, store: OpenEvents, closed: Callable[[dict[str, Any]], None] | None = None) -> None:
        self._store = store
        self._closed = closed  # e.g. MQTT's event end, as at a restart's recovery

    def __call__(self, camera: str, dead: list[NodeInfo]) -> int:
        leavers = set(self._store.open_event_nodes(camera))
        closed = 0
        for node in dead:
            if node.node_id not in leavers:
                continue
            for row in self._store.open_events(camera=camera, node_id=node.node_id):
                end = max(float(row["start_time"]), node.heartbeat_at)
                if not self._store.update_event(str(row["id"]), end_time=end, has_clip=False):
                    continue
                closed += 1
                logger.info("event %s of %s, left open by node %s, closed", row["id"], camera, node.node_id)
                if self._closed is not None:
                    try:
                        self._closed({**row, "end_time": end, "has_clip": False})
                    except Exception:
                        logger.exception("event %s: telling of its end failed", row["id"])
        return closed
