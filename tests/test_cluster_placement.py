"""The cluster on the real PostgreSQL (a schema of its own per test): nodes, leases, fencing, spread, retention.

The nodes here are real ``NodeMembership`` / ``LeasePlacement`` / ``CameraRegistry`` objects on one
database; only the camera processes are absent (a registry with no subscribers runs nothing).
Ticks are driven by the test, and the monotonic clock of the fencing is the test's own.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import peewee as pw
import pytest

from frigate_like.api import ApiServices, create_app
from frigate_like.cameras import CONFIG_SOURCE, CameraRegistry
from frigate_like.cluster.directory import ClusterDirectory
from frigate_like.cluster.leases import LeaseStore
from frigate_like.cluster.node import NodeIdTaken, NodeMembership
from frigate_like.cluster.placement import FENCE_AFTER, LeasePlacement, PlacedCameras, Placement, Wanted, plan, score
from frigate_like.cluster.takeover import LeftOpenEvents
from frigate_like.cluster.wiring import ClusterParts
from frigate_like.config import CameraConfig, config_from_dict
from frigate_like.db import queries, recordings
from frigate_like.db.database import open_database
from frigate_like.db.owner import RowOwner, set_row_owner
from frigate_like.devices import DeviceDiscovery
from frigate_like.groups import GroupManager
from frigate_like.groups.models import GroupCameraConfig
from frigate_like.groups.store import DatabaseGroupStore
from frigate_like.migrations import MIGRATIONS_DIR

LEASE = 6.0


@pytest.fixture
def db(pg_url: str) -> Iterator[pw.Database]:
    database = open_database(SimpleNamespace(path=Path("unused.db"), url=pg_url), MIGRATIONS_DIR)
    yield database
    set_row_owner(RowOwner(""))
    database.close()


def camera(name: str, nodes: list[str] | None = None) -> CameraConfig:
    return CameraConfig.model_validate(
        {
            "name": name,
            "ffmpeg": {"inputs": [{"path": f"rtsp://127.0.0.1/{name}", "roles": ["detect"]}]},
            "width": 640,
            "height": 360,
            "nodes": nodes,
        }
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Node:
    """One node without camera processes: membership, placement and a registry."""

    def __init__(self, db: pw.Database, node_id: str, cameras: list[CameraConfig], clock: Clock) -> None:
        self.registry = CameraRegistry()
        self.stop = threading.Event()
        self.membership = NodeMembership(db, node_id, f"http://{node_id}:5000", LEASE, dict, self.stop)
        self.membership.join()
        self.placement = LeasePlacement(
            self.registry, node_id, LeaseStore(db, node_id, LEASE), ClusterDirectory(db, LEASE),
            on_takeover=LeftOpenEvents(queries), clock=clock,
        )  # fmt: skip
        for cam in cameras:
            self.placement.want(cam, CONFIG_SOURCE)

    def names(self) -> set[str]:
        return set(self.registry.names())

    def tick_settled(self, clock: Clock) -> None:
        """A first tick, then one after the settling time (a node alone waits for others' heartbeats)."""
        self.placement.tick()
        clock.now += LEASE
        self.placement.tick()


def owners(nodes: list[Node]) -> Counter[str]:
    return Counter(name for node in nodes for name in node.names())


# -- the decision alone --------------------------------------------------------------------------------------
def test_plan_takes_up_to_the_fair_share_and_honours_preferences() -> None:
    wanted = [Wanted(f"c{i}") for i in range(5)] + [Wanted("usb", ("b",))]
    decision = plan("a", wanted, {}, ["a", "b", "c"], set())
    assert len(decision.take) == 2 and "usb" not in decision.take  # ceil(6 / 3)
    only_b = plan("b", wanted, {f"c{i}": "a" for i in range(5)}, ["a", "b", "c"], set())
    assert only_b.take == ["usb"], "a camera only this node may run is taken whatever the share"


def test_plan_gives_back_only_with_a_difference_of_two_and_when_allowed() -> None:
    wanted = [Wanted(f"c{i}") for i in range(4)]
    held_by_a = {f"c{i}": "a" for i in range(4)}
    running = set(held_by_a)
    assert plan("a", wanted, held_by_a, ["a", "b"], running).give_back == [], "not before the period passed"
    decision = plan("a", wanted, held_by_a, ["a", "b"], running, may_rebalance=True)
    assert len(decision.give_back) == 2
    three_one = {"c0": "a", "c1": "a", "c2": "a", "c3": "b"}
    least_preferred = min(["c0", "c1", "c2"], key=lambda c: score("a", c))
    assert plan("a", wanted, three_one, ["a", "b"], {"c0", "c1", "c2"}, may_rebalance=True).give_back == [
        least_preferred
    ]
    two_two = {"c0": "a", "c1": "a", "c2": "b", "c3": "b"}
    assert plan("a", wanted, two_two, ["a", "b"], {"c0", "c1"}, may_rebalance=True).give_back == []


# -- nodes ---------------------------------------------------------------------------------------------------
def test_a_second_live_process_with_the_same_node_id_is_refused(db: pw.Database) -> None:
    stop = threading.Event()
    first = NodeMembership(db, "a", "http://10.0.0.5:5000", LEASE, dict, stop)
    first.join()
    second = NodeMembership(db, "a", "http://10.0.0.6:5000", LEASE, dict, stop)
    with pytest.raises(NodeIdTaken, match=r"'a' is held by a live node at http://10\.0\.0\.5:5000"):
        second.join()
    first.leave()  # a clean stop frees the id at once
    second.join()
    first.beat()
    assert first.lost.is_set(), "the first process learns that the id is another's now"
    second.beat()
    assert not second.lost.is_set()


def test_heartbeat_writes_the_stats(db: pw.Database) -> None:
    membership = NodeMembership(
        db, "a", "http://a:5000", LEASE, lambda: {"door": {"camera_fps": 5.0}}, threading.Event()
    )
    membership.join()
    membership.beat()
    node = ClusterDirectory(db, LEASE).node("a")
    assert node is not None and node.alive and node.stats == {"door": {"camera_fps": 5.0}}


# -- leases --------------------------------------------------------------------------------------------------
def test_one_lease_per_camera_whoever_races(db: pw.Database) -> None:
    stores = [LeaseStore(db, node, LEASE) for node in "abc"]
    results: list[tuple[str, bool]] = []
    barrier = threading.Barrier(len(stores))

    def race(store: LeaseStore) -> None:
        barrier.wait()
        results.append((store.node_id, store.acquire("door")))

    threads = [threading.Thread(target=race, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(won for _, won in results) == 1
    winner = next(node for node, won in results if won)
    assert [lease.node_id for lease in ClusterDirectory(db, LEASE).leases()] == [winner]
    loser = next(s for s in stores if s.node_id != winner)
    assert loser.renew(["door"]) == set(), "a node cannot renew a lease it does not hold"
    loser.release(["door"])
    assert ClusterDirectory(db, LEASE).leases()[0].node_id == winner, "nor give it back"


def test_an_expired_lease_is_taken_over(db: pw.Database) -> None:
    short = LeaseStore(db, "a", 0.01)
    assert short.acquire("door")
    time.sleep(0.05)
    assert LeaseStore(db, "b", LEASE).acquire("door")
    assert short.renew(["door"]) == set()


# -- placement -----------------------------------------------------------------------------------------------
def test_three_nodes_spread_the_cameras_each_runs_once(db: pw.Database) -> None:
    clock = Clock()
    cams = [camera(f"cam{i}") for i in range(7)] + [camera("usb", ["b"])]
    nodes = [Node(db, node_id, cams, clock) for node_id in "abc"]
    for _ in range(2):
        for node in nodes:
            node.placement.tick()
    assert owners(nodes) == Counter({c.name: 1 for c in cams}), "every camera runs, each on one node"
    assert "usb" in nodes[1].names()
    counts = sorted(len(n.names()) for n in nodes)
    assert counts[-1] - counts[0] <= 1, counts
    lease_rows = {lease.camera: lease.node_id for lease in ClusterDirectory(db, LEASE).leases()}
    assert lease_rows == {name: n.placement.node_id for n in nodes for name in n.names()}


def test_sigterm_gives_the_cameras_to_the_others_at_once(db: pw.Database) -> None:
    clock = Clock()
    cams = [camera(f"cam{i}") for i in range(4)]
    a, b = Node(db, "a", cams, clock), Node(db, "b", cams, clock)
    for node in (a, b, a, b):
        node.placement.tick()
    assert len(a.names()) == 2
    a.placement.release()
    a.membership.leave()
    b.placement.tick()
    assert len(b.names()) == 2, "alone now: it waits for the heartbeats of nodes that may come back"
    clock.now += LEASE
    b.placement.tick()
    assert b.names() == {c.name for c in cams}


def test_a_halted_node_takes_nothing_and_leaves_its_cameras_to_the_stop(db: pw.Database) -> None:
    clock = Clock()
    node = Node(db, "a", [camera("door")], clock)
    node.tick_settled(clock)
    node.placement.want(camera("yard"), CONFIG_SOURCE)
    node.placement.halt()
    node.placement.tick()
    assert node.names() == {"door"}, "nothing taken while the daemon stops"
    clock.now += LEASE
    node.placement.check_fence()
    assert node.names() == {"door"}, "the daemon's stop removes it, not the fence racing it"
    node.placement.release()
    assert ClusterDirectory(db, LEASE).leases() == []


def test_a_node_that_cannot_renew_stops_its_cameras_before_the_lease_expires(db: pw.Database) -> None:
    clock = Clock()
    node = Node(db, "a", [camera("door"), camera("yard")], clock)
    node.tick_settled(clock)
    assert node.names() == {"door", "yard"}
    clock.now += FENCE_AFTER * LEASE * 0.9
    node.placement.check_fence()
    assert node.names() == {"door", "yard"}, "still inside the renewal margin"
    clock.now += FENCE_AFTER * LEASE * 0.2  # no renewal got through meanwhile
    node.placement.check_fence()
    assert node.names() == set() and node.placement.fenced.is_set()
    node.placement.tick()  # the database answers again: its own leases are its own still
    assert node.names() == {"door", "yard"} and not node.placement.fenced.is_set()
    node.registry.remove("door")  # e.g. the groups API's "close all"
    node.placement.fence()
    assert node.names() == set(), "a camera already gone is no error"


def test_a_returning_node_gets_cameras_back_without_flapping(db: pw.Database) -> None:
    clock = Clock()
    cams = [camera(f"cam{i}") for i in range(6)]
    a = Node(db, "a", cams, clock)
    a.tick_settled(clock)
    assert len(a.names()) == 6
    b = Node(db, "b", cams, clock)
    b.placement.tick()
    assert b.names() == set(), "nothing free"
    clock.now += 3 * LEASE + 1
    a.placement.tick()  # 6 against 0: gives back half the difference
    assert len(a.names()) == 3
    a.placement.tick()
    assert len(a.names()) == 3, "what it gave back cools down: not taken again by itself"
    b.placement.tick()
    assert len(b.names()) == 3
    for _ in range(5):
        clock.now += 3 * LEASE + 1
        a.placement.tick()
        b.placement.tick()
        assert (len(a.names()), len(b.names())) == (3, 3), "balanced: nothing moves any more"


def test_the_new_owner_closes_the_events_a_dead_node_left_open(db: pw.Database) -> None:
    set_row_owner(RowOwner("a"))
    left = queries.create_event("door", "person", 1000.0)
    set_row_owner(RowOwner("b"))
    now = ClusterDirectory(db, LEASE).now()
    db.execute_sql(
        "INSERT INTO cluster_node (node_id, url, instance, started_at, heartbeat_at) VALUES ('a', '', 'x', %s, %s)",
        (now - 100, now - 30),
    )
    clock = Clock()
    node = Node(db, "b", [camera("door")], clock)
    node.tick_settled(clock)
    assert node.names() == {"door"}
    event = queries.get_event(left)
    assert event is not None and event["end_time"] == pytest.approx(now - 30) and not event["has_clip"]
    assert queries.open_events(camera="door", node_id="a") == []


# -- retention per node ----------------------------------------------------------------------------------------
def _write_as(node: str, start: float) -> str:
    set_row_owner(RowOwner(node))
    event = queries.create_event("door", "person", start, end_time=start + 5)
    recordings.add_recording("door", f"/media/{node}/{start}.mp4", start, start + 10, 100)
    return event


def test_each_node_deletes_only_its_own_rows(db: pw.Database) -> None:
    mine = _write_as("a", 1000.0)
    theirs = _write_as("b", 1000.0)
    single = _write_as("", 1000.0)  # written before the cluster: the single node's
    set_row_owner(RowOwner("a"))
    assert [row["id"] for row in queries.delete_events_before(2000.0)] == [mine]
    assert [row["path"] for row in recordings.oldest()] == ["/media/a/1000.0.mp4"]
    assert [row["path"] for row in recordings.ended_before("door", 2000.0)] == ["/media/a/1000.0.mp4"]
    assert [row["id"] for row in queries.list_events(limit=None, own_only=True)] == []
    assert {row["id"] for row in queries.list_events(limit=None)} == {theirs, single}, "the API lists every node's"
    set_row_owner(RowOwner(""))
    assert [row["id"] for row in queries.delete_events_before(2000.0)] == [single]
    assert queries.get_event(theirs) is not None


# -- camera groups in the database ---------------------------------------------------------------------------
def test_a_group_added_on_one_node_is_placed_once_and_taken_up_by_the_others(
    db: pw.Database, model_path: Path, labelmap_path: Path, person_video: Path, tmp_path: Path
) -> None:
    cfg = config_from_dict(
        {
            "camera_groups": {"file_roots": [str(person_video.parent)]},
            "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
            "cameras": {},
        }
    )
    clock = Clock()
    nodes = [Node(db, node_id, [], clock) for node_id in "ab"]
    managers = [
        GroupManager(
            PlacedCameras(n.placement), cfg, DatabaseGroupStore(db), DeviceDiscovery(tmp_path / "sys", tmp_path / "d"),
            free_slots=lambda: 8,
        )  # fmt: skip
        for n in nodes
    ]
    source = {"source": str(person_video), "loop": True, "framerate": 5}
    answer = managers[0].apply(
        {"camera_configs": {"0": {"camera_name": "g0", **source}, "1": {"camera_name": "g1", **source}}}
    )
    assert managers[1].sync(), "node b takes the group up from the table"
    assert not managers[1].sync(), "nothing new the second time"
    for _ in range(2):
        for node in nodes:
            node.placement.tick()
    assert owners(nodes) == Counter({"g0": 1, "g1": 1}), "each group camera runs on one node"
    assert managers[1].state()["groups"][answer["group_id"]]["camera_configs"].keys() == {"0", "1"}
    managers[1].close_all()  # forgets the groups everywhere
    assert managers[0].sync()
    for node in nodes:
        node.placement.tick()
    assert owners(nodes) == Counter()
    assert DatabaseGroupStore(db).load() == {}


def test_two_nodes_saving_at_once_keep_each_others_groups(db: pw.Database) -> None:
    first, second = DatabaseGroupStore(db), DatabaseGroupStore(db)
    first.load()
    second.load()
    config = GroupCameraConfig(camera_name="x", source="rtsp://10.0.0.9/x")
    first.save({"g1": {"0": config}})
    second.save({"g2": {"0": config}})  # it has not seen g1: it must not delete it
    assert set(DatabaseGroupStore(db).load()) == {"g1", "g2"}


# -- the API --------------------------------------------------------------------------------------------------
def test_api_cluster_of_a_single_node_is_itself_and_of_a_cluster_every_node(db: pw.Database) -> None:
    single = ClusterParts(Placement(CameraRegistry()))
    single.placement.want(camera("door"), CONFIG_SOURCE)
    clock = Clock()
    clustered = Node(db, "a", [camera("yard")], clock)
    clustered.tick_settled(clock)
    parts = ClusterParts(clustered.placement, clustered.membership, ClusterDirectory(db, LEASE), db)
    for nodes, expected in (
        (single.nodes("http://127.0.0.1:5000"),
         [{"id": socket.gethostname(), "url": "http://127.0.0.1:5000", "alive": True, "cameras": ["door"]}]),
        (parts.nodes("unused"), [{"id": "a", "url": "http://a:5000", "alive": True, "cameras": ["yard"]}]),
    ):  # fmt: skip
        services = ApiServices(config=None, stats=dict, public_config=dict, events=None, cluster=lambda n=nodes: n)
        app = create_app(services)
        answer = app.test_client().get("/api/cluster")
        assert answer.status_code == 200 and answer.get_json() == {"nodes": expected}
    missing = create_app(ApiServices(config=None, stats=dict, public_config=dict, events=None))
    assert missing.test_client().get("/api/cluster").status_code == 503
