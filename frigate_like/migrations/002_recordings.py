"""002: the recordings table, one row per 24/7 segment moved out of the cache (frozen: never import the live models)."""

from __future__ import annotations

from typing import Any

import peewee as pw
from peewee_migrate import Migrator

# Index name -> columns: a camera's timeline, and oldest-first deletion across cameras.
INDEXES = {
    "recordings_camera_start_time": "camera, start_time",
    "recordings_start_time": "start_time",
}


def migrate(migrator: Migrator, database: pw.Database, *, fake: bool = False, **kwargs: Any) -> None:
    """Create the recordings table."""

    @migrator.create_model
    class Recordings(pw.Model):
        id = pw.AutoField()
        camera = pw.CharField(max_length=64)
        path = pw.TextField(unique=True)  # a file is recorded once; a retried move finds its row
        start_time = pw.DoubleField()  # epoch seconds, DOUBLE like event times
        end_time = pw.DoubleField()
        duration = pw.DoubleField()
        size_bytes = pw.BigIntegerField()

        class Meta:
            table_name = "recordings"

    for name, columns in INDEXES.items():
        migrator.sql(f"CREATE INDEX {name} ON recordings ({columns})")


def rollback(migrator: Migrator, database: pw.Database, *, fake: bool = False, **kwargs: Any) -> None:
    """Drop the recordings table (its indexes go with it)."""
    migrator.remove_model("recordings")
