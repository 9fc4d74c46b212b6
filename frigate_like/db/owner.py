"""Which node this process writes event and recording rows as, and which rows are its own.

Set once by the composition root before any thread writes (like the model binding of
``database.open_database``, it is process-wide: one daemon is one node). A single node writes
``''``, the value rows had before clusters existed; a cluster node writes its ``cluster.node_id``.
Retention deletes only the rows (and so the files) that are this node's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import peewee as pw


@dataclass(frozen=True)
class RowOwner:
    node_id: str = ""  # '' = a single node

    def mine(self, column: pw.Field) -> pw.Expression:
        """The condition selecting this node's rows."""
        return column == self.node_id


_owner = RowOwner()


def set_row_owner(owner: RowOwner) -> None:
    global _owner
    _owner = owner


def row_owner() -> RowOwner:
    return _owner
