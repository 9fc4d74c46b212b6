"""What declaring parameters as models costs per request: the app alone, no server, no database, no camera.

Runs requests through the app factory's Flask app with a WSGI test client against stub services (events: an
empty list, latest.jpg: a fixed 1 KB JPEG, stats: a small dict), so the time measured is routing, parameter
validation, the view and the JSON answer: the part issue 23 changed. Run it on two checkouts to compare:

    .venv/bin/python bench/api_params_overhead.py --label after
    PYTHONPATH=/path/to/other/checkout .venv/bin/python bench/api_params_overhead.py --label before

Each run adds its figures (per route: p50 and p99 in microseconds) to bench/results/api_params_overhead.json,
with the CPU model and the 1-minute load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import frigate_like
from frigate_like.api import ApiServices, create_app

RESULTS = Path(__file__).resolve().parent / "results" / "api_params_overhead.json"
ROUTES = [
    "/api/stats",
    "/api/events?limit=25&camera=front&has_clip=1&include_thumbnails=0",
    "/api/front/latest.jpg",
    "/api/front/latest.jpg?h=240&bbox=1&timestamp=1",
]
JPEG = b"\xff\xd8" + b"\x00" * 1024 + b"\xff\xd9"


class StubEvents:
    @staticmethod
    def list_events(**_: Any) -> list[dict[str, Any]]:
        return []

    @staticmethod
    def get_event(_: str) -> dict[str, Any] | None:
        return None

    @staticmethod
    def events_summary(**_: Any) -> list[dict[str, Any]]:
        return []


class StubLive:
    @staticmethod
    def latest_jpeg(camera: str, options: Any) -> bytes:
        return JPEG


def cpu_model() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    model = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "?")
    return f"{model}, {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="before / after: the key the figures are stored under")
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()

    stats = {"detection_fps": 0.0, "detectors": {}, "service": {"uptime": 1, "version": "x", "storage": {}}}
    live: Any = StubLive()  # LiveView's one method these routes call
    services = ApiServices(config=None, stats=lambda: stats, public_config=dict, events=StubEvents(), live=live)
    client = create_app(services).test_client()
    figures: dict[str, dict[str, float]] = {}
    for route in ROUTES:
        for _ in range(200):  # warm up
            client.get(route)
        times = []
        for _ in range(args.requests):
            start = time.perf_counter()
            response = client.get(route)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200, (route, response.status_code, response.get_data()[:200])
        times.sort()
        figures[route] = {
            "p50_us": round(statistics.median(times) * 1e6, 1),
            "p99_us": round(times[int(len(times) * 0.99)] * 1e6, 1),
        }
        print(f"{route:70s} p50 {figures[route]['p50_us']:8.1f} us  p99 {figures[route]['p99_us']:8.1f} us")
    RESULTS.parent.mkdir(exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[args.label] = {
        "package": str(Path(frigate_like.__file__).parent),
        "cpu": cpu_model(),
        "load_1min": os.getloadavg()[0],
        "python": platform.python_version(),
        "requests_per_route": args.requests,
        "routes": figures,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"cpu {results[args.label]['cpu']}, load {results[args.label]['load_1min']:.2f}; wrote {RESULTS}")


if __name__ == "__main__":
    main()
