"""Recording rows (24/7 segments): insert, timelines, retention picks and deletes, as plain dicts.

Every function works on the models bound by ``database.open_database``, on SQLite and
PostgreSQL alike; values always travel as query parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import peewee as pw

from frigate_like.db.models import Event, Recording
from frigate_like.db.owner import row_owner

_FIELDS = (
    Recording.id, Recording.camera, Recording.path, Recording.start_time, Recording.end_time,
    Recording.duration, Recording.size_bytes,
)  # fmt: skip
DELETE_BATCH = 500  # SQLite caps the number of bound parameters


def add_recording(camera: str, path: str, start_time: float, end_time: float, size_bytes: int) -> None:
    """Inserts a segment's row; the same ``path`` again (a retried move) updates that row instead."""
    values = {
        "camera": camera, "path": path, "start_time": start_time, "end_time": end_time,
        "duration": end_time - start_time, "size_bytes": size_bytes, "node_id": row_owner().node_id,
    }  # fmt: skip
    update = {getattr(Recording, k): v for k, v in values.items() if k != "path"}
    Recording.insert(**values).on_conflict(conflict_target=[Recording.path], update=update).execute()


def recording_node(camera: str, relative: str) -> str | None:
    """The node holding ``<recordings>/<relative>`` of ``camera`` (each node has its own media folder, so
    rows are matched on the path below ``recordings/``), None when no row names it."""
    suffix = "/recordings/" + relative.lstrip("/")
    pattern = "%" + suffix.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    query = Recording.select(Recording.path, Recording.node_id).where(
        (Recording.camera == camera) & pw.NodeList((Recording.path, pw.SQL("LIKE"), pattern, pw.SQL("ESCAPE '!'")))
    )
    return next((row.node_id for row in query.limit(5) if row.path.endswith(suffix)), None)


def span_nodes(camera: str, after: float, before: float) -> dict[str, int]:
    """How many of ``camera``'s segments overlapping ``[after, before]`` each node holds."""
    query = (
        Recording.select(Recording.node_id, pw.fn.COUNT(Recording.id).alias("segments"))
        .where((Recording.camera == camera) & (Recording.end_time > after) & (Recording.start_time < before))
        .group_by(Recording.node_id)
    )
    return {row["node_id"]: int(row["segments"]) for row in _rows(query)}


def recordings(camera: str, *, after: float | None = None, before: float | None = None) -> list[dict[str, Any]]:
    """A camera's segments that end after ``after`` and start before ``before``, oldest first."""
    conditions: list[pw.Node] = [Recording.camera == camera]
    if after is not None:
        conditions.append(Recording.end_time > after)
    if before is not None:
        conditions.append(Recording.start_time < before)
    return _rows(Recording.select(*_FIELDS).where(*conditions).order_by(Recording.start_time, Recording.id))


def last_recording(camera: str) -> dict[str, Any] | None:
    """The camera's newest segment, or None."""
    query = Recording.select(*_FIELDS).where(Recording.camera == camera)
    rows = _rows(query.order_by(Recording.end_time.desc()).limit(1))
    return rows[0] if rows else None


def ended_before(camera: str, before: float, *, limit: int = DELETE_BATCH) -> list[dict[str, Any]]:
    """Up to ``limit`` of the camera's oldest segments on this node that ended before ``before``."""
    query = Recording.select(*_FIELDS).where(
        Recording.camera == camera, Recording.end_time < before, row_owner().mine(Recording.node_id)
    )
    return _rows(query.order_by(Recording.start_time).limit(limit))


def oldest(*, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """The oldest segments on this node, of every camera (for freeing its disk), skipping the first ``offset``."""
    query = Recording.select(*_FIELDS).where(row_owner().mine(Recording.node_id))
    query = query.order_by(Recording.start_time, Recording.id)
    return _rows(query.limit(limit).offset(offset))


def cameras() -> list[str]:
    """Every camera that has a recording row (also cameras no longer in the config)."""
    query = Recording.select(Recording.camera).distinct().order_by(Recording.camera)
    return [row["camera"] for row in _rows(query)]


def delete_recordings(ids: Sequence[int]) -> int:
    """Deletes the rows (the caller removes the files); returns how many went."""
    deleted = 0
    with Recording._meta.database.atomic():
        for start in range(0, len(ids), DELETE_BATCH):
            deleted += Recording.delete().where(Recording.id.in_(list(ids[start : start + DELETE_BATCH]))).execute()
    return int(deleted)


def rename_recording(old: str, new: str) -> None:
    """Points the row of ``old`` at ``new`` (its file is about to move there); no row, nothing to do."""
    Recording.update(path=new).where(Recording.path == old).execute()


def forget_recording(path: str) -> None:
    """Deletes the row of ``path`` (its file could not be moved into place after all)."""
    Recording.delete().where(Recording.path == path).execute()


def open_event_starts() -> dict[str, float]:
    """Per camera, the start of this node's oldest event without an end time (live, or its clip not cut yet)."""
    query = (
        Event.select(Event.camera, pw.fn.MIN(Event.start_time).alias("start"))
        .where(Event.end_time.is_null(), row_owner().mine(Event.node_id))
        .group_by(Event.camera)
    )
    return {row["camera"]: float(row["start"]) for row in _rows(query)}


def _rows(query: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in query.dicts()]
