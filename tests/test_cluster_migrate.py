"""Nodes started together on one fresh PostgreSQL database all come up: migrations run under an advisory lock."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from types import SimpleNamespace

import psycopg2

from frigate_like.migrations import MIGRATIONS_DIR

PROCESSES = 6


def _open(url: str, start: mp.synchronize.Event, results: mp.Queue) -> None:  # type: ignore[type-arg]
    from frigate_like.db.database import open_database

    start.wait(30)
    try:
        db = open_database(SimpleNamespace(path=Path("unused.db"), url=url), MIGRATIONS_DIR)
        db.close()
        results.put("ok")
    except Exception as exc:  # reported to the test, which names it
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_migrating_one_fresh_database_at_once_all_come_up(pg_url: str) -> None:
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    results = ctx.Queue()
    procs = [ctx.Process(target=_open, args=(pg_url, start, results)) for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    start.set()  # every process connects and migrates at the same moment
    outcomes = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
    assert outcomes == ["ok"] * PROCESSES
    schema = pg_url.rsplit("%3D", 1)[1]
    with psycopg2.connect("host=127.0.0.1 port=5432 dbname=test user=postgres") as conn, conn.cursor() as cur:
        cur.execute(f"SELECT name FROM {schema}.migratehistory ORDER BY name")
        names = [row[0] for row in cur.fetchall()]
    conn.close()
    assert names == sorted(p.stem for p in MIGRATIONS_DIR.glob("0*.py")), "each migration applied exactly once"
