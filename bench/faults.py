"""How the running daemon gets over faults, one section per fault (others may add theirs to SECTIONS).

``postgres``: ``frigate-like run`` on the looped person video with 24/7 recording, its database a
PostgreSQL server of its own (initdb/pg_ctl on a free port, tests/pg_server.py). Per round:

- every backend of the daemon killed (``pg_terminate_backend``): seconds until ``/api/events``
  and ``/api/demo/recordings`` both answer 200 again (for ``STREAK`` rounds in a row);
- the server stopped for ``--down`` s, then started: the statuses the API answered while it was
  away (``503`` wanted, ``500`` was the bug), seconds from the server's return until both
  endpoints answer 200 for ``STREAK`` rounds in a row (None: not within ``--wait`` s) with the
  statuses meanwhile, and until ``service.health.database`` is ok (None: no such entry, or not in time).

``--package DIR`` runs another checkout's package (e.g. ``/work/main`` for the before figures)
through PYTHONPATH; the harness stays this one.

    PYTHONPATH=. nice -n 5 .venv/bin/python bench/faults.py postgres --rounds 3
    PYTHONPATH=. nice -n 5 .venv/bin/python bench/faults.py postgres --rounds 1 --package /work/main

Writes bench/results/faults-<section>[-<label>].json and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.daemon import Daemon, demo_config  # noqa: E402
from tests.pg_server import PrivatePostgres  # noqa: E402

RECORD_ARGS = "-f segment -segment_time 2 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c:v copy -an"
ENDPOINTS = ("/api/events", "/api/demo/recordings")
STREAK = 20  # rounds of 200s in a row that count as recovered


def _status(daemon: Daemon, path: str) -> int:
    try:
        daemon.get(path, timeout=10)
        return 200
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0  # no answer at all


def _db_ok(daemon: Daemon) -> bool | None:
    """``service.health.database.ok``; None when there is no such entry."""
    try:
        entry = daemon.get_json("/api/stats")["service"].get("health", {}).get("database")
    except (OSError, ValueError):
        return False
    return None if entry is None else bool(entry["ok"])


def _until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> float | None:
    """Seconds until ``predicate()`` is true, or None after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return round(time.monotonic() - started, 2)
        time.sleep(interval)
    return None


def _recovery(daemon: Daemon, timeout: float, streak: int = STREAK) -> tuple[float | None, dict[int, int]]:
    """Seconds until every endpoint answers 200 and keeps doing so for ``streak`` rounds (the HTTP
    workers each hold a connection: one of them answering is not recovery), or None; and the
    statuses answered meanwhile."""
    statuses: Counter[int] = Counter()
    started = time.monotonic()
    good_since: float | None = None
    good = 0
    while time.monotonic() - started < timeout:
        answers = [_status(daemon, path) for path in ENDPOINTS]
        statuses.update(answers)
        if all(code == 200 for code in answers):
            good_since = time.monotonic() - started if good_since is None else good_since
            good += 1
            if good >= streak:
                return round(good_since, 2), dict(sorted(statuses.items()))
        else:
            good_since, good = None, 0
        time.sleep(0.05)
    return None, dict(sorted(statuses.items()))


def postgres(args: argparse.Namespace) -> dict[str, Any]:
    server = PrivatePostgres()
    server.start()
    tmp = Path(tempfile.mkdtemp(prefix="fl-bench-faults-"))
    cfg = demo_config(tmp, loop=True, fps=5)
    cfg["database"] = {"url": server.url, "path": str(tmp / "unused.db")}
    cam = cfg["cameras"]["demo"]
    cam["ffmpeg"]["inputs"][0]["roles"] = ["detect", "clips", "record"]
    cam["ffmpeg"]["output_args"] = {"record": RECORD_ARGS}
    cam["record"] = {"enabled": True}
    env = {"PYTHONPATH": str(Path(args.package).resolve())} if args.package else {}
    daemon = Daemon(tmp, cfg, env=env)
    rounds: list[dict[str, Any]] = []
    try:
        daemon.start()
        if _until(lambda: _status(daemon, "/api/demo/recordings") == 200, 60) is None:
            raise SystemExit(f"the daemon never answered /api/demo/recordings:\n{daemon.log()[-3000:]}")
        for _ in range(args.rounds):
            result: dict[str, Any] = {"killed_backends": server.terminate_backends()}
            result["after_kill_api_s"], result["after_kill_statuses"] = _recovery(daemon, args.wait)
            server.stop()
            statuses: Counter[int] = Counter()
            down_at = time.monotonic()
            while time.monotonic() - down_at < args.down:
                for path in ENDPOINTS:
                    statuses[_status(daemon, path)] += 1
                time.sleep(0.5)
            result["statuses_while_down"] = dict(sorted(statuses.items()))
            result["health_ok_while_down"] = _db_ok(daemon)
            server.start()
            started = time.monotonic()
            result["api_back_s"], result["statuses_after_return"] = _recovery(daemon, args.wait)
            health_s = _until(lambda: bool(_db_ok(daemon)), max(0.0, args.wait - (time.monotonic() - started)))
            result["health_ok_back_s"] = None if health_s is None else round(time.monotonic() - started, 2)
            rounds.append(result)
            print(json.dumps(result), flush=True)  # noqa: T201 - a benchmark's output
    finally:
        daemon.terminate()
        server.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return {"down_s": args.down, "wait_s": args.wait, "package": args.package or str(REPO), "rounds": rounds}


SECTIONS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {"postgres": postgres}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("section", choices=sorted(SECTIONS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--down", type=float, default=10.0, help="seconds the server stays away")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for a recovery")
    parser.add_argument("--package", help="another checkout whose frigate_like runs (PYTHONPATH)")
    parser.add_argument("--label", default="", help="suffix of the results file, e.g. before")
    args = parser.parse_args()
    load_start = os.getloadavg()
    figures = SECTIONS[args.section](args)
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if "Model name" in line), "?")
    doc = {
        "section": args.section,
        "when": datetime.now().isoformat(timespec="seconds"),
        "cpu": model,
        "cpus": os.cpu_count(),
        "load_1_5_15_start": [round(x, 2) for x in load_start],
        "load_1_5_15_end": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        **figures,
    }
    out = REPO / "bench" / "results" / f"faults-{args.section}{'-' + args.label if args.label else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
