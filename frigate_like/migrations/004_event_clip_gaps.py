"""004: ``event.clip_gaps``, the stretches of an event's clip with no footage (frozen: never import the live models).

A JSON list of ``[from, to]`` unix seconds, like ``zones`` a TEXT column so SQLite and
PostgreSQL read it the same; events from before this migration have none recorded (``[]``).
"""

from __future__ import annotations

from typing import Any

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake: bool = False, **kwargs: Any) -> None:
    """Add the column, ``[]`` for every existing event."""
    migrator.sql("ALTER TABLE event ADD COLUMN clip_gaps TEXT NOT NULL DEFAULT '[]'")


def rollback(migrator: Migrator, database: pw.Database, *, fake: bool = False, **kwargs: Any) -> None:
    """Drop it (SQLite 3.35+ and PostgreSQL both know DROP COLUMN)."""
    migrator.sql("ALTER TABLE event DROP COLUMN clip_gaps")
