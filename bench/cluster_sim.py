"""The cluster's own work at scale: the real membership, lease and placement code for N nodes × M cameras
on PostgreSQL, with a stand-in camera runtime (a registry subscriber that only counts: no ffmpeg).

Every node runs in this process with its own threads (heartbeat, placement, fence) exactly as the
daemon starts them, on one database of the bench's own on the machine's server. Phases:

1. all nodes start together: time until every camera runs on exactly one node, and the spread;
2. steady state: statements per second (all nodes; counted on the client) and the spread;
3. one node killed (its threads stop, nothing given back: a SIGKILL): time until its cameras run
   elsewhere, and the spread after the hand-backs settle;
4. a quiet period after that: how many cameras still move (flapping).

Sampled every 0.1 s; a camera on two nodes at any sample is counted as a double run (must be 0).

    .venv/bin/python bench/cluster_sim.py --nodes 10 --cameras 200 --lease 10

Writes bench/results/cluster_sim.json and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import peewee as pw
import psycopg2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.rtsp_resume import lscpu_model  # noqa: E402
from frigate_like.cameras import CONFIG_SOURCE, Camera, CameraRegistry, RestartOnUpdate  # noqa: E402
from frigate_like.cluster.directory import ClusterDirectory  # noqa: E402
from frigate_like.cluster.leases import LeaseStore  # noqa: E402
from frigate_like.cluster.node import NodeMembership  # noqa: E402
from frigate_like.cluster.placement import LeasePlacement  # noqa: E402
from frigate_like.config import CameraConfig  # noqa: E402
from frigate_like.db.database import open_database  # noqa: E402
from frigate_like.migrations import MIGRATIONS_DIR  # noqa: E402

SERVER_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
SAMPLE_S = 0.1


class StandInRuntime(RestartOnUpdate):
    """The camera runtime's place in the registry, without a process: counts starts and stops."""

    def __init__(self) -> None:
        self.started = 0
        self.stopped = 0

    def camera_added(self, camera: Camera) -> None:
        self.started += 1

    def camera_removed(self, camera: Camera) -> None:
        self.stopped += 1


class CountingDb:
    """Counts the statements sent through one database object (every node's, on its own threads)."""

    def __init__(self, db: pw.Database) -> None:
        self.count = 0
        self._lock = threading.Lock()
        original = db.execute_sql

        def counted(sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.count += 1
            return original(sql, params, *args, **kwargs)

        db.execute_sql = counted  # type: ignore[method-assign]


class SimNode:
    def __init__(self, db: pw.Database, node_id: str, cameras: list[CameraConfig], lease: float) -> None:
        self.node_id = node_id
        self.registry = CameraRegistry()
        self.runtime = StandInRuntime()
        self.registry.subscribe(self.runtime)
        self.stop = threading.Event()
        self.membership = NodeMembership(db, node_id, f"http://{node_id}:5000", lease, dict, self.stop)
        self.placement = LeasePlacement(
            self.registry, node_id, LeaseStore(db, node_id, lease), ClusterDirectory(db, lease)
        )
        for cam in cameras:
            self.placement.want(cam, CONFIG_SOURCE)
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.membership.join()
        for name, body in (("beat", self.membership.run), ("place", lambda: self.placement.run(self.stop))):
            thread = threading.Thread(target=body, name=f"{self.node_id}-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def kill(self) -> None:
        """As a SIGKILL: its threads stop, nothing is given back or recorded."""
        self.stop.set()
        for thread in self.threads:
            thread.join(5)

    def names(self) -> set[str]:
        return set(self.registry.names())


def camera(name: str) -> CameraConfig:
    return CameraConfig.model_validate(
        {"name": name, "ffmpeg": {"inputs": [{"path": f"rtsp://10.0.0.1/{name}", "roles": ["detect"]}]},
         "width": 640, "height": 360}
    )  # fmt: skip


class Sampler:
    """Who runs what, every SAMPLE_S: double runs counted, moves counted."""

    def __init__(self, nodes: list[SimNode]) -> None:
        self.nodes = nodes
        self.doubles = 0
        self.moves = 0
        self._last: dict[str, str] = {}

    def sample(self) -> dict[str, str]:
        placed: dict[str, str] = {}
        for node in self.nodes:
            if node.stop.is_set():
                continue
            for name in node.names():
                if name in placed:
                    self.doubles += 1
                placed[name] = node.node_id
        self.moves += sum(1 for name, node in placed.items() if self._last.get(name, node) != node)
        self._last = placed
        return placed

    def wait_all(self, total: int, timeout: float) -> tuple[float | None, dict[str, str]]:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            placed = self.sample()
            if len(placed) == total:
                return time.monotonic() - started, placed
            time.sleep(SAMPLE_S)
        return None, self.sample()

    def run_for(self, seconds: float) -> dict[str, str]:
        end = time.monotonic() + seconds
        placed = self.sample()
        while time.monotonic() < end:
            time.sleep(SAMPLE_S)
            placed = self.sample()
        return placed


def spread(placed: dict[str, str], live: list[str]) -> dict[str, int]:
    counts = Counter(placed.values())
    values = [counts.get(n, 0) for n in live]
    return {"min": min(values), "max": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument("--steady", type=float, default=30.0, help="seconds of steady state measured")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "cluster_sim.json")
    args = parser.parse_args()

    name = f"fl_sim_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(SERVER_DSN)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    db = open_database(SimpleNamespace(path=Path("unused.db"), url=url), MIGRATIONS_DIR)
    counter = CountingDb(db)
    cameras = [camera(f"cam{i:03d}") for i in range(args.cameras)]
    nodes = [SimNode(db, f"node{i:02d}", cameras, args.lease) for i in range(args.nodes)]
    sampler = Sampler(nodes)
    report: dict[str, Any] = {
        "cpu": lscpu_model(), "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "nodes": args.nodes, "cameras": args.cameras, "lease_s": args.lease,
    }  # fmt: skip
    try:
        for node in nodes:  # all at once
            node.start()
        took, placed = sampler.wait_all(args.cameras, 10 * args.lease)
        report["start_all_placed_s"] = took
        settled = sampler.run_for(6 * args.lease)  # the hand-backs of nodes that started alone settle
        report["start_spread"] = spread(settled, [n.node_id for n in nodes])

        before, t0 = counter.count, time.monotonic()
        moves_before = sampler.moves
        steady = sampler.run_for(args.steady)
        elapsed = time.monotonic() - t0
        report["steady_statements_per_s"] = round((counter.count - before) / elapsed, 1)
        report["steady_statements_per_s_per_node"] = round((counter.count - before) / elapsed / args.nodes, 2)
        report["steady_moves"] = sampler.moves - moves_before
        report["steady_spread"] = spread(steady, [n.node_id for n in nodes])

        victim = max(nodes, key=lambda n: len(n.names()))
        lost = victim.names()
        killed = time.monotonic()
        victim.kill()
        rest = [n for n in nodes if n is not victim]
        took, placed = sampler.wait_all(args.cameras, 10 * args.lease)
        replaced = time.monotonic() - killed
        report["killed_node_cameras"] = len(lost)
        report["replace_dead_node_s"] = None if took is None else round(replaced, 2)
        report["replace_dead_node_in_leases"] = None if took is None else round(replaced / args.lease, 2)
        report["after_kill_spread_at_once"] = spread(placed, [n.node_id for n in rest])
        settled = sampler.run_for(8 * args.lease)
        report["after_kill_spread_settled"] = spread(settled, [n.node_id for n in rest])
        moves_before = sampler.moves
        sampler.run_for(6 * args.lease)
        report["quiet_moves"] = sampler.moves - moves_before
        report["double_runs_seen"] = sampler.doubles
        report["camera_starts"] = sum(n.runtime.started for n in nodes)
    finally:
        for node in nodes:
            node.stop.set()
        for node in nodes:
            node.kill()
        db.close()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for key, value in report.items():
        print(f"{key:36} {value}")  # noqa: T201 - the bench's output


if __name__ == "__main__":
    main()
