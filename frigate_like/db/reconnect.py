"""The one place that keeps database connections alive across an outage, and says when the database is away.

Every reader and writer (event writer, recordings, retention, API reads) goes through the
database object built here, on whichever thread it runs: peewee keeps one connection per thread,
so each thread's connection is checked on its own.

- PostgreSQL (:class:`ReconnectingPostgresqlDatabase`): a statement that fails because the
  connection is gone (the server restarted, ``pg_terminate_backend``, a network cut) drops that
  thread's connection and, outside a transaction, runs once more on a new one (our statements
  are safe to repeat: inserts by id or upserts, updates and deletes by key). While the server
  stays away, each statement tries one connection (refused at once; ``connect_timeout`` bounds an
  unreachable host) and raises :class:`DatabaseUnavailable`.
- SQLite (:class:`WatchedSqliteDatabase`): a locked or unreadable file raises
  :class:`DatabaseUnavailable` after the busy timeout; there is no connection to re-make.

:class:`DatabaseUnavailable` is both the package's ``Unavailable`` (the API answers 503) and
peewee's ``OperationalError`` (the event writer's backlog queues the write, as it did before).
Each statement's outcome feeds the ``database`` health entry; :class:`DatabaseWatch` probes the
server so the entry also turns ok again (and not ok) when nobody else is asking.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol, cast

import peewee as pw

from frigate_like.errors import Unavailable

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5  # an unreachable host fails a request after this, instead of hanging it
PROBE_INTERVAL_OK = 5.0  # s between probes while the database answers
PROBE_INTERVAL_DOWN = 0.5  # s between probes while it is away: back within a second of its return
# SQLite errors that say "not now" rather than "this statement is wrong" (those are OperationalError too)
SQLITE_OUTAGES = ("locked", "busy", "disk i/o error", "disk is full", "unable to open", "readonly database")


class DatabaseUnavailable(Unavailable, pw.OperationalError):
    """The database cannot be reached or used right now: retry later (HTTP 503)."""


class HealthLike(Protocol):
    def failed(self, error: BaseException | str) -> None: ...
    def ok(self) -> None: ...
    @property
    def is_ok(self) -> bool: ...


class _Watched:
    """Outcome reporting shared by both backends: every statement says ok or failed to the health entry."""

    _state: Any  # peewee's per-thread connection state (not in its stubs)
    _adapter: Any  # peewee's psycopg adapter (PostgreSQL only)
    _health: HealthLike | None = None
    _down_since: float | None = None
    _down_lock = threading.Lock()

    def watch(self, health: HealthLike) -> None:
        """Feeds ``health`` from now on (the supervisor's ``database`` entry)."""
        self._health = health

    def _succeeded(self) -> None:
        if self._down_since is not None:
            with self._down_lock:
                if self._down_since is not None:
                    logger.warning("the database answers again after %.1f s", time.monotonic() - self._down_since)
                    self._down_since = None
        if self._health is not None:
            self._health.ok()

    def _unavailable(self, exc: BaseException) -> DatabaseUnavailable:
        """The error to raise for an outage, logged once per outage (not once per statement)."""
        with self._down_lock:
            if self._down_since is None:
                self._down_since = time.monotonic()
                logger.error("the database is unavailable (%s); retrying", _one_line(exc))
        if self._health is not None:
            self._health.failed(f"database unavailable: {_one_line(exc)}")
        return DatabaseUnavailable(f"the database is unavailable: {_one_line(exc)}")


class ReconnectingPostgresqlDatabase(_Watched, pw.PostgresqlDatabase):
    """PostgreSQL whose per-thread connection is re-made after the server went away."""

    def __init__(self, database: str, **kwargs: Any) -> None:
        kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        super().__init__(database, **kwargs)

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        try:
            cursor = super().execute_sql(sql, params)
        except (pw.OperationalError, pw.InterfaceError) as exc:
            if not self._connection_lost():
                raise  # a statement the server refused (e.g. a constraint): not an outage
            if self.in_transaction():
                raise self._unavailable(exc) from exc  # a retry could apply half a transaction
            self.reset_connection()
            try:
                cursor = super().execute_sql(sql, params)
            except (pw.OperationalError, pw.InterfaceError) as again:
                if not self._connection_lost():
                    raise
                self.reset_connection()
                raise self._unavailable(again) from again
        self._succeeded()
        return cursor

    def begin(self, isolation_level: Any = None) -> None:
        """``atomic()``'s BEGIN: a lost connection is re-made first (nothing of the transaction is lost yet)."""
        for attempt in (1, 2):
            try:
                super().begin(isolation_level)
                return
            except (pw.OperationalError, pw.InterfaceError) as exc:
                if not self._connection_lost():
                    raise
                self.reset_connection()
                if attempt == 2:
                    raise self._unavailable(exc) from exc

    def commit(self) -> None:
        try:
            super().commit()
        except (pw.OperationalError, pw.InterfaceError) as exc:
            if not self._connection_lost():
                raise
            self.reset_connection()
            raise self._unavailable(exc) from exc  # the server rolled the transaction back with the connection

    def rollback(self) -> None:
        """A lost connection has nothing left to roll back (the server did it): dropped, no error."""
        if self.is_closed() or self._connection_lost():
            self.reset_connection()
            return
        super().rollback()

    def _connection_lost(self) -> bool:
        """True when the calling thread has no usable connection (never opened, refused, or broken)."""
        if self.is_closed():
            return True  # the connect itself failed
        conn = self._state.conn
        return bool(getattr(conn, "closed", 0)) or self._adapter.txn_status(conn) == self._adapter.txn_unknown

    def reset_connection(self) -> None:
        """Forgets the calling thread's connection so its next statement opens a new one."""
        conn = self._state.conn
        transactions = list(self._state.transactions)
        self._state.reset()
        self._state.transactions = transactions  # atomic()'s exit pops its own entry
        if conn is not None:
            try:
                conn.close()
            except Exception as exc:  # a broken connection may fail to close: it is dropped anyway
                logger.debug("closing a lost database connection: %s", exc)


class WatchedSqliteDatabase(_Watched, pw.SqliteDatabase):
    """SQLite whose "locked" and I/O errors are outages (503), not bugs (500)."""

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        try:
            cursor = super().execute_sql(sql, params)
        except pw.OperationalError as exc:
            if not _sqlite_outage(exc):
                raise
            raise self._unavailable(exc) from exc
        self._succeeded()
        return cursor

    def commit(self) -> None:
        try:
            super().commit()
        except pw.OperationalError as exc:  # a write transaction's COMMIT waits for the lock too
            if not _sqlite_outage(exc):
                raise
            raise self._unavailable(exc) from exc

    def reset_connection(self) -> None:
        """Closes the calling thread's connection (the next statement opens the file again)."""
        if self.in_transaction():
            return
        try:
            self.close()
        except pw.PeeweeException:
            self._state.reset()


def reset_connection(db: pw.Database) -> None:
    """Drops the calling thread's connection; its next statement connects again."""
    reset = getattr(db, "reset_connection", None)
    if reset is not None:
        reset()
        return
    try:
        if not db.is_closed():
            db.close()
    except pw.PeeweeException:
        cast(Any, db)._state.reset()  # closing a broken connection may fail: forget it anyway


class DatabaseWatch:
    """Asks the database ``SELECT 1`` now and then (more often while it is away); a supervised thread's body.

    The statements of every other thread feed the health entry too; this one makes sure it turns
    ok again after an outage even when no request, event or segment needs the database.
    """

    def __init__(
        self,
        db: pw.Database,
        health: HealthLike,
        stop: threading.Event,
        *,
        interval_ok: float = PROBE_INTERVAL_OK,
        interval_down: float = PROBE_INTERVAL_DOWN,
    ) -> None:
        self._db, self._health, self._stop = db, health, stop
        if isinstance(db, _Watched):
            db.watch(health)  # every thread's statements report to the same entry
        self._interval_ok, self._interval_down = interval_ok, interval_down

    def probe(self) -> bool:
        """One ``SELECT 1``; True when the database answered."""
        try:
            self._db.execute_sql("SELECT 1").fetchall()
        except (pw.OperationalError, pw.InterfaceError) as exc:
            if not isinstance(exc, DatabaseUnavailable):
                self._health.failed(f"database unavailable: {_one_line(exc)}")
            return False
        if not isinstance(self._db, _Watched):
            self._health.ok()
        return True

    def run(self) -> None:
        try:
            while not self._stop.wait(self._interval_ok if self._health.is_ok else self._interval_down):
                self.probe()
        finally:
            try:
                reset_connection(self._db)
            except Exception as exc:
                logger.debug("closing the probe's database connection: %s", exc)


def _sqlite_outage(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(fragment in text for fragment in SQLITE_OUTAGES)


def _one_line(exc: BaseException) -> str:
    """psycopg2's messages run over several lines ("...\\nserver closed the connection ...")."""
    return " ".join(str(exc).split()) or type(exc).__name__
