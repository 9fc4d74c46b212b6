"""003: an index for /api/events filtered by camera and label together (frozen: never import the live models).

Home Assistant's cards ask for one camera's events of one label after a time. With only the
single-column indexes of 001 SQLite walks the label's index and filters the camera row by row;
with 100 000 events that was 1.4 ms for a rare camera+label pair, 0.26 ms with this index
(bench/api_latency.py, BENCHMARKS.md).
"""

from __future__ import annotations

from typing import Any

import peewee as pw
from peewee_migrate import Migrator

NAME = "event_camera_label_start_time"  # the name peewee gives the live model's Meta.indexes entry


def migrate(migrator: Migrator, database: pw.Database, *, fake: bool = False, **kwargs: Any) -> None:
    """Create the (camera, label, start_time DESC) index."""
    migrator.sql(f"CREATE INDEX {NAME} ON event (camera, label, start_time DESC)")


def rollback(migrator: Migrator, database: pw.Database, *, fake: bool = False, **kwargs: Any) -> None:
    """Drop it."""
    migrator.sql(f"DROP INDEX {NAME}")
