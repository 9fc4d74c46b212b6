"""Opens the event store: SQLite file or database URL, backup before migrating, migrations, model binding.

Connections are per thread (peewee's default ``thread_safe=True``): the event processor
writes on its own thread and every HTTP worker thread reads on its own connection. SQLite
runs in WAL mode so readers never block the writer. A PostgreSQL connection lost with its
server is re-made on the thread's next statement (``db/reconnect.py``).
"""

from __future__ import annotations

import contextlib
import glob
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import peewee as pw
from peewee_migrate import Router
from playhouse import db_url

from frigate_like.db.models import MODELS
from frigate_like.db.reconnect import ReconnectingPostgresqlDatabase, WatchedSqliteDatabase
from frigate_like.errors import ConfigError, FrigateLikeError, Unavailable

logger = logging.getLogger(__name__)

MIGRATE_TABLE = "migratehistory"  # peewee_migrate's default history table
KEEP_BACKUPS = 3
# pg_advisory_lock key serialising migrations among the nodes of one database (any fixed 64-bit number
# unlikely to be chosen by another application on the same server)
MIGRATION_LOCK_KEY = 0x46_4C_4D_49_47_52_41_54  # "FLMIGRAT"
BUSY_TIMEOUT_S = 10.0
POSTGRES_SCHEMES = ("postgres", "postgresql")  # built here, with reconnect (db/reconnect.py); others by playhouse

SQLITE_PRAGMAS: dict[str, object] = {
    "journal_mode": "wal",  # readers (HTTP threads) never block the writer (event processor)
    "synchronous": "normal",  # safe with WAL: a power cut may lose the last commit, never corrupts
    "foreign_keys": 1,
    "busy_timeout": int(BUSY_TIMEOUT_S * 1000),  # ms; a second writer waits instead of failing
}


class DatabaseSettings(Protocol):
    """The ``database`` config section: a URL wins over the SQLite path."""

    @property
    def path(self) -> Path: ...

    @property
    def url(self) -> str | None: ...


def open_database(
    db_cfg: DatabaseSettings, migrations_dir: Path, *, keep_backups: int = KEEP_BACKUPS
) -> pw.Database:
    """Connects, backs an existing SQLite file up when migrations are pending, migrates, binds the models.

    Raises ``ConfigError`` for an unusable URL, ``Unavailable`` when the server cannot be
    reached (retry later), and ``FrigateLikeError`` when the migrations folder is missing or a
    migration fails (the failed migration is rolled back; the backup in the log holds the old data).
    Call it before starting threads that use the database: peewee_migrate patches peewee globally
    while it replays applied migrations.
    """
    if not migrations_dir.is_dir():
        raise FrigateLikeError(f"migrations folder not found: {migrations_dir}")
    db, sqlite_file = _connect(db_cfg)
    existed = sqlite_file is not None and sqlite_file.exists() and sqlite_file.stat().st_size > 0
    try:
        db.connect()
    except pw.OperationalError as exc:
        raise Unavailable(f"cannot connect to the database {_describe(db_cfg)}: {exc}") from exc
    except pw.DatabaseError as exc:  # e.g. "file is not a database", met by the first pragma
        if sqlite_file is None:
            raise
        raise CorruptDatabase(sqlite_file, exc) from None
    try:
        with _migration_lock(db):
            _migrate(db, migrations_dir, sqlite_file if existed else None, sqlite_file, keep_backups)
        db.bind(MODELS)
    except BaseException:
        db.close()
        raise
    logger.info("database ready: %s", _describe(db_cfg))
    return db


def _migrate(
    db: pw.Database, migrations_dir: Path, backup_of: Path | None, sqlite_file: Path | None, keep_backups: int
) -> None:
    """Applies the pending migrations; ``backup_of``: the SQLite file to back up first (it held data)."""
    router = Router(db, migrate_dir=migrations_dir, migrate_table=MIGRATE_TABLE)
    try:
        pending = _pending_migrations(db, router)
    except pw.DatabaseError as exc:
        if sqlite_file is None or isinstance(exc, pw.OperationalError):
            raise  # locked, or a server's error: not damage
        raise CorruptDatabase(sqlite_file, exc) from None
    if not pending:
        return
    logger.info("database migrations pending: %s", ", ".join(pending))
    if backup_of is not None:
        backup = backup_sqlite(db, backup_of, keep=keep_backups)
        logger.info("database backed up to %s before migrating", backup)
    try:
        router.run()
    except Exception as exc:
        raise FrigateLikeError(f"database migration failed: {exc}") from exc


@contextlib.contextmanager
def _migration_lock(db: pw.Database) -> Iterator[None]:
    """On PostgreSQL, one process at a time checks and applies migrations (a session advisory lock held
    by this thread's connection): nodes started together wait for the first one's migration, then find
    nothing pending, instead of racing to create the same tables. SQLite serialises writers by itself."""
    if not isinstance(db, pw.PostgresqlDatabase):
        yield
        return
    db.execute_sql("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    try:
        yield
    finally:
        try:
            db.execute_sql("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
        except pw.DatabaseError:  # the connection is gone: the server dropped the lock with it
            logger.debug("migration lock not released: the connection is gone", exc_info=True)


def connect_database(db_cfg: DatabaseSettings) -> pw.Database:
    """Connects without migrating or binding (a read-only tool such as ``cluster status``).

    ``Unavailable`` when the server cannot be reached, ``ConfigError`` for an unusable URL.
    """
    db, _ = _connect(db_cfg)
    try:
        db.connect()
    except pw.OperationalError as exc:
        raise Unavailable(f"cannot connect to the database {_describe(db_cfg)}: {exc}") from exc
    return db


class CorruptDatabase(FrigateLikeError):
    """The SQLite file is damaged. It is never deleted or overwritten: the user chooses."""

    def __init__(self, path: Path, cause: BaseException) -> None:
        self.path = path
        super().__init__(
            f"the database {path} is damaged ({cause}) and was left as it is: restore a backup over it"
            f" ({path.name}.backup-*), or start once with --move-corrupt-database to move it aside"
            " and begin an empty one"
        )


def move_aside_if_corrupt(path: Path) -> Path | None:
    """Renames a damaged SQLite file (and its -wal/-shm) to ``<name>.corrupt-<utc time>``; the new name or None.

    Only called when the user asks for it (``run --move-corrupt-database``).
    """
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            healthy = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        healthy = False
    if healthy:
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    path.rename(target)
    logger.warning("moved the damaged database %s aside to %s; starting with an empty one", path, target)
    return target


def close_database(db: pw.Database) -> None:
    """Closes the calling thread's connection (other threads' connections close with their threads)."""
    if not db.is_closed():
        db.close()


def backup_sqlite(db: pw.Database, sqlite_file: Path, *, keep: int = KEEP_BACKUPS) -> Path:
    """Copies the live database to ``<file>.backup-<utc timestamp>`` and keeps the newest ``keep`` copies.

    Uses SQLite's online backup API rather than a file copy, so pages still in the WAL are included.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = sqlite_file.with_name(f"{sqlite_file.name}.backup-{stamp}")
    dest = sqlite3.connect(str(target))
    try:
        db.connection().backup(dest)
    finally:
        dest.close()
    backups = sorted(sqlite_file.parent.glob(f"{glob.escape(sqlite_file.name)}.backup-*"))
    for old in backups[: max(0, len(backups) - keep)]:
        logger.info("removing old database backup %s", old)
        old.unlink(missing_ok=True)
    return target


def _connect(db_cfg: DatabaseSettings) -> tuple[pw.Database, Path | None]:
    """The database object and, for SQLite, its file."""
    if db_cfg.url:
        parts = urlsplit(db_cfg.url)
        if parts.scheme == "sqlite":
            path = Path(parts.path[1:])  # like playhouse.db_url: sqlite:///rel.db, sqlite:////abs.db
            return _sqlite(path), path
        try:
            if parts.scheme in POSTGRES_SCHEMES:
                db: pw.Database = ReconnectingPostgresqlDatabase(**db_url.parse(db_cfg.url))
            else:
                db = db_url.connect(db_cfg.url)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise ConfigError(f"database.url: cannot use {_describe(db_cfg)}: {exc}") from exc
        return db, None
    return _sqlite(db_cfg.path), db_cfg.path


def _sqlite(path: Path) -> pw.SqliteDatabase:
    path.parent.mkdir(parents=True, exist_ok=True)
    return WatchedSqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, timeout=BUSY_TIMEOUT_S)


def _pending_migrations(db: pw.Database, router: Router) -> list[str]:
    """Migration names not yet applied, read without writing anything (the backup comes first)."""
    done: set[str] = set()
    if db.table_exists(MIGRATE_TABLE):
        cursor = db.execute_sql(f"SELECT name FROM {MIGRATE_TABLE}")
        done = {row[0] for row in cursor.fetchall()}
    return [name for name in router.todo if name not in done]


def _describe(db_cfg: DatabaseSettings) -> str:
    """Where the database is, without a password."""
    if not db_cfg.url:
        return f"sqlite {db_cfg.path}"
    parts = urlsplit(db_cfg.url)
    host = parts.netloc.rpartition("@")[2]  # drop user:password
    return f"{parts.scheme}://{host}{parts.path}"
