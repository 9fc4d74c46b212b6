"""Failover of real daemons: three nodes on one PostgreSQL database, the same three cameras (looped clip,
2 fps, detect + clips + 24/7 recording in 2 s segments), a short lease (``--lease``).

- ``sigkill``: the node running ``cam0`` is killed; ``takeover_s``: from the signal until another
  node's ffmpeg reads cam0 (process ancestry, polled every 0.1 s); ``footage_gap_s``: between the
  end of the dead node's last recorded segment of cam0 and the start of the new owner's first
  (segments still in the dead node's cache at the kill are lost: that is the real gap).
- ``sigterm``: the node now running cam0 is stopped cleanly; same figures.
- ``events``: MQTT ``new`` ids against the database's rows at the end (``lost``: announced, no row;
  ``open``: rows without an end time after every node stopped).
- ``idle_cpu``: the cluster's own cost on a node that runs no camera: the CPU time of the main
  process of a cluster node whose config lets it run nothing (``cameras.<name>.nodes`` names the
  others) against a single-node daemon with no camera, both over ``--idle`` s at the same time; the
  difference is the heartbeat and placement work (goal ≤ 0.2 % of a core).

Cross-node clip fetch latency belongs to the serving side (issue 20's other half), not measured here.

    .venv/bin/python bench/cluster_failover.py --lease 4

Writes bench/results/cluster_failover.json and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.rtsp_resume import lscpu_model  # noqa: E402
from tests.broker import Subscriber, unique_prefix  # noqa: E402
from tests.integration import test_cluster as tc  # noqa: E402
from tests.integration.daemon import Daemon, demo_config, free_port  # noqa: E402
from tests.integration.test_mqtt_daemon import _events  # noqa: E402

TICK_HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK_HZ  # utime + stime of the process (all its threads)


def wait_owner(daemons: dict[str, Daemon], camera: str, not_on: str, timeout: float) -> tuple[str, float]:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        owners = tc.ffmpeg_owners(daemons)[camera] - {not_on}
        owners = {o for o in owners if not o.startswith("orphan")}
        if len(owners) == 1:
            return owners.pop(), time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{camera} did not run elsewhere within {timeout} s")


def footage_gap(db_url: str, camera: str, old: str, new: str, after: float) -> float | None:
    """Seconds between ``old``'s last segment of ``camera`` and ``new``'s first one starting after ``after``
    (the signal: the new owner may have run the camera before, while the nodes evened out at start)."""
    last_old = tc.db_rows(
        db_url, f"SELECT max(end_time) FROM recordings WHERE camera = '{camera}' AND node_id = '{old}'"
    )
    first_new = tc.db_rows(
        db_url,
        f"SELECT min(start_time) FROM recordings WHERE camera = '{camera}' AND node_id = '{new}'"
        f" AND start_time > {after}",
    )
    if last_old[0][0] is None or first_new[0][0] is None:
        return None
    return round(float(first_new[0][0]) - float(last_old[0][0]), 2)


def failover(args: argparse.Namespace, tmp: Path, db_url: str) -> dict[str, Any]:
    tmp.mkdir(parents=True)
    prefix = unique_prefix("clfail")
    daemons = tc.make_nodes(tmp, db_url, prefix, record=True)
    for daemon in daemons.values():
        daemon.cfg["cluster"]["lease_seconds"] = args.lease
        daemon.config_path.write_text(yaml.safe_dump(daemon.cfg))
    report: dict[str, Any] = {}
    everyone = set(tc.NODES)
    with Subscriber(prefix) as sub:
        try:
            tc.start_all(list(daemons.values()))
            daemons["node-a"].wait_for(lambda: tc.placed_once(daemons, everyone), 60, what="every camera once")
            time.sleep(args.warmup)  # segments written, events under way
            victim = next(iter(tc.ffmpeg_owners(daemons)["cam0"]))
            kill_wall = time.time()
            daemons[victim].kill()
            new_owner, took = wait_owner(daemons, "cam0", victim, 10 * args.lease)
            time.sleep(6)  # the new owner's first segments land
            report["sigkill"] = {
                "takeover_s": round(took, 2), "takeover_in_leases": round(took / args.lease, 2),
                "footage_gap_s": footage_gap(db_url, "cam0", victim, new_owner, kill_wall - 1),
            }  # fmt: skip
            leaving = new_owner
            term_wall = time.time()
            proc = daemons[leaving].proc
            assert proc is not None
            proc.send_signal(signal.SIGTERM)
            last, took = wait_owner(daemons, "cam0", leaving, 10 * args.lease)
            daemons[leaving].wait_exit(30)
            time.sleep(6)
            report["sigterm"] = {
                "takeover_s": round(took, 2),
                "footage_gap_s": footage_gap(db_url, "cam0", leaving, last, term_wall - 1),
            }
        finally:
            tc.stop_all(daemons)
        messages = sub.snapshot()
    news = {e["after"]["id"] for e in _events(messages) if e["type"] == "new"}
    rows = tc.db_rows(db_url, "SELECT id, end_time FROM event")
    report["events"] = {
        "announced": len(news),
        "stored": len(rows),
        "lost": len(news - {r[0] for r in rows}),
        "open": sum(1 for r in rows if r[1] is None),
    }
    return report


def idle_cpu(args: argparse.Namespace, tmp: Path, db_url: str) -> dict[str, Any]:
    """A cluster node allowed no camera, beside a single node with none, at the same time."""
    busy_dir, idle_dir, single_dir = tmp / "busy", tmp / "idle", tmp / "single"
    for folder in (busy_dir, idle_dir, single_dir):
        folder.mkdir(parents=True)
    busy_cfg = tc.node_config(busy_dir, "busy", db_url, unique_prefix("clidle"))
    for cam in busy_cfg["cameras"].values():
        cam["nodes"] = ["busy"]
    busy_cfg["cameras"] = {"cam0": busy_cfg["cameras"]["cam0"]}
    busy_cfg["cluster"]["lease_seconds"] = args.idle_lease
    idle_cfg = json.loads(json.dumps(busy_cfg))
    idle_cfg["paths"] = {"media_dir": str(idle_dir / "media"), "cache_dir": str(idle_dir / "cache")}
    idle_cfg["http"]["port"] = free_port()
    idle_url = f"http://127.0.0.1:{idle_cfg['http']['port']}"
    idle_cfg["cluster"] = {**busy_cfg["cluster"], "node_id": "idle", "url": idle_url}
    idle_cfg["mqtt"]["client_id"] = idle_cfg["mqtt"]["client_id"] + "-idle"
    single_cfg = demo_config(single_dir, loop=True, fps=2)
    single_cfg["cameras"] = {}
    single_cfg["mqtt"] = idle_cfg["mqtt"] | {"client_id": idle_cfg["mqtt"]["client_id"] + "-single",
                                             "topic_prefix": unique_prefix("clsingle")}  # fmt: skip
    daemons = [Daemon(busy_dir, busy_cfg), Daemon(idle_dir, idle_cfg), Daemon(single_dir, single_cfg)]
    try:
        tc.start_all(daemons)
        time.sleep(10)  # start-up settled
        pids = [d.proc.pid for d in daemons[1:] if d.proc is not None]
        before = [cpu_seconds(pid) for pid in pids]
        time.sleep(args.idle)
        after = [cpu_seconds(pid) for pid in pids]
        cluster_s, single_s = (a - b for a, b in zip(after, before, strict=True))
        idle_nodes = daemons[1].get_json("/api/cluster")["nodes"]
    finally:
        for daemon in daemons:
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.terminate()
    return {
        "seconds": args.idle,
        "lease_s": args.idle_lease,
        "cluster_node_cpu_s": round(cluster_s, 3),
        "single_node_cpu_s": round(single_s, 3),
        "cluster_own_percent_of_a_core": round(100 * (cluster_s - single_s) / args.idle, 3),
        "idle_node_cameras": next(n["cameras"] for n in idle_nodes if n["id"] == "idle"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lease", type=float, default=4.0)
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds of running before the kill")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of the idle CPU measurement")
    parser.add_argument("--idle-lease", type=float, default=10.0, help="the lease of the idle measurement (default)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "cluster_failover.json")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "cpu": lscpu_model(), "lease_s": args.lease,
        "uptime_before": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="fl-clfail-") as folder:
        with tc.own_database() as url:
            report.update(failover(args, Path(folder) / "failover", url))
        with tc.own_database() as url:
            report["idle_cpu"] = idle_cpu(args, Path(folder) / "idle", url)
    report["uptime_after"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))  # noqa: T201 - the bench's output


if __name__ == "__main__":
    main()
