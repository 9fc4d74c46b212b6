"""Event reads and writes, returning plain dicts shaped like Frigate 0.8's ``/api/events`` rows.

Every function works on the models bound by ``database.open_database``, on SQLite and
PostgreSQL alike; values always travel as query parameters.
"""

from __future__ import annotations

import json
import secrets
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import peewee as pw

from frigate_like.db import reconnect
from frigate_like.db.models import Event
from frigate_like.db.owner import row_owner
from frigate_like.errors import BadRequest, Conflict

ID_ALPHABET = string.ascii_lowercase + string.digits
# Local-day grouping happens on 15-minute buckets: every real UTC offset (and DST switch) is a
# multiple of 15 minutes, so a bucket never straddles a local midnight. The day is then computed
# in Python with the daemon's local time zone, identically on SQLite and PostgreSQL.
DAY_BUCKET_S = 900
LIKE_ESCAPE = "!"

_ROW_FIELDS = (
    Event.id, Event.label, Event.camera, Event.start_time, Event.end_time, Event.top_score,
    Event.false_positive, Event.zones, Event.thumbnail, Event.has_clip, Event.has_snapshot, Event.clip_gaps,
)
_UPDATABLE = frozenset(
    {"end_time", "top_score", "false_positive", "zones", "thumbnail", "has_clip", "has_snapshot", "clip_gaps"}
)


def new_event_id(start_time: float) -> str:
    """``<start_time>-<6 random chars>``, Frigate's id format (e.g. ``1607123955.475377-mxklsc``)."""
    return f"{start_time}-{''.join(secrets.choice(ID_ALPHABET) for _ in range(6))}"


def create_event(
    camera: str,
    label: str,
    start_time: float,
    *,
    id: str | None = None,  # noqa: A002 - the row's key, named like the column
    top_score: float = 0.0,
    false_positive: bool = False,
    zones: Iterable[str] = (),
    thumbnail: str | None = None,
    has_clip: bool = False,
    has_snapshot: bool = False,
    end_time: float | None = None,
    clip_gaps: Iterable[Sequence[float]] = (),
) -> str:
    """Inserts an event (``end_time`` None: in progress) and returns its id; ``Conflict`` if the id exists."""
    event_id = id if id is not None else new_event_id(start_time)
    try:
        Event.insert(
            id=event_id, camera=camera, label=label, start_time=start_time, end_time=end_time,
            top_score=top_score, false_positive=false_positive, zones=list(zones), thumbnail=thumbnail,
            has_clip=has_clip, has_snapshot=has_snapshot, clip_gaps=clip_gaps, node_id=row_owner().node_id,
        ).execute()
    except pw.IntegrityError as exc:
        raise Conflict(f"event {event_id!r} already exists") from exc
    return event_id


def update_event(event_id: str, **fields: Any) -> bool:
    """Sets the given columns (``top_score``, ``zones``, ``thumbnail``, ``end_time``, flags).

    Returns False if there is no such event. ``None`` values are skipped (a live event keeps its
    last thumbnail when a frame had none).
    """
    unknown = set(fields) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
    changes = {getattr(Event, name): value for name, value in fields.items() if value is not None}
    if not changes:
        return Event.select().where(Event.id == event_id).exists()
    if Event.zones in changes:
        changes[Event.zones] = list(changes[Event.zones])
    return Event.update(changes).where(Event.id == event_id).execute() > 0


def open_events(*, camera: str | None = None, node_id: str | None = None) -> list[dict[str, Any]]:
    """Events without an end time, oldest first: at start, the ones a crash of this node left open
    (``node_id`` None: this node's); with ``camera`` and another node's id, the ones a dead node left."""
    conditions = [Event.end_time.is_null(), Event.node_id == (row_owner().node_id if node_id is None else node_id)]
    if camera is not None:
        conditions.append(Event.camera == camera)
    return _rows(Event.select(*_ROW_FIELDS).where(*conditions).order_by(Event.start_time))


def open_event_nodes(camera: str) -> list[str]:
    """The other nodes that left events of ``camera`` open (a node that died running it)."""
    query = Event.select(Event.node_id).distinct().where(
        Event.end_time.is_null(), Event.camera == camera, Event.node_id != row_owner().node_id
    )
    return [row["node_id"] for row in _rows(query)]


def reset_connection() -> None:
    """Drops the calling thread's connection, so the next query opens a new one.

    The database object re-makes a lost PostgreSQL connection by itself (``db/reconnect.py``);
    the event writer's backlog still calls this after a refused write, to start afresh.
    """
    reconnect.reset_connection(Event._meta.database)


def end_event(
    event_id: str,
    end_time: float,
    top_score: float,
    zones: Iterable[str],
    thumbnail: str | None,
    has_clip: bool,
    has_snapshot: bool,
    false_positive: bool = False,
) -> bool:
    """Closes an event with its final values; False if no such event."""
    return update_event(
        event_id, end_time=end_time, top_score=top_score, zones=list(zones), thumbnail=thumbnail,
        has_clip=has_clip, has_snapshot=has_snapshot, false_positive=false_positive,
    )


def get_event(event_id: str) -> dict[str, Any] | None:
    """One event row, or None."""
    rows = _rows(Event.select(*_ROW_FIELDS).where(Event.id == event_id))
    return rows[0] if rows else None


def event_nodes(event_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``{id: (camera, node_id)}`` of the events among ``event_ids`` that exist: the node holding each one's
    files (``''``: a row from before the cluster, whose files are on the node that migrated it)."""
    ids = list(event_ids)
    if not ids:
        return {}
    query = Event.select(Event.id, Event.camera, Event.node_id).where(Event.id.in_(ids))
    return {row.id: (row.camera, row.node_id) for row in query}


def event_counts(node_id: str | None = None) -> list[tuple[str, str, int]]:
    """``(camera, label, rows)`` of the events in the database, of those ``node_id`` wrote when given."""
    query = Event.select(Event.camera, Event.label, pw.fn.COUNT(Event.id).alias("rows"))
    if node_id is not None:
        query = query.where(Event.node_id == node_id)
    grouped = query.group_by(Event.camera, Event.label).order_by(Event.camera, Event.label)
    return [(row["camera"], row["label"], int(row["rows"])) for row in _rows(grouped)]


def list_events(
    *,
    before: float | None = None,
    after: float | None = None,
    camera: str | None = None,
    label: str | None = None,
    zone: str | None = None,
    limit: int | None = 100,
    has_snapshot: bool | None = None,
    has_clip: bool | None = None,
    include_false_positives: bool = False,
    include_thumbnails: bool = True,
    include_in_progress: bool = True,
    own_only: bool = False,
) -> list[dict[str, Any]]:
    """Events newest first, filtered like Frigate 0.8 (``before``/``after`` compare ``start_time``).

    Running events (``end_time`` None) are left out when ``include_in_progress`` is false, as
    ``/api/events`` does by default (Frigate 0.8 stored an event only when it ended).
    ``own_only``: only this node's events (retention: a node touches only its own files).
    """
    if limit is not None and limit < 1:
        raise BadRequest(f"limit must be at least 1, got {limit}")
    fields = _ROW_FIELDS if include_thumbnails else tuple(f for f in _ROW_FIELDS if f is not Event.thumbnail)
    query = Event.select(*fields)
    conditions = _filters(before, after, camera, label, zone, has_snapshot, has_clip, include_false_positives)
    if not include_in_progress:
        conditions.append(Event.end_time.is_null(False))
    if own_only:
        conditions.append(row_owner().mine(Event.node_id))
    if conditions:
        query = query.where(*conditions)
    query = query.order_by(Event.start_time.desc(), Event.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return _rows(query)


def events_summary(
    *,
    include_false_positives: bool = False,
    include_in_progress: bool = True,
    has_clip: bool | None = None,
    has_snapshot: bool | None = None,
) -> list[dict[str, Any]]:
    """Counts per camera, label, local day of ``start_time``, zones, has_clip, has_snapshot.

    Frigate 0.8's ``/api/events/summary`` rows, newest day first, with its ``has_clip`` and
    ``has_snapshot`` filters; running events left out when ``include_in_progress`` is false.
    """
    bucket = _bucket_expression(Event._meta.database)
    query = Event.select(
        Event.camera, Event.label, Event.zones, Event.has_clip, Event.has_snapshot,
        bucket.alias("bucket"), pw.fn.COUNT(Event.id).alias("count"),
    )
    conditions = _filters(None, None, None, None, None, has_snapshot, has_clip, include_false_positives)
    if not include_in_progress:
        conditions.append(Event.end_time.is_null(False))
    if conditions:
        query = query.where(*conditions)
    query = query.group_by(
        Event.camera, Event.label, Event.zones, Event.has_clip, Event.has_snapshot, pw.SQL("bucket")
    )
    counts: Counter[tuple[str, str, str, tuple[str, ...], bool, bool]] = Counter()
    for row in _rows(query):
        day = datetime.fromtimestamp(int(row["bucket"]) * DAY_BUCKET_S).strftime("%Y-%m-%d")
        key = (row["camera"], row["label"], day, tuple(row["zones"] or ()), bool(row["has_clip"]),
               bool(row["has_snapshot"]))
        counts[key] += int(row["count"])
    ordered = sorted(counts.items(), key=lambda kv: (_desc(kv[0][2]), kv[0][0], kv[0][1], kv[0][3:]))
    return [
        {"camera": camera, "label": label, "day": day, "zones": list(zones), "count": count,
         "has_clip": has_clip, "has_snapshot": has_snapshot}
        for (camera, label, day, zones, has_clip, has_snapshot), count in ordered
    ]


def delete_events_before(
    before: float,
    *,
    camera: str | None = None,
    labels: Sequence[str] | None = None,
    exclude_labels: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Deletes this node's ended events that started before ``before``; returns the deleted rows (without
    thumbnails).

    The caller removes their clip and snapshot files. In-progress events are never deleted, nor other
    nodes' events (their files are on those nodes).
    """
    conditions: list[pw.Expression] = [
        Event.start_time < before, Event.end_time.is_null(False), row_owner().mine(Event.node_id)
    ]
    if camera is not None:
        conditions.append(Event.camera == camera)
    if labels is not None:
        conditions.append(Event.label.in_(list(labels)))
    if exclude_labels:
        conditions.append(Event.label.not_in(list(exclude_labels)))
    fields = tuple(f for f in _ROW_FIELDS if f is not Event.thumbnail)
    database = Event._meta.database
    with database.atomic():
        rows = _rows(Event.select(*fields).where(*conditions))
        ids = [row["id"] for row in rows]
        for start in range(0, len(ids), 500):  # SQLite caps the number of bound parameters
            Event.delete().where(Event.id.in_(ids[start : start + 500])).execute()
    return rows


def _filters(
    before: float | None,
    after: float | None,
    camera: str | None,
    label: str | None,
    zone: str | None,
    has_snapshot: bool | None,
    has_clip: bool | None,
    include_false_positives: bool,
) -> list[pw.Node]:
    conditions: list[pw.Node] = []
    if before is not None:
        conditions.append(Event.start_time < before)
    if after is not None:
        conditions.append(Event.start_time > after)
    if camera is not None:
        conditions.append(Event.camera == camera)
    if label is not None:
        conditions.append(Event.label == label)
    if zone is not None:
        conditions.append(_zones_contain(zone))
    if has_snapshot is not None:
        conditions.append(Event.has_snapshot == has_snapshot)
    if has_clip is not None:
        conditions.append(Event.has_clip == has_clip)
    if not include_false_positives:
        conditions.append(Event.false_positive == False)  # noqa: E712 - peewee expression
    return conditions


def _zones_contain(zone: str) -> pw.Node:
    """``zones LIKE '%"zone"%'`` on the JSON text, with LIKE's wildcards in the name escaped.

    The pattern is a bound parameter; the JSON-encoded name (quotes included) matches one whole
    list element. SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    """
    needle = json.dumps(zone)
    for char in (LIKE_ESCAPE, "%", "_"):
        needle = needle.replace(char, LIKE_ESCAPE + char)
    pattern = pw.Value(f"%{needle}%", converter=False)  # converter=False: not JSON-encoded again
    return pw.NodeList((Event.zones, pw.SQL("LIKE"), pattern, pw.SQL(f"ESCAPE '{LIKE_ESCAPE}'")))


def _bucket_expression(database: pw.Database) -> pw.ColumnBase:
    """``floor(start_time / DAY_BUCKET_S)`` in the backend's dialect (SQLite may lack FLOOR)."""
    if isinstance(database, pw.PostgresqlDatabase):
        return pw.fn.FLOOR(Event.start_time / DAY_BUCKET_S)
    return pw.Cast(Event.start_time / DAY_BUCKET_S, "INTEGER")  # truncation == floor for epoch times


def _rows(query: Any) -> list[dict[str, Any]]:
    """The query's rows as plain dicts (field converters applied: zones is a list, flags are bools)."""
    return [dict(row) for row in query.dicts()]


def _desc(day: str) -> tuple[int, ...]:
    """Sort key putting later ``YYYY-MM-DD`` days first."""
    return tuple(-int(part) for part in day.split("-"))
