"""What the guards of issue 12 cost: per-call times of the checks, and request latency through the real server.

Part 1 times each guard alone (best of 5 runs of ``--calls`` calls): the access decision for a
state change, the Host check, ``redact_text`` on an ffmpeg log line, the logging filter on a
record, ``resolve_inside`` on a clip, the YAML limits on ``config/example.yml``. Part 2 serves the
daemon's app factory with uvicorn, the body limit and the bridge (``HttpServer``) and times
``--requests`` sequential keep-alive requests after 20 warm-up ones: a read (``GET /api/version``),
a JSON state change (``POST /api/login``, 409: no token configured), and one refused at the Host
check (403).

    .venv/bin/python bench/security_overhead.py --calls 20000 --requests 500

Writes bench/results/security_overhead.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from frigate_like.api import ApiServices, create_app  # noqa: E402
from frigate_like.api.access import AccessPolicy, Caller  # noqa: E402
from frigate_like.api.server import HttpServer  # noqa: E402
from frigate_like.config.loader import check_yaml_limits  # noqa: E402
from frigate_like.files import resolve_inside  # noqa: E402
from frigate_like.redact import RedactingFilter, redact_text  # noqa: E402

LOG_LINE = (
    "starting ffmpeg for driveway: ['ffmpeg', '-hide_banner', '-rtsp_transport', 'tcp', '-i', "
    "'rtsp://viewer:p@ss-word@10.0.10.10:554/cam/realmonitor?channel=1&subtype=2&token=abc', '-f', 'rawvideo']"
)


def per_call_us(function: Callable[[], object], calls: int) -> float:
    return min(timeit.repeat(function, number=calls, repeat=5)) / calls * 1e6


def guards(calls: int, tmp: Path) -> dict[str, float]:
    policy = AccessPolicy("a-token-of-some-length-123")
    write = Caller("127.0.0.1:5000", "http://127.0.0.1:5000", "application/json", "192.168.1.20",
                   "Bearer a-token-of-some-length-123", None)  # fmt: skip
    record = logging.LogRecord("ffmpeg.driveway", logging.DEBUG, __file__, 1, LOG_LINE, None, None)
    redacting = RedactingFilter()
    clips = tmp / "clips"
    clips.mkdir()
    (clips / "front-1700000000.0-abcdef.jpg").write_bytes(b"jpeg")
    example = (REPO / "config" / "example.yml").read_text()
    return {
        "access check, state change with a Bearer token": per_call_us(lambda: policy.check(write, "write"), calls),
        "Host check (a name)": per_call_us(lambda: policy.check_host("localhost:5000"), calls),
        "redact_text, ffmpeg command line": per_call_us(lambda: redact_text(LOG_LINE), calls),
        "RedactingFilter on a log record": per_call_us(lambda: redacting.filter(record), calls),
        "resolve_inside, a clip": per_call_us(lambda: resolve_inside(clips, "front-1700000000.0-abcdef.jpg"), calls),
        "YAML limits, config/example.yml": per_call_us(lambda: check_yaml_limits(example), max(1, calls // 100)),
    }


def latency(session: requests.Session, method: str, url: str, count: int, **kwargs: Any) -> dict[str, float]:
    for _ in range(20):
        session.request(method, url, **kwargs).close()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        session.request(method, url, **kwargs).close()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 3), "p95_ms": round(times[int(len(times) * 0.95) - 1], 3)}


def requests_through_server(count: int) -> dict[str, dict[str, float]]:
    app = create_app(ApiServices(config=None, stats=dict, public_config=dict, events=None))
    server = HttpServer(app, "127.0.0.1", 0)
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        with requests.Session() as session:
            return {
                "GET /api/version (a read)": latency(session, "GET", f"{base}/api/version", count),
                "POST /api/login, JSON (a state change, 409)": latency(
                    session, "POST", f"{base}/api/login", count, json={"token": "x"}
                ),
                "GET /api/version, foreign Host (403)": latency(
                    session, "GET", f"{base}/api/version", count, headers={"Host": "rebind.example"}
                ),
            }
    finally:
        server.stop()


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        per_call = guards(args.calls, Path(tmp))
    served = requests_through_server(args.requests)
    result: dict[str, Any] = {
        "machine": {"cpu": cpu_model(), "load": os.getloadavg()},
        "per_call_us": {name: round(value, 2) for name, value in per_call.items()},
        "requests": served,
    }
    out = REPO / "bench" / "results" / "security_overhead.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, value in result["per_call_us"].items():
        print(f"{name:55s} {value:9.2f} µs")
    for name, figures in served.items():
        print(f"{name:55s} p50 {figures['p50_ms']:.2f} ms  p95 {figures['p95_ms']:.2f} ms")


if __name__ == "__main__":
    main()
