"""The web UI's events page over 100 000 events: the server time of each page it asks for.

Fills a fresh SQLite file (real migrations) like ``api_latency.py`` does (4 cameras, 5 labels, zones,
80 % with a clip, 90 % with a snapshot, a real ~6 KB thumbnail each), then times the exact requests
the UI's events page sends (``limit=50``, thumbnails inline, ``include_in_progress=1``, keyset paging
with ``before``): in the process through the Flask app (server time, no network), and over loopback
HTTP through the daemon's own server (uvicorn + the WSGI bridge).

    .venv/bin/python bench/web_events_pages.py --events 100000 --repeat 30

Writes bench/results/web_events_pages.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from api_latency import DAY, fill  # noqa: E402  (bench/ is this script's folder)

PAGE = "/api/events?include_in_progress=1&include_thumbnails=1&limit=50"


def percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2)}


def time_get(get: Callable[[str], bytes], path: str, repeat: int) -> dict[str, Any]:
    for _ in range(3):  # warm-up: SQLite's page cache
        get(path)
    times, body = [], b""
    for _ in range(repeat):
        t0 = time.perf_counter()
        body = get(path)
        times.append((time.perf_counter() - t0) * 1000)
    return {"rows": len(json.loads(body)), "kb": round(len(body) / 1024), **percentiles(times)}


def walk(get: Callable[[str], bytes], pages: int) -> dict[str, Any]:
    """The UI scrolling: each page starts just above the previous page's last start time (ties re-read)."""
    times, seen, cursor = [], set(), None
    for _ in range(pages):
        path = PAGE if cursor is None else f"{PAGE}&before={cursor + 1e-6!r}"
        t0 = time.perf_counter()
        rows = json.loads(get(path))
        times.append((time.perf_counter() - t0) * 1000)
        seen.update(row["id"] for row in rows)
        cursor = rows[-1]["start_time"]
    return {"pages": pages, "distinct_events": len(seen), **percentiles(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--walk", type=int, default=200, help="consecutive pages for the scrolling walk")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "web_events_pages.json")
    args = parser.parse_args()

    from frigate_like.api import ApiServices, create_app
    from frigate_like.api.server import HttpServer
    from frigate_like.db import queries

    with tempfile.TemporaryDirectory(prefix="fl-web-events-") as tmpdir:
        now = time.time()
        filled = fill(Path(tmpdir) / "events.db", args.events, now)
        app = create_app(ApiServices(config=None, stats=dict, public_config=dict, events=queries))
        client = app.test_client()

        def in_process(path: str) -> bytes:
            response = client.get(path)
            assert response.status_code == 200, response.get_data(as_text=True)
            return bytes(response.get_data())

        server = HttpServer(app, "127.0.0.1", 0)
        server.start()

        def over_http(path: str) -> bytes:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=30) as response:
                return bytes(response.read())

        deep = json.loads(in_process(f"/api/events?include_thumbnails=0&limit=1&before={now - 27 * DAY}"))[0]
        day = now - 10 * DAY
        cases = {
            "first page": PAGE,
            "page at event ~90 000 (keyset, 27 days back)": f"{PAGE}&before={deep['start_time'] + 1e-6!r}",
            "camera": f"{PAGE}&camera=garage",
            "label": f"{PAGE}&label=dog",
            "zone": f"{PAGE}&zone=porch",
            "has_clip=0 (20 %)": f"{PAGE}&has_clip=0",
            "has_snapshot=0 (10 %)": f"{PAGE}&has_snapshot=0",
            "one day (after + before)": f"{PAGE}&after={day}&before={day + DAY}",
            "camera+label+zone+has_clip=0 (~0.5 %)": f"{PAGE}&camera=garage&label=dog&zone=porch&has_clip=0",
        }
        results = []
        for name, path in cases.items():
            row = {"case": name, "in_process": time_get(in_process, path, args.repeat)}
            row["http"] = time_get(over_http, path, args.repeat)
            results.append(row)
            print(f"{name:45} rows {row['in_process']['rows']:3} {row['in_process']['kb']:4} KB  "
                  f"server p50 {row['in_process']['p50_ms']:6.1f} p95 {row['in_process']['p95_ms']:6.1f} ms  "
                  f"http p50 {row['http']['p50_ms']:6.1f} p95 {row['http']['p95_ms']:6.1f} ms")  # fmt: skip
        walked = walk(in_process, args.walk)
        print(f"walk of {walked['pages']} pages: {walked['distinct_events']} events, "
              f"p50 {walked['p50_ms']} ms, p95 {walked['p95_ms']} ms")  # fmt: skip
        server.stop()
    report = {
        "machine": {"cpu": platform.processor() or platform.machine(), "load": os.getloadavg()},
        **filled,
        "events": args.events,
        "results": results,
        "walk": walked,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
