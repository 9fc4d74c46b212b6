"""005: the cluster's shared state (frozen: never import the live models).

- ``event.node_id`` and ``recordings.node_id``: the node that wrote the row and holds its files
  ('' for rows written before this migration: the node that migrated them holds them).
- ``cluster_node``: one row per node: the URL other nodes and browsers reach it at, its heartbeat,
  the random ``instance`` of the process holding the id (a second live process with the same
  ``node_id`` sees another instance with a fresh heartbeat and refuses to start), and its stats
  (Frigate 0.8's ``/api/stats`` entries of the cameras it runs, JSON) for the merged view.
- ``camera_lease``: which node runs a camera, until ``expires_at``. Every time in both tables is
  epoch seconds from the database's clock, never a node's, so clock skew between boxes cannot
  make two nodes believe they hold one camera.
- ``camera_group_row``: camera groups stored in the database in cluster mode, so any node's API
  can add one (``body``: the group's stored JSON, as ``groups/store.py`` writes it to a file).
"""

from __future__ import annotations

from typing import Any

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake: bool = False, **kwargs: Any) -> None:
    """Add the node columns and the three cluster tables."""
    migrator.sql("ALTER TABLE event ADD COLUMN node_id VARCHAR(64) NOT NULL DEFAULT ''")
    migrator.sql("ALTER TABLE recordings ADD COLUMN node_id VARCHAR(64) NOT NULL DEFAULT ''")
    migrator.sql("CREATE INDEX recordings_node_id_start_time ON recordings (node_id, start_time)")
    migrator.sql(
        "CREATE TABLE cluster_node ("
        " node_id VARCHAR(64) NOT NULL PRIMARY KEY,"
        " url TEXT NOT NULL DEFAULT '',"
        " instance VARCHAR(64) NOT NULL,"
        " started_at DOUBLE PRECISION NOT NULL,"
        " heartbeat_at DOUBLE PRECISION NOT NULL,"
        " stopped_at DOUBLE PRECISION NULL,"
        " stats TEXT NOT NULL DEFAULT '{}')"
    )
    migrator.sql(
        "CREATE TABLE camera_lease ("
        " camera VARCHAR(64) NOT NULL PRIMARY KEY,"
        " node_id VARCHAR(64) NOT NULL,"
        " acquired_at DOUBLE PRECISION NOT NULL,"
        " expires_at DOUBLE PRECISION NOT NULL)"
    )
    migrator.sql("CREATE INDEX camera_lease_node_id ON camera_lease (node_id)")
    migrator.sql(
        "CREATE TABLE camera_group_row ("
        " group_id VARCHAR(64) NOT NULL PRIMARY KEY,"
        " body TEXT NOT NULL,"
        " updated_at DOUBLE PRECISION NOT NULL)"
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake: bool = False, **kwargs: Any) -> None:
    """Drop the tables and the columns (SQLite 3.35+ and PostgreSQL both know DROP COLUMN)."""
    for table in ("camera_group_row", "camera_lease", "cluster_node"):
        migrator.sql(f"DROP TABLE {table}")
    migrator.sql("DROP INDEX recordings_node_id_start_time")
    migrator.sql("ALTER TABLE recordings DROP COLUMN node_id")
    migrator.sql("ALTER TABLE event DROP COLUMN node_id")
