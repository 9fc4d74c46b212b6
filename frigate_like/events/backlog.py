"""Event writes that survive a database refusing them (locked, disk full, server down).

Writes are applied in order. When one fails for a reason the database may get over, it and every
later write wait in a backlog, retried every few seconds until the database takes them again.
The backlog keeps ``memory_limit`` writes in memory; the rest go to a JSON-lines spill file,
which also keeps what is left at shutdown and is replayed at the next start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import peewee as pw

from frigate_like.errors import Conflict

logger = logging.getLogger(__name__)

RETRY_INTERVAL = 2.0  # seconds between attempts while the database refuses writes
MEMORY_LIMIT = 1000  # writes kept in memory; the rest are spilled to disk
# Failures the database may get over by itself. Anything else is a bug in the write: logged, dropped.
REFUSALS: tuple[type[BaseException], ...] = (pw.OperationalError, pw.InterfaceError, OSError)


class EventStore(Protocol):
    """The DB operations events need (db/queries.py)."""

    @property
    def create_event(self) -> Callable[..., object]: ...
    @property
    def update_event(self) -> Callable[..., object]: ...
    def reset_connection(self) -> None: ...


class HealthLike(Protocol):
    def failed(self, error: BaseException | str) -> None: ...
    def ok(self) -> None: ...


@dataclass
class Write:
    op: str  # "create" or "update"
    event_id: str
    fields: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"op": self.op, "id": self.event_id, "fields": self.fields})

    @classmethod
    def from_json(cls, line: str) -> Write:
        raw = json.loads(line)
        return cls(str(raw["op"]), str(raw["id"]), dict(raw["fields"]))


class WriteBacklog:
    """The event writer's path to the database; single-threaded (the events thread)."""

    def __init__(
        self,
        store: EventStore,
        spill_path: Path | None,
        health: HealthLike | None = None,
        memory_limit: int = MEMORY_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._spill_path = spill_path
        self._health = health
        self._memory_limit = memory_limit
        self._clock = clock
        self._memory: deque[Write] = deque()
        self._spilled = 0  # writes in the spill file (all newer than those in memory)
        self._next_try = 0.0
        self._refused_since: float | None = None
        if spill_path is not None and spill_path.exists():
            self._spilled = sum(1 for line in spill_path.read_text().splitlines() if line.strip())
            if self._spilled:
                logger.warning("%d event write(s) left from the last run in %s; replaying", self._spilled, spill_path)

    def __len__(self) -> int:
        return len(self._memory) + self._spilled

    def create(self, event_id: str, **fields: Any) -> None:
        self._submit(Write("create", event_id, fields))

    def update(self, event_id: str, **fields: Any) -> None:
        self._submit(Write("update", event_id, fields))

    def retry(self, force: bool = False) -> bool:
        """Applies queued writes in order if it is time to try again; True when none are left."""
        if not len(self):
            return True
        if not force and self._clock() < self._next_try:
            return False
        while len(self):
            if not self._memory:
                self._unspill()
            if not self._memory:
                break  # the spill file could not be read: counted as gone, logged
            if not self._apply(self._memory[0]):
                return False
            self._memory.popleft()
        self._recovered()
        return True

    def close(self) -> None:
        """Shutdown: a last attempt, then whatever is left goes to the spill file for the next start."""
        if self.retry(force=True) or not self._memory:
            return
        if self._spill_path is None:
            logger.error("%d event write(s) lost: the database refused them until shutdown", len(self))
            return
        try:
            rest = self._spill_path.read_text() if self._spilled else ""
            tmp = self._spill_path.with_name(self._spill_path.name + ".tmp")
            tmp.write_text("".join(w.to_json() + "\n" for w in self._memory) + rest)
            os.replace(tmp, self._spill_path)
        except OSError as exc:
            logger.error("%d event write(s) lost: cannot write %s: %s", len(self), self._spill_path, exc)
            return
        logger.warning("%d event write(s) kept in %s for the next start", len(self), self._spill_path)

    # -- internals ------------------------------------------------------------------------------
    def _submit(self, write: Write) -> None:
        if not len(self):
            if self._apply(write):
                return
            self._memory.append(write)
            return
        if not self._spilled and self._memory:
            last = self._memory[-1]
            if write.op == "update" and last.event_id == write.event_id:
                last.fields.update(write.fields)  # only the latest values matter
                return
        if (self._spilled or len(self._memory) >= self._memory_limit) and self._spill(write):
            return
        self._memory.append(write)  # no spill file (or it failed): memory is the last resort
        self.retry()

    def _apply(self, write: Write) -> bool:
        try:
            if write.op == "create":
                # Conflict: an earlier attempt went through before its error reached us.
                with contextlib.suppress(Conflict):
                    self._store.create_event(id=write.event_id, **write.fields)
            else:
                self._store.update_event(write.event_id, **write.fields)
        except REFUSALS as exc:
            self._refused(exc)
            return False
        except Exception:
            logger.exception("event %s: %s dropped", write.event_id, write.op)
        return True

    def _refused(self, exc: BaseException) -> None:
        self._next_try = self._clock() + RETRY_INTERVAL
        try:
            self._store.reset_connection()  # a dropped server connection is only replaced once closed
        except Exception as reset_exc:
            logger.debug("could not reset the database connection: %s", reset_exc)
        if self._refused_since is None:
            self._refused_since = self._clock()
            logger.error("the database refuses event writes (%s); queueing them and retrying", exc)
        if self._health is not None:
            self._health.failed(f"database refuses writes: {exc}")

    def _recovered(self) -> None:
        if self._refused_since is not None:
            logger.warning(
                "the database accepts event writes again after %.0f s", self._clock() - self._refused_since
            )
            self._refused_since = None
        if self._health is not None:
            self._health.ok()

    def _spill(self, write: Write) -> bool:
        if self._spill_path is None:
            return False
        try:
            with self._spill_path.open("a") as spill:
                spill.write(write.to_json() + "\n")
        except OSError as exc:
            logger.error("cannot spill event writes to %s: %s; keeping them in memory", self._spill_path, exc)
            return False
        self._spilled += 1
        return True

    def _unspill(self) -> None:
        """Moves the oldest spilled writes back to memory."""
        assert self._spill_path is not None or not self._spilled
        if self._spill_path is None:
            return
        try:
            lines = [line for line in self._spill_path.read_text().splitlines() if line.strip()]
            head, rest = lines[: self._memory_limit], lines[self._memory_limit :]
            writes = [write for write in map(_parse, head) if write is not None]
            if rest:
                tmp = self._spill_path.with_name(self._spill_path.name + ".tmp")
                tmp.write_text("".join(line + "\n" for line in rest))
                os.replace(tmp, self._spill_path)
            else:
                self._spill_path.unlink()
        except OSError as exc:
            logger.error("cannot read spilled event writes from %s: %s", self._spill_path, exc)
            self._spilled = 0
            return
        self._memory.extend(writes)
        self._spilled = len(rest)


def _parse(line: str) -> Write | None:
    try:
        return Write.from_json(line)
    except (ValueError, KeyError, TypeError):  # e.g. the last line of a spill cut by a crash
        logger.error("skipping an unreadable spilled event write: %.200s", line)
        return None
