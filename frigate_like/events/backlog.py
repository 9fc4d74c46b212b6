"""Event writes that survive a database refusing them (locked, disk full, server down) and a crash.

Writes are applied in order by one drain thread, so the events thread never waits for the
database. With a spill file, every write is appended to it (flushed and fsync'd) before it is
queued: a crash at any moment loses no write, and the next start replays the file. Replaying is
safe: a create that exists already is skipped and updates set the same values again, in order.
The queue keeps ``memory_limit`` writes in memory; the rest are read back from the file as the
queue drains. The file is compacted as it drains and removed once the database has everything.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
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
MEMORY_LIMIT = 1000  # writes kept in memory; the rest are read back from the spill file
DRAIN_IN_BACKGROUND = True  # False: writes are applied on the caller's thread (unit tests)
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
    """The event writer's path to the database.

    ``create``/``update`` return once the write is durable (in the spill file) and queued; the
    drain thread (started with the first write) applies the queue in order. Thread-safe.
    """

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
        self._lock = threading.Condition()
        self._memory: deque[Write] = deque()  # the head of the queue
        self._unloaded = 0  # queued writes only in the spill file, after _read_pos
        self._read_pos = 0  # byte offset in the spill file of the first write not in memory
        self._next_try = 0.0
        self._refused_since: float | None = None
        self._drainer: threading.Thread | None = None
        self._closing = False
        if spill_path is not None and spill_path.exists():
            self._unloaded = _repair(spill_path)
            if self._unloaded:
                logger.warning("%d event write(s) left from the last run in %s; replaying", self._unloaded, spill_path)

    def __len__(self) -> int:
        with self._lock:
            return len(self._memory) + self._unloaded

    def create(self, event_id: str, **fields: Any) -> None:
        self._submit(Write("create", event_id, fields))

    def update(self, event_id: str, **fields: Any) -> None:
        self._submit(Write("update", event_id, fields))

    def pending(self) -> list[Write]:
        """The writes the database may not have yet, oldest first (recovery reads them before the DB)."""
        with self._lock:
            writes = list(self._memory)
            if self._unloaded and self._spill_path is not None:
                try:
                    with self._spill_path.open("rb") as spill:
                        spill.seek(self._read_pos)
                        lines = spill.read().decode(errors="replace").splitlines()
                    writes += [w for w in map(_parse, lines) if w is not None]
                except OSError as exc:
                    logger.error("cannot read spilled event writes from %s: %s", self._spill_path, exc)
            return writes

    def retry(self, force: bool = False) -> bool:
        """Applies queued writes on this thread if it is time to try again (none while the drain
        thread runs: it does); True when none are left."""
        if self._drainer is not None and self._drainer.is_alive():
            return not len(self)
        if not force and self._clock() < self._next_try:
            return not len(self)
        return self._drain()

    def wait_drained(self, timeout: float) -> bool:
        """Waits until the database has every queued write; False if it still refuses some."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._memory) + self._unloaded:
                if self._drainer is None or not self._drainer.is_alive():
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.2))
        return self.retry(force=True)

    def close(self, timeout: float = 3.0) -> None:
        """Shutdown: waits up to ``timeout`` for the queue to drain; what is left stays in the spill file."""
        self.wait_drained(timeout)
        with self._lock:
            self._closing = True
            self._lock.notify_all()
            left = len(self._memory) + self._unloaded
        if not left:
            return
        if self._spill_path is None:
            logger.error("%d event write(s) lost: the database refused them until shutdown", left)
        else:
            logger.warning("%d event write(s) kept in %s for the next start", left, self._spill_path)

    # -- internals ------------------------------------------------------------------------------
    def _submit(self, write: Write) -> None:
        with self._lock:
            self._enqueue(write)
            self._lock.notify_all()
            background = DRAIN_IN_BACKGROUND and not self._closing
            if background and (self._drainer is None or not self._drainer.is_alive()):
                self._drainer = threading.Thread(target=self._drain_loop, name="event-writes", daemon=True)
                self._drainer.start()
        if not background:
            self.retry(force=len(self) == 1)  # a write that finds the queue empty is tried at once

    def _enqueue(self, write: Write) -> None:
        """Appends to the spill file, then to the queue (memory, or the file alone past the bound)."""
        if self._spill_path is None:
            self._memory.append(write)
            return
        try:
            with self._spill_path.open("ab") as spill:
                spill.write((write.to_json() + "\n").encode())
                spill.flush()
                os.fsync(spill.fileno())
                end = spill.tell()
        except OSError as exc:
            logger.error("cannot spill an event write to %s: %s; keeping it in memory", self._spill_path, exc)
            if self._unloaded:
                self._load(None)  # order: what is only on disk must come first
            self._memory.append(write)
            return
        if self._unloaded or len(self._memory) >= self._memory_limit:
            self._unloaded += 1
        else:
            self._memory.append(write)
            self._read_pos = end

    def _drain_loop(self) -> None:
        while True:
            with self._lock:
                while not (len(self._memory) + self._unloaded) and not self._closing:
                    self._lock.wait()
                if self._closing:
                    return
                delay = self._next_try - self._clock()
                if delay > 0:
                    self._lock.wait(delay)
                    continue
            try:
                self._drain()
            except Exception:
                logger.exception("event writes: draining failed")
                self._next_try = self._clock() + RETRY_INTERVAL

    def _drain(self) -> bool:
        """Applies queued writes in order until the database refuses one; True when none are left."""
        while True:
            with self._lock:
                if self._closing and threading.current_thread() is self._drainer:
                    return False  # shutdown: what is left is in the spill file
                if not self._memory and self._unloaded:
                    self._load(self._memory_limit)
                if not self._memory:
                    self._forget_spill()
                    self._lock.notify_all()
                    break
                head = self._memory[0]
            if not self._apply(head):
                return False
            with self._lock:
                self._memory.popleft()
        self._recovered()
        return True

    def _load(self, limit: int | None) -> None:
        """Moves the oldest writes only on disk to memory; with none left in memory, the spill file
        is first compacted to the writes not yet applied."""
        assert self._spill_path is not None
        try:
            if not self._memory and self._read_pos:  # every write before _read_pos is in the database
                with self._spill_path.open("rb") as spill:
                    spill.seek(self._read_pos)
                    rest = spill.read()
                _write_durably(self._spill_path, rest)
                self._read_pos = 0
            with self._spill_path.open("rb") as spill:
                spill.seek(self._read_pos)
                lines = spill.read().splitlines(keepends=True)
        except OSError as exc:
            logger.error("%d event write(s) lost: cannot read %s: %s", self._unloaded, self._spill_path, exc)
            self._unloaded = 0
            return
        head = lines if limit is None else lines[:limit]
        self._memory.extend(w for w in (_parse(line.decode(errors="replace")) for line in head) if w is not None)
        self._read_pos += sum(len(line) for line in head)
        self._unloaded = len(lines) - len(head)

    def _forget_spill(self) -> None:
        """The database has everything: the spill file goes (compacted to nothing)."""
        if self._spill_path is not None:
            try:
                self._spill_path.unlink(missing_ok=True)
            except OSError as exc:
                logger.error("cannot remove %s: %s", self._spill_path, exc)
            self._read_pos = 0

    def _apply(self, write: Write) -> bool:
        try:
            if write.op == "create":
                # Conflict: an earlier attempt (or the run before a crash) got it in already.
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


def _write_durably(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _repair(path: Path) -> int:
    """Cuts a last line left half-written by a crash (so later appends start on a line of their
    own); returns how many writes the file holds."""
    try:
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            logger.error("skipping a half-written event write at the end of %s: %.200r", path, data[cut:])
            data = data[:cut]
            _write_durably(path, data)
    except OSError as exc:
        logger.error("cannot read event writes left in %s: %s", path, exc)
        return 0
    return sum(1 for line in data.splitlines() if line.strip())


def _parse(line: str) -> Write | None:
    if not line.strip():
        return None
    try:
        return Write.from_json(line)
    except (ValueError, KeyError, TypeError):
        logger.error("skipping an unreadable spilled event write: %.200s", line)
        return None
