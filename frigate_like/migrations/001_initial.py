"""001: the event table and its listing indexes (frozen: never import the live models)."""

from __future__ import annotations

from typing import Any

import peewee as pw
from peewee_migrate import Migrator

# Index name -> columns. DESC because the API lists newest first; the names are the ones
# peewee would give the live model's Meta.indexes.
INDEXES = {
    "event_start_time": "start_time DESC",
    "event_camera_start_time": "camera, start_time DESC",
    "event_label_start_time": "label, start_time DESC",
}


def migrate(migrator: Migrator, database: pw.Database, *, fake: bool = False, **kwargs: Any) -> None:
    """Create the event table."""

    @migrator.create_model
    class Event(pw.Model):
        id = pw.CharField(primary_key=True, max_length=64)
        label = pw.CharField(max_length=64)
        camera = pw.CharField(max_length=64)
        start_time = pw.DoubleField()
        end_time = pw.DoubleField(null=True)
        top_score = pw.DoubleField(default=0.0)
        false_positive = pw.BooleanField(default=False)
        zones = pw.TextField(default="[]")  # JSON list
        thumbnail = pw.TextField(null=True)
        has_clip = pw.BooleanField(default=False)
        has_snapshot = pw.BooleanField(default=False)

        class Meta:
            table_name = "event"

    for name, columns in INDEXES.items():
        migrator.sql(f"CREATE INDEX {name} ON event ({columns})")


def rollback(migrator: Migrator, database: pw.Database, *, fake: bool = False, **kwargs: Any) -> None:
    """Drop the event table (its indexes go with it)."""
    migrator.remove_model("event")
