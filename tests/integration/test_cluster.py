"""Three real daemons as one cluster on one PostgreSQL database: placement, failover, fencing.

Each node has its own port, media folder and detector; all load the same cameras (short looped
clips at a low frame rate, each under its own file name so its ffmpeg can be told apart). The
lease is short (``LEASE`` s) so failover is quick. Checked on the real processes: which daemon's
ffmpeg reads each camera's file (a process's ancestry names the node), ``/api/cluster`` of every
node, the events on MQTT and in the database.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from tests.broker import Subscriber, unique_prefix
from tests.integration.daemon import SHARED, Daemon, demo_config
from tests.integration.test_mqtt_daemon import _events, _mqtt
from tests.pg_server import PrivatePostgres

pytestmark = pytest.mark.slow

LEASE = 4.0
CAMERAS = ("cam0", "cam1", "cam2")
NODES = ("node-a", "node-b", "node-c")
SHARED_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
VIDEO = SHARED / "media" / "one-by-one-person-detection.mp4"


@contextlib.contextmanager
def own_database() -> Iterator[str]:
    """A database of its own on the machine's server (the advisory lock and the tables are its own)."""
    name = f"fl_cluster_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(SHARED_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        conn = psycopg2.connect(SHARED_DSN)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.close()


@pytest.fixture
def cluster_db() -> Iterator[str]:
    with own_database() as url:
        yield url


RECORD_ARGS = "-f segment -segment_time 2 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c:v copy -an"


def node_config(tmp: Path, node_id: str, db_url: str, prefix: str, *, record: bool = False) -> dict[str, Any]:
    """``record``: 24/7 recording in 2 s segments too (the failover benchmark measures the footage gap)."""
    cfg = demo_config(tmp, loop=True, fps=2)
    cfg["database"] = {"url": db_url}
    cfg["mqtt"] = {**_mqtt(prefix, 1883), "client_id": f"{prefix}-{node_id}"}
    cfg["cluster"] = {"node_id": node_id, "url": f"http://127.0.0.1:{cfg['http']['port']}", "lease_seconds": LEASE}
    template = cfg["cameras"].pop("demo")
    clips = tmp.parent / "inputs"
    clips.mkdir(exist_ok=True)
    for name in CAMERAS:
        link = clips / f"{name}.mp4"  # one file name per camera: its ffmpeg's command line names it
        if not link.exists():
            link.symlink_to(VIDEO)
        cam = json.loads(json.dumps(template))
        cam["ffmpeg"]["inputs"][0]["path"] = str(link)
        cam["width"], cam["height"] = 384, 216
        if record:
            cam["ffmpeg"]["inputs"][0]["roles"] = ["detect", "clips", "record"]
            cam["ffmpeg"]["output_args"] = {"record": RECORD_ARGS}
            cam["record"] = {"enabled": True}
        cfg["cameras"][name] = cam
    return cfg


def start_all(daemons: list[Daemon]) -> None:
    """All at once, as a cluster booted together (each waits for its API)."""
    errors: list[BaseException] = []

    def start(daemon: Daemon) -> None:
        try:
            daemon.start(timeout=90)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(d,)) for d in daemons]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def ffmpeg_owners(daemons: dict[str, Daemon], cameras: tuple[str, ...] = CAMERAS) -> dict[str, set[str]]:
    """Camera → the nodes whose ffmpeg reads its file now (by process ancestry)."""
    pids = {d.proc.pid: node for node, d in daemons.items() if d.proc is not None and d.proc.poll() is None}
    owners: dict[str, set[str]] = {name: set() for name in cameras}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            if not cmdline or not cmdline[0].endswith(b"ffmpeg"):
                continue
            text = b" ".join(cmdline).decode(errors="replace")
            pid = int(entry.name)
            while pid > 1 and pid not in pids:
                pid = _ppid(pid)
        except (OSError, ValueError, IndexError):
            continue
        for name in cameras:
            if f"/{name}.mp4" in text:
                owners[name].add(pids.get(pid, f"orphan:{entry.name}"))
    return owners


def placement(daemon: Daemon) -> dict[str, str] | None:
    """Camera → node, as ``/api/cluster`` of ``daemon`` says (alive nodes only); None if it does not answer."""
    try:
        nodes = daemon.get_json("/api/cluster")["nodes"]
    except (OSError, ValueError):
        return None
    placed: dict[str, str] = {}
    for node in nodes:
        for name in node["cameras"] if node["alive"] else []:
            if name in placed:
                raise AssertionError(f"{name} listed on two nodes: {nodes}")
            placed[name] = node["id"]
    return placed


def placed_once(daemons: dict[str, Daemon], on: set[str]) -> dict[str, str] | None:
    """Every camera on exactly one node of ``on``, by the API of each of them and by its ffmpeg; else None."""
    views = [placement(daemons[node]) for node in on]
    if any(v is None or set(v) != set(CAMERAS) for v in views) or any(v != views[0] for v in views):
        return None
    placed = views[0]
    assert placed is not None
    owners = ffmpeg_owners(daemons)
    if any(owners[name] != {node} for name, node in placed.items()) or not set(placed.values()) <= on:
        return None
    return placed


def db_rows(db_url: str, sql: str) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(db_url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def make_nodes(tmp_path: Path, db_url: str, prefix: str, *, record: bool = False) -> dict[str, Daemon]:
    daemons = {}
    for node_id in NODES:
        folder = tmp_path / node_id
        folder.mkdir()
        daemons[node_id] = Daemon(folder, node_config(folder, node_id, db_url, prefix, record=record))
    return daemons


def stop_all(daemons: dict[str, Daemon]) -> None:
    for daemon in daemons.values():
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.terminate()


def test_three_nodes_place_every_camera_once_and_fail_over(tmp_path: Path, cluster_db: str) -> None:
    prefix = unique_prefix("cluster")
    daemons = make_nodes(tmp_path, cluster_db, prefix)
    all_nodes = set(NODES)
    with Subscriber(prefix) as sub:
        try:
            start_all(list(daemons.values()))
            daemons["node-a"].wait_for(lambda: placed_once(daemons, all_nodes), 45, what="every camera once")

            def spread() -> dict[str, str] | None:
                placed = placed_once(daemons, all_nodes)
                return placed if placed is not None and len(set(placed.values())) == 3 else None

            # nodes that did not see each other at their first look even out by hand-backs (a few lease periods)
            first = daemons["node-a"].wait_for(spread, 8 * LEASE, 0.3, "one camera on each node")

            # a second live process with a node's id refuses to start, naming the holder
            twin_dir = tmp_path / "twin"
            twin_dir.mkdir()
            twin_cfg = node_config(twin_dir, "node-a", cluster_db, prefix)
            twin_cfg["mqtt"]["client_id"] += "-twin"  # not the broker session of the real node-a
            twin = Daemon(twin_dir, twin_cfg)
            with pytest.raises(AssertionError, match="exited with 1"):
                twin.start(timeout=60)
            assert twin.wait_exit(5) == 1  # closes its log
            url_a = daemons["node-a"].cfg["cluster"]["url"]
            assert f"cluster.node_id 'node-a' is held by a live node at {url_a}" in twin.log(), twin.log()[-2000:]
            assert placed_once(daemons, all_nodes) == first, "the twin took nothing"
            daemons["node-a"].wait_for(
                lambda: any(e["type"] == "new" for e in _events(sub.snapshot())), 60, what="an event"
            )

            # SIGKILL: the node's cameras run elsewhere within twice the lease
            victim = first["cam0"]
            daemons[victim].kill()
            killed = time.monotonic()
            rest = all_nodes - {victim}
            after_kill = daemons[min(rest)].wait_for(
                lambda: placed_once(daemons, rest), 4 * LEASE, 0.2, "the killed node's camera elsewhere"
            )
            moved_in = time.monotonic() - killed
            assert moved_in < 2 * LEASE, f"cam0 ran again after {moved_in:.1f} s"
            assert victim not in after_kill.values()
            # what it left open is closed by the new owner
            left_open = f"SELECT id FROM event WHERE end_time IS NULL AND node_id = '{victim}'"
            daemons[min(rest)].wait_for(
                lambda: not db_rows(cluster_db, left_open), 4 * LEASE, 0.5, "the killed node's open events closed"
            )

            # SIGTERM: the cameras leave at once and run on the last node within 5 s
            leaving = next(node for node in sorted(rest) if node in after_kill.values())
            last = (rest - {leaving}).pop()
            leaving_proc = daemons[leaving].proc
            assert leaving_proc is not None
            leaving_proc.send_signal(signal.SIGTERM)
            termed = time.monotonic()
            daemons[last].wait_for(lambda: placed_once(daemons, {last}), 10, 0.2, "every camera on the last node")
            assert time.monotonic() - termed < 5.0
            assert daemons[leaving].wait_exit(30) == 0
        finally:
            stop_all(daemons)
        messages = sub.snapshot()
    news = [e["after"]["id"] for e in _events(messages) if e["type"] == "new"]
    ended = {e["after"]["id"] for e in _events(messages) if e["type"] == "end"}
    rows = db_rows(cluster_db, "SELECT id, node_id, end_time FROM event")
    assert news, "no event at all"
    assert len(news) == len(set(news)), "an event announced twice"
    assert set(news) == {row[0] for row in rows}, "MQTT new ids == database rows: none lost"
    assert all(row[2] is not None for row in rows), "none left open"
    assert set(news) <= ended, "every event announced ended on MQTT too"
    assert {row[1] for row in rows} <= all_nodes
    recordings_nodes = {row[0] for row in db_rows(cluster_db, "SELECT DISTINCT node_id FROM recordings")}
    assert recordings_nodes <= all_nodes


def test_database_away_for_30_s_no_camera_runs_twice_and_all_come_back(tmp_path: Path) -> None:
    pg = PrivatePostgres()
    pg.start()
    prefix = unique_prefix("clusterdb")
    daemons = make_nodes(tmp_path, pg.url, prefix)
    all_nodes = set(NODES)
    try:
        start_all(list(daemons.values()))
        daemons["node-a"].wait_for(lambda: placed_once(daemons, all_nodes), 45, what="every camera once")
        pg.stop()
        stopped = time.monotonic()
        fenced_at: float | None = None
        while time.monotonic() - stopped < 30:
            owners = ffmpeg_owners(daemons)
            assert all(len(nodes) <= 1 for nodes in owners.values()), f"a camera runs twice: {owners}"
            if fenced_at is None and not any(owners.values()):
                fenced_at = time.monotonic() - stopped
            time.sleep(0.3)
        assert fenced_at is not None and fenced_at < LEASE + 2, "cameras stopped before their leases could expire"
        pg.start()
        back = time.monotonic()
        while time.monotonic() - back < 40:
            owners = ffmpeg_owners(daemons)
            assert all(len(nodes) <= 1 for nodes in owners.values()), f"a camera runs twice: {owners}"
            if placed_once(daemons, all_nodes) is not None:
                break
            time.sleep(0.3)
        else:
            raise AssertionError(f"cameras did not all come back: {ffmpeg_owners(daemons)}")
        for daemon in daemons.values():
            assert daemon.proc is not None and daemon.proc.poll() is None, daemon.log()[-3000:]
    finally:
        stop_all(daemons)
        pg.close()
    for daemon in daemons.values():
        assert "placement failed; restarting" not in daemon.log(), daemon.log()[-4000:]


def test_a_camera_group_added_on_one_node_runs_once_in_the_cluster(tmp_path: Path, cluster_db: str) -> None:
    """Groups are kept in the shared table: node b takes up what node a's API added; placement runs it once."""
    prefix = unique_prefix("clgroups")
    inputs = tmp_path / "inputs"
    daemons: dict[str, Daemon] = {}
    for node_id in ("node-a", "node-b"):
        folder = tmp_path / node_id
        folder.mkdir()
        cfg = node_config(folder, node_id, cluster_db, prefix)
        cfg["cameras"] = {}
        cfg["camera_groups"] = {"file_roots": [str(inputs), str(VIDEO.parent)]}  # the link and what it names
        daemons[node_id] = Daemon(folder, cfg)
    both = set(daemons)
    try:
        start_all(list(daemons.values()))
        link = inputs / "grp0.mp4"  # its own file name: its ffmpeg can be told apart
        link.symlink_to(VIDEO)
        body = {
            "camera_configs": {
                "0": {"camera_name": "grp0", "source": str(link), "loop": True, "framerate": 2,
                      "resolution": {"width": 384, "height": 216}},
            }
        }  # fmt: skip
        request = urllib.request.Request(
            f"http://127.0.0.1:{daemons['node-a'].port}/skellycam/camera/group/apply",
            data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST",
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200

        def once() -> str | None:
            views = [placement(daemons[n]) for n in both]
            if any(v is None or set(v) != {"grp0"} for v in views) or views[0] != views[1]:
                return None
            owner = views[0]["grp0"] if views[0] else None
            return owner if ffmpeg_owners(daemons, ("grp0",))["grp0"] == {owner} else None

        owner = daemons["node-a"].wait_for(once, 6 * LEASE, 0.3, "the group camera running on one node")
        # the other node took the group up too: it runs it if the owner dies
        other = (both - {owner}).pop()
        daemons[owner].kill()
        daemons[other].wait_for(
            lambda: ffmpeg_owners(daemons, ("grp0",))["grp0"] == {other}, 4 * LEASE, 0.3, "the group camera moved"
        )
    finally:
        stop_all(daemons)
