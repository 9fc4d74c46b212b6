"""The web UI's events page over 100 000 events: the server time of each page it asks for.

Fills a fresh SQLite file (real migrations) like ``api_latency.py`` does (4 cameras, 5 labels, zones,
80 % with a clip, 90 % with a snapshot, a real ~6 KB thumbnail each), then times the exact requests
the UI's events page sends for 40 clicks of "Load more" per filter (``limit=50``, thumbnails
inline, ``include_in_progress=1``, keyset paging with ``before`` inside one-day ``after`` windows,
probes over empty stretches; see events.js): in the process through the Flask app (server time,
no network), then pages over loopback HTTP through the daemon's own server (uvicorn + the WSGI bridge).

    .venv/bin/python bench/web_events_pages.py --events 100000 --pages 40 --repeat 30

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
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from api_latency import fill  # noqa: E402  (bench/ is this script's folder)

PAGE_SIZE = 50
WINDOW_S = 86_400.0  # the UI's window (events.js)
TIE_EPSILON_S = 1e-6


def query(params: dict[str, Any]) -> str:
    return "/api/events?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})


def percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "max_ms": round(times[-1], 2),
    }


def ui_pages(get: Callable[[str], bytes], filters: dict[str, Any], now: float, pages: int) -> dict[str, Any]:
    """What events.js does for ``pages`` clicks of "Load more": windowed keyset pages, probes over gaps."""
    indexed = {"include_in_progress": 1, "camera": filters.get("camera"), "label": filters.get("label")}
    params = {**filters, **indexed, "include_thumbnails": 1, "limit": PAGE_SIZE}
    times: list[float] = []
    sizes: list[int] = []
    seen: set[str] = set()
    upper, done, shown = now + 3600, False, 0

    def timed(path: str) -> list[dict[str, Any]]:
        t0 = time.perf_counter()
        body = get(path)
        times.append((time.perf_counter() - t0) * 1000)
        sizes.append(len(body))
        return list(json.loads(body))

    for _ in range(pages):
        fresh = 0
        for _request in range(30):
            if fresh >= PAGE_SIZE or done:
                break
            lower = upper - WINDOW_S
            rows = timed(query({**params, "before": repr(upper), "after": repr(lower)}))
            unseen = [row for row in rows if row["id"] not in seen]
            seen.update(row["id"] for row in unseen)
            fresh += len(unseen)
            if len(rows) == PAGE_SIZE:
                last = rows[-1]["start_time"]
                upper = last + TIE_EPSILON_S if unseen else last
                if unseen:
                    break
                continue
            older = timed(
                query({**indexed, "include_thumbnails": 0, "limit": 1, "before": repr(lower + TIE_EPSILON_S)})
            )
            if older:
                upper = older[0]["start_time"] + TIE_EPSILON_S
            else:
                done = True
        shown += fresh
        if done:
            break
    return {"requests": len(times), "events_shown": shown, "largest_kb": round(max(sizes) / 1024), **percentiles(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30, help="first page over HTTP, this many times")
    parser.add_argument("--pages", type=int, default=40, help='clicks of "Load more" per filter')
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

        cases: dict[str, dict[str, Any]] = {
            "no filter": {},
            "camera": {"camera": "garage"},
            "label": {"label": "dog"},
            "zone (in 50 %)": {"zone": "porch"},
            "has_clip=0 (20 %)": {"has_clip": 0},
            "has_snapshot=0 (10 %)": {"has_snapshot": 0},
            "camera+label+zone+has_clip=0 (~0.5 %)": {
                "camera": "garage",
                "label": "dog",
                "zone": "porch",
                "has_clip": 0,
            },
            "a zone no event has": {"zone": "attic"},
        }
        results = []
        for name, filters in cases.items():
            row = {"case": name, "pages": args.pages, **ui_pages(in_process, filters, now, args.pages)}
            results.append(row)
            print(f"{name:40} {row['requests']:4} requests, {row['events_shown']:5} events, "
                  f"largest {row['largest_kb']:3} KB: server p50 {row['p50_ms']:5.1f} "
                  f"p95 {row['p95_ms']:5.1f} max {row['max_ms']:5.1f} ms")  # fmt: skip
        # unfiltered pages over loopback HTTP (uvicorn + the WSGI bridge)
        http = ui_pages(over_http, {}, now, args.repeat)
        print(f"over loopback HTTP, {http['requests']} requests: p50 {http['p50_ms']} ms, p95 {http['p95_ms']} ms")
        # for comparison: the no-match filter without a window reads every row
        unbounded = "/api/events?include_in_progress=1&include_thumbnails=1&limit=50&zone=attic"
        in_process(unbounded)
        t0 = time.perf_counter()
        in_process(unbounded)
        unbounded_ms = round((time.perf_counter() - t0) * 1000, 1)
        print(f"a zone no event has, without the window: {unbounded_ms} ms")
        server.stop()
    report = {
        "machine": {"cpu": platform.processor() or platform.machine(), "load": os.getloadavg()},
        **filled,
        "events": args.events,
        "results": results,
        "over_http": http,
        "no_match_without_window_ms": unbounded_ms,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
