"""Cross-node clip fetch: a clip node ``a`` holds, fetched from node ``b`` (relayed, media/locate.py) vs from ``a``.

Two real daemons (no cameras: only their HTTP servers and the relay are measured) on a fresh
schema of the local PostgreSQL, each with its own media folder. The clip is the shared 139 s person
video (3.3 MB) placed in ``a``'s clips folder with its event row (``node_id = 'a'``); the cluster rows
stand for what the core's heartbeat and leases write. Timed, sequentially over keep-alive HTTP:

- the whole clip (what a download or a first ``<video>`` request costs);
- a 64 KiB ``Range`` from a random offset (what a seek costs).

    .venv/bin/python bench/cluster_fetch.py --whole 40 --ranges 300

Writes bench/results/cluster_fetch.json and prints a table with the CPU model and load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg2
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.conftest import PG_DSN, PG_URL  # noqa: E402
from tests.integration.daemon import SHARED, Daemon, free_port  # noqa: E402

CLIP = SHARED / "media" / "one-by-one-person-detection.mp4"
RANGE_BYTES = 64 * 1024


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def node_config(tmp: Path, url: str, node_id: str) -> dict[str, Any]:
    port = free_port()
    return {
        "paths": {"media_dir": str(tmp / "media"), "cache_dir": str(tmp / "cache")},
        "database": {"url": url},
        "http": {"host": "127.0.0.1", "port": port},
        "mqtt": {"enabled": False},
        "model": {
            "path": str(SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite"),
            "labelmap_path": str(SHARED / "models" / "coco_labelmap.txt"),
            "width": 300,
            "height": 300,
        },
        "detectors": {"cpu": {"type": "cpu"}},
        "cameras": {},
        "cluster": {"node_id": node_id, "url": f"http://127.0.0.1:{port}", "lease_seconds": 600},
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "n": len(ordered),
    }


def time_fetches(base: str, path: str, count: int, size: int, ranged: bool, rng: random.Random) -> dict[str, Any]:
    session = requests.Session()
    took = []
    for _ in range(count):
        headers = {}
        expected = size
        if ranged:
            start = rng.randrange(0, size - RANGE_BYTES)
            headers["Range"] = f"bytes={start}-{start + RANGE_BYTES - 1}"
            expected = RANGE_BYTES
        t0 = time.perf_counter()
        response = session.get(base + path, headers=headers, timeout=30)
        body = response.content
        took.append(time.perf_counter() - t0)
        assert response.status_code == (206 if ranged else 200), (response.status_code, response.text[:200])
        assert len(body) == expected
    session.close()
    result = percentiles(took)
    if not ranged:
        result["mb_per_s_p50"] = round(size / 1e6 / (result["p50_ms"] / 1000), 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--whole", type=int, default=40, help="whole-clip fetches per node")
    parser.add_argument("--ranges", type=int, default=300, help="64 KiB range fetches per node")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "cluster_fetch.json")
    args = parser.parse_args()

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(PG_DSN)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    tmp = Path(tempfile.mkdtemp(prefix="cluster_fetch_"))
    nodes: list[Daemon] = []
    try:
        for node_id in ("a", "b"):
            folder = tmp / node_id
            folder.mkdir()
            nodes.append(Daemon(folder, node_config(folder, url, node_id)))
        a, b = nodes
        a.start()
        b.start()
        event_id = f"{time.time():.6f}-bench1"
        name = f"front-{event_id}.mp4"
        shutil.copyfile(CLIP, a.clips_dir / name)
        size = CLIP.stat().st_size
        with psycopg2.connect(PG_DSN, options=f"-csearch_path={schema}") as conn, conn.cursor() as cur:
            now = "EXTRACT(EPOCH FROM clock_timestamp())"
            for node in nodes:
                cur.execute(
                    "INSERT INTO cluster_node (node_id, url, instance, started_at, heartbeat_at)"
                    f" VALUES (%s, %s, %s, {now}, {now})",
                    (node.cfg["cluster"]["node_id"], node.cfg["cluster"]["url"], node.cfg["cluster"]["node_id"]),
                )
            cur.execute(
                "INSERT INTO event (id, label, camera, start_time, end_time, top_score, false_positive, zones,"
                " thumbnail, has_clip, has_snapshot, clip_gaps, node_id)"
                " VALUES (%s, 'person', 'front', %s, %s, 0.9, false, '[]', NULL, true, false, '[]', 'a')",
                (event_id, time.time() - 60, time.time() - 30),
            )
        conn.close()
        rng = random.Random(7)
        path = f"/clips/{name}"
        results: dict[str, Any] = {}
        for label, node in (("local (node a, its own disk)", a), ("cross-node (node b relays from a)", b)):
            base = f"http://127.0.0.1:{node.port}"
            time_fetches(base, path, 3, size, False, rng)  # warm-up: connections, page cache
            results[label] = {
                "whole": time_fetches(base, path, args.whole, size, False, rng),
                "range_64k": time_fetches(base, path, args.ranges, size, True, rng),
            }
    finally:
        for node in nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.terminate()
        with admin.cursor() as cur:
            cur.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_before": os.getloadavg(),
        "clip_bytes": size,
        "range_bytes": RANGE_BYTES,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['cpu']}, {result['cores']} cores, load {result['load_before']}")
    print(f"clip {size / 1e6:.1f} MB; range {RANGE_BYTES // 1024} KiB")
    print(f"{'fetch':<36} {'whole p50':>10} {'whole p99':>10} {'MB/s':>6} {'range p50':>10} {'range p99':>10}")
    for label, row in results.items():
        whole, ranged = row["whole"], row["range_64k"]
        print(f"{label:<36} {whole['p50_ms']:>10} {whole['p99_ms']:>10} {whole['mb_per_s_p50']:>6} "
              f"{ranged['p50_ms']:>10} {ranged['p99_ms']:>10}")  # fmt: skip


if __name__ == "__main__":
    main()
