"""Peewee models of the event store, declared without a database (``database.open_database`` binds them).

The schema itself is owned by ``frigate_like/migrations/``; these classes only describe it for queries.
Keep them in step with the newest migration.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import peewee as pw


class JSONListField(pw.TextField):
    """A list stored as JSON text, so the same column works on SQLite and PostgreSQL."""

    def db_value(self, value: Iterable[Any] | None) -> str | None:
        if value is None:
            return None
        return json.dumps(list(value))

    def python_value(self, value: str | None) -> list[Any] | None:
        if value is None:
            return None
        loaded = json.loads(value)
        return list(loaded) if isinstance(loaded, list) else [loaded]


class BaseModel(pw.Model):
    """Unbound base: no ``database`` in Meta on purpose."""


class Event(BaseModel):
    """One tracked object's event, in the field order of Frigate 0.8's ``/api/events`` rows."""

    id = pw.CharField(primary_key=True, max_length=64)  # "<start_time>-<6 random chars>"
    label = pw.CharField(max_length=64)
    camera = pw.CharField(max_length=64)
    start_time = pw.DoubleField()  # epoch seconds; DOUBLE (PostgreSQL REAL would round to ~100 s)
    end_time = pw.DoubleField(null=True)  # null while the event is in progress
    top_score = pw.DoubleField(default=0.0)
    false_positive = pw.BooleanField(default=False)
    zones = JSONListField(default=list)
    thumbnail = pw.TextField(null=True)  # base64 jpeg
    has_clip = pw.BooleanField(default=False)
    has_snapshot = pw.BooleanField(default=False)
    # [[from, to], ...] unix seconds: stretches of the clip's time range with no footage (migration 004)
    clip_gaps = JSONListField(default=list)
    node_id = pw.CharField(max_length=64, default="")  # the node that wrote it and holds its files (migration 005)

    class Meta:
        table_name = "event"
        # Created by migrations/001_initial.py and 002 with start_time DESC (newest-first listing);
        # declared here only so the model describes the real schema.
        indexes = (
            (("start_time",), False),
            (("camera", "start_time"), False),
            (("label", "start_time"), False),
            (("camera", "label", "start_time"), False),
        )


class Recording(BaseModel):
    """One 24/7 segment in ``<media>/recordings``: ``path`` covers wall-clock ``[start_time, end_time)``."""

    id = pw.AutoField()
    camera = pw.CharField(max_length=64)
    path = pw.TextField(unique=True)
    start_time = pw.DoubleField()  # epoch seconds
    end_time = pw.DoubleField()
    duration = pw.DoubleField()
    size_bytes = pw.BigIntegerField()
    node_id = pw.CharField(max_length=64, default="")  # the node that holds the file (migration 005)

    class Meta:
        table_name = "recordings"
        # Created by migrations/002_recordings.py and 005; declared so the model describes the real schema.
        indexes = (
            (("camera", "start_time"), False),
            (("start_time",), False),
            (("node_id", "start_time"), False),
        )


class ClusterNode(BaseModel):
    """One node of a cluster (migration 005). Times are epoch seconds from the database's clock."""

    node_id = pw.CharField(primary_key=True, max_length=64)
    url = pw.TextField(default="")  # how other nodes and browsers reach its HTTP API
    instance = pw.CharField(max_length=64)  # random per process: tells a second live holder of the id
    started_at = pw.DoubleField()
    heartbeat_at = pw.DoubleField()
    stopped_at = pw.DoubleField(null=True)  # set by a clean stop
    stats = pw.TextField(default="{}")  # JSON: Frigate 0.8 /api/stats entries of the cameras it runs

    class Meta:
        table_name = "cluster_node"


class CameraLease(BaseModel):
    """Which node runs a camera, until ``expires_at`` (database clock; migration 005)."""

    camera = pw.CharField(primary_key=True, max_length=64)
    node_id = pw.CharField(max_length=64, index=True)
    acquired_at = pw.DoubleField()
    expires_at = pw.DoubleField()

    class Meta:
        table_name = "camera_lease"


class CameraGroupRow(BaseModel):
    """A camera group stored in the database in cluster mode (migration 005); ``body`` is its JSON."""

    group_id = pw.CharField(primary_key=True, max_length=64)
    body = pw.TextField()
    updated_at = pw.DoubleField()

    class Meta:
        table_name = "camera_group_row"


MODELS: tuple[type[pw.Model], ...] = (Event, Recording, ClusterNode, CameraLease, CameraGroupRow)
