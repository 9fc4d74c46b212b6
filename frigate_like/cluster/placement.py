"""The one place that decides which of the desired cameras this node runs, feeding the ``CameraRegistry``.

```
desired cameras (config, groups) ──► placement ──► CameraRegistry.add / remove ──► subscribers
```

- :class:`LocalPlacement`: a single node, the cluster of one: it runs every desired camera.
- :class:`LeasePlacement`: a cluster node. It runs a camera while it holds its lease in PostgreSQL
  (``leases.py``); every ``lease/3`` s it renews its leases, takes unowned or expired cameras up to
  its fair share ``ceil(cameras / live nodes)`` (``cameras.<name>.nodes`` honoured), and, at most
  once per ``REBALANCE_EVERY`` lease periods, gives cameras back when it holds two or more than
  the poorest live node (hysteresis: no flapping). **Fencing**: when its leases were last renewed
  more than ``FENCE_AFTER`` of the lease time ago (by this machine's monotonic clock, measured from
  before the renewal was sent), it stops every camera before any lease can expire — so no two
  nodes ever run one camera, even when the database cannot be reached to say so. A separate thread
  watches that deadline, so a statement hanging on a lost server cannot delay it.

The decision itself is :func:`plan`, a pure function of what the database shows.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import peewee as pw

from frigate_like.cameras.registry import Camera, CameraRegistry
from frigate_like.cluster.directory import ClusterDirectory, NodeInfo
from frigate_like.cluster.leases import LeaseStore
from frigate_like.config import CameraConfig
from frigate_like.errors import Conflict, NotFound
from frigate_like.supervise import Health

logger = logging.getLogger(__name__)

TICKS_PER_LEASE = 3  # renew every lease/3 s: two renewals may fail before fencing
FENCE_AFTER = 0.6  # of the lease time since the last renewal: stop the cameras (the lease lasts 1.0)
REBALANCE_EVERY = 3.0  # lease periods between two hand-backs of this node (no flapping)
ADD_RETRY_S = 30.0  # a camera the registry refused (e.g. a group camera of that name) is retried after this
GONE_AFTER = 2.0  # lease periods without a heartbeat: the node is dead; others close the events it left open
COOLING_TICKS = 1.5  # a camera given back is not taken again by its giver before the others' next tick
SETTLE_TICKS = 1.5  # ticks without taking (unless others are seen alive) at start and after an outage


@dataclass(frozen=True)
class Wanted:
    """A desired camera, as placement sees it: its name and the nodes that may run it (None: any)."""

    name: str
    nodes: tuple[str, ...] | None = None

    def eligible(self, node_id: str) -> bool:
        return self.nodes is None or node_id in self.nodes


@dataclass(frozen=True)
class Plan:
    take: list[str] = field(default_factory=list)  # in this order
    give_back: list[str] = field(default_factory=list)


def score(node_id: str, camera: str) -> int:
    """Rendezvous hashing: the live node with the highest score is a camera's first choice, so nodes
    started together mostly reach for different cameras instead of racing for the same ones."""
    digest = hashlib.blake2b(f"{node_id}\0{camera}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def plan(
    me: str,
    wanted: Sequence[Wanted],
    owners: Mapping[str, str],
    live: Collection[str],
    running: Collection[str],
    *,
    cooling: Collection[str] = (),
    may_rebalance: bool = False,
    takers: Collection[str] | None = None,
) -> Plan:
    """What this node should take and give back now.

    ``owners``: camera → node of its unexpired lease; ``live``: live node ids (this one counts
    anyway); ``running``: the cameras this node runs; ``cooling``: cameras it gave back lately
    (not taken again before another node could); ``may_rebalance``: the hand-back period has passed;
    ``takers``: the live nodes that beat lately (default: all live ones): only those count as poorer
    nodes to give cameras to — a node that just died still looks alive, with its leases expiring.
    """
    nodes = set(live) | {me}
    names = {w.name for w in wanted}
    mine = {c for c, owner in owners.items() if owner == me and c in names} | (set(running) & names)
    counts = Counter(owner for c, owner in owners.items() if c in names and owner in nodes and owner != me)
    share = math.ceil(len(wanted) / len(nodes)) if wanted else 0

    def only_me(w: Wanted) -> bool:
        return not any(w.eligible(n) for n in nodes if n != me)

    def first_choice(w: Wanted) -> bool:
        return max((n for n in nodes if w.eligible(n)), key=lambda n: score(n, w.name)) == me

    free = [
        w for w in wanted
        if w.eligible(me) and w.name not in running and owners.get(w.name, me) == me and w.name not in cooling
    ]  # fmt: skip
    free.sort(key=lambda w: (owners.get(w.name) != me, not only_me(w), not first_choice(w), -score(me, w.name)))
    count = len(mine)
    take: list[str] = []
    for w in free:
        if owners.get(w.name) == me:
            take.append(w.name)  # already this node's (a restart, a fence): counted in ``mine``
        elif only_me(w):
            take.append(w.name)  # no other node may run it: whatever the share, and it counts in it
            count += 1
        elif count < share:
            take.append(w.name)
            count += 1
    give_back: list[str] = []
    others = [counts.get(n, 0) for n in (nodes if takers is None else set(takers) & nodes) if n != me]
    # only once every camera has a node: while some are free, the poorer nodes are still taking them
    settled = not take and all(w.name in owners or w.name in running for w in wanted)
    if may_rebalance and settled and others and count - min(others) >= 2:
        surplus = (count - min(others)) // 2
        by_want = {w.name: w for w in wanted}
        candidates = [c for c in running if c in by_want and not only_me(by_want[c])]
        candidates.sort(key=lambda c: score(me, c))  # this node's least preferred first
        give_back = candidates[:surplus]
    return Plan(take, give_back)


class Placement:
    """Desired cameras in, registry changes out. The base is the single node: it runs every camera."""

    def __init__(self, registry: CameraRegistry, node_id: str = "") -> None:
        self.registry = registry
        self.node_id = node_id
        self._lock = threading.RLock()  # orders registry changes made by placement's threads
        self._desired: dict[str, tuple[CameraConfig, str]] = {}
        self._running: set[str] = set()  # the cameras placement added to the registry
        self.configs: Mapping[str, CameraConfig] = _DesiredConfigs(self)  # a live view of ``desired()``

    # -- desired cameras ------------------------------------------------------------------------------
    def want(self, config: CameraConfig, source: str) -> None:
        """``config`` should run somewhere (this node, or another one of the cluster)."""
        with self._lock:
            self._desired[config.name] = (config, source)
        self._wanted(config.name)

    def update(self, config: CameraConfig) -> None:
        """A desired camera's new config; running here, it restarts with it (``registry.update``)."""
        with self._lock:
            entry = self._desired.get(config.name)
            if entry is None:
                raise NotFound(f"no camera named {config.name!r}")
            self._desired[config.name] = (config, entry[1])
            if config.name in self._running:
                try:
                    self.registry.update(config)
                except Exception:
                    self._running.discard(config.name)  # the registry removed it
                    raise

    def wanted(self, name: str) -> tuple[CameraConfig, str] | None:
        """A desired camera's config and source."""
        with self._lock:
            return self._desired.get(name)

    def wanted_names(self, source: str | None = None) -> list[str]:
        with self._lock:
            return [name for name, (_, src) in self._desired.items() if source is None or src == source]

    def unwant(self, name: str) -> None:
        """``name`` should run nowhere any more."""
        with self._lock:
            self._desired.pop(name, None)
            self._stop(name)

    def desired(self) -> dict[str, CameraConfig]:
        """Every desired camera's config (those other nodes run too), over the registry's (group cameras)."""
        with self._lock:
            wanted = {name: config for name, (config, _) in self._desired.items()}
        return {**self.registry.configs, **wanted}

    def running(self) -> list[str]:
        with self._lock:
            return sorted(self._running)

    def _wanted(self, name: str) -> None:
        self._start(name)

    # -- the thread and the stop -----------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """The supervised thread body (a single node has nothing to do)."""
        stop.wait()

    def halt(self) -> None:
        """At a clean stop, before the cameras' processes stop: no camera is taken or given any more."""

    def release(self) -> None:
        """At a clean stop, after the cameras' processes stopped: let others take them now."""

    def fence(self) -> None:
        """Stops every camera placement started, at once (the node must not run them any more)."""
        with self._lock:
            for name in sorted(self._running):
                self._running.discard(name)
                self._remove(name)

    # -- registry changes -----------------------------------------------------------------------------------
    def _remove(self, name: str) -> None:
        """Removes a camera placement started; one already gone (``close all`` of the groups API) is no error."""
        try:
            self.registry.remove(name)
        except NotFound:
            logger.info("camera %s was already stopped", name)

    def _start(self, name: str) -> bool:
        with self._lock:
            entry = self._desired.get(name)
            if entry is None or name in self._running:
                return False
            config, source = entry
            self.registry.add(config, source)
            self._running.add(name)
            return True

    def _stop(self, name: str) -> None:
        with self._lock:
            if name in self._running:
                self._running.discard(name)
                self._remove(name)


class PlacedCameras:
    """The camera groups' view of the cameras in cluster mode: the cluster's desired cameras, not this node's.

    A group camera added through it is desired (placed on some node by leases, like a YAML camera); pause
    and updates reach the registry where the camera runs here. Same methods as the ``CameraRegistry``
    the groups use on a single node.
    """

    def __init__(self, placement: Placement) -> None:
        self._placement = placement

    def names(self, source: str | None = None) -> list[str]:
        return self._placement.wanted_names(source)

    def get(self, name: str) -> Camera:
        entry = self._placement.wanted(name)
        if entry is None:
            raise NotFound(f"no camera named {name!r}")
        return Camera(entry[0], entry[1])

    def add(self, config: CameraConfig, source: str, *, paused: bool = False) -> None:
        if config.name in self._placement.wanted_names():
            raise Conflict(f"a camera named {config.name!r} already runs")
        self._placement.want(config, source)
        if paused and config.name in self._placement.registry.names():
            self._placement.registry.set_paused(config.name, True)

    def update(self, config: CameraConfig) -> None:
        self._placement.update(config)

    def set_paused(self, name: str, paused: bool) -> None:
        if name in self._placement.registry.names():
            self._placement.registry.set_paused(name, paused)

    def remove(self, name: str) -> None:
        self._placement.unwant(name)


class _DesiredConfigs(Mapping[str, CameraConfig]):
    """Read-only and always current: retention keeps the settings of cameras that run on other nodes now."""

    def __init__(self, placement: Placement) -> None:
        self._placement = placement

    def __getitem__(self, name: str) -> CameraConfig:
        return self._placement.desired()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._placement.desired())

    def __len__(self) -> int:
        return len(self._placement.desired())


class LeasePlacement(Placement):
    """A cluster node's placement by leases (see the module's docstring)."""

    def __init__(
        self,
        registry: CameraRegistry,
        node_id: str,
        leases: LeaseStore,
        directory: ClusterDirectory,
        *,
        health: Health | None = None,
        on_takeover: Callable[[str, list[NodeInfo]], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``on_takeover(camera, dead_nodes)``: a camera taken whose events another node may have left open
        (called after every take, with the nodes not alive; it closes what those left open)."""
        super().__init__(registry, node_id)
        self._leases = leases
        self._directory = directory
        self._health = health
        self._on_takeover = on_takeover
        self._clock = clock
        self.lease_seconds = leases.lease_seconds
        self._renewed_at: float | None = None  # monotonic time the last good renewal was sent
        self._last_give_back = clock()  # none in the first periods: let the nodes started together settle
        self._cooling: dict[str, float] = {}  # camera given back → monotonic time it may be taken again
        self._refused: dict[str, float] = {}  # camera the registry refused → retry time
        self._left_open: dict[str, float] = {}  # camera taken → until when to look for events left open
        self.fenced = threading.Event()  # set while the cameras are stopped because leases could not be renewed
        self.ticks = 0
        # after a database outage every heartbeat is stale: take nothing until the others' next beats landed,
        # or the first node back would see itself alone and take every camera
        self._settle_until: float | None = None
        self._halted = threading.Event()
        self._tick_lock = threading.Lock()  # one tick at a time; ``halt`` waits for the one under way

    @property
    def interval(self) -> float:
        return self.lease_seconds / TICKS_PER_LEASE

    def _wanted(self, name: str) -> None:
        return None  # taken by the next tick, if this node gets it

    def _stop(self, name: str) -> None:
        with self._lock:
            was = name in self._running
            super()._stop(name)
        if was:
            try:
                self._leases.release([name])
            except pw.DatabaseError as exc:
                logger.warning("camera %s: could not give its lease back (%s); it expires", name, exc)

    # -- the loop ---------------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Ticks every lease/3 s; a fence thread of its own watches the renewal deadline."""
        fence = threading.Thread(target=self._fence_loop, args=(stop,), name="cluster-fence", daemon=True)
        fence.start()
        try:
            while not stop.is_set() and not self._halted.is_set():
                try:
                    self.tick()
                except pw.DatabaseError as exc:
                    if self._settle_until is not None:  # once per outage
                        logger.warning("placement: the database is away (%s); cameras stop if it stays away", exc)
                    self._settle_until = None  # set when it answers again
                    if self._health is not None:
                        self._health.failed(exc)
                else:
                    if self._health is not None:
                        self._health.ok()
                stop.wait(self.interval)
        finally:
            fence.join(timeout=self.interval)

    def tick(self) -> None:
        """Renew, look, take, give back. Raises ``peewee.DatabaseError`` when the database is away."""
        with self._tick_lock:
            if not self._halted.is_set():
                self._tick()

    def halt(self) -> None:
        """No more ticks (the one under way finishes first) and no fencing: the daemon is stopping its cameras
        itself. The leases are renewed once more, so they outlast the processes' stop."""
        self._halted.set()
        with self._tick_lock:
            try:
                self._renew()
            except pw.DatabaseError as exc:
                logger.warning("placement: leases not renewed at the stop (%s)", exc)

    def _tick(self) -> None:
        self.ticks += 1
        self._renew()
        nodes = self._directory.nodes()
        if self._settle_until is None:
            self._settle_until = self._clock() + SETTLE_TICKS * self.interval
            if self.ticks > 1:
                logger.info("placement: the database answers; taking cameras after the nodes' next heartbeats")
        owners = {camera: node.node_id for node in nodes for camera in node.cameras}
        live = [node.node_id for node in nodes if node.alive]
        takers = [node.node_id for node in nodes if node.alive and node.silent_for < 2 * self.interval]
        now = self._clock()
        self._cooling = {c: t for c, t in self._cooling.items() if t > now}
        self._refused = {c: t for c, t in self._refused.items() if t > now}
        with self._lock:
            wanted = [Wanted(name, tuple(cfg.nodes) if cfg.nodes else None) for name, (cfg, _) in self._desired.items()]
            running = set(self._running)
        may_rebalance = now - self._last_give_back >= REBALANCE_EVERY * self.lease_seconds
        decision = plan(
            self.node_id, wanted, owners, live, running,
            cooling=set(self._cooling) | set(self._refused), may_rebalance=may_rebalance, takers=takers,
        )  # fmt: skip
        # events are left to their node while it may still write them (a clean stop ends its own)
        dead = [n for n in nodes if n.node_id != self.node_id and n.silent_for > GONE_AFTER * self.lease_seconds]
        settled = now >= self._settle_until or any(n.alive and n.node_id != self.node_id for n in nodes)
        for name in decision.take if settled else [c for c in decision.take if owners.get(c) == self.node_id]:
            self._take(name, dead)
        if decision.give_back:
            self._give_back(decision.give_back, now)
        self._look_for_left_open(dead, now)

    def _renew(self) -> None:
        """Extends the leases of the running cameras; a camera whose lease is gone stops."""
        sent = self._clock()
        with self._lock:
            held = set(self._running)
        renewed = self._leases.renew(held)
        with self._lock:
            self._renewed_at = sent
            if self.fenced.is_set():
                logger.warning("placement: the database answers again; taking cameras again")
                self.fenced.clear()
            for name in held - renewed:
                if name in self._running:
                    logger.warning("camera %s: its lease is no longer this node's; stopping it", name)
                    self._running.discard(name)
                    self._remove(name)

    def _take(self, name: str, dead: list[NodeInfo]) -> None:
        renewed = self._renewed_at
        if renewed is not None and self._clock() - renewed > self.interval:
            self._renew()  # starting many cameras takes a while: keep the others' leases fresh meanwhile
        if not self._leases.acquire(name):
            return  # another node was quicker
        if self._on_takeover is not None:
            self._on_takeover(name, dead)
            self._left_open[name] = self._clock() + 2 * self.lease_seconds
        try:
            started = self._start(name)
        except Exception as exc:
            logger.error("camera %s: could not start it (%s); retried in %.0f s", name, exc, ADD_RETRY_S)
            self._refused[name] = self._clock() + ADD_RETRY_S
            self._leases.release([name])
            return
        if started:
            logger.info("camera %s: runs on this node (%s) now", name, self.node_id)

    def _give_back(self, names: list[str], now: float) -> None:
        logger.info("placement: giving back %s so the cameras spread evenly", ", ".join(names))
        self._last_give_back = now
        for name in names:
            self._cooling[name] = now + COOLING_TICKS * self.interval
            self._stop(name)

    def _look_for_left_open(self, dead: list[NodeInfo], now: float) -> None:
        """A node seen alive at the take (its heartbeat not yet stale) may die with events open: look again."""
        if self._on_takeover is None:
            return
        for name, until in list(self._left_open.items()):
            if until < now:
                del self._left_open[name]
            elif name in self._running:
                self._on_takeover(name, dead)

    # -- fencing -----------------------------------------------------------------------------------------
    def _fence_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            stop.wait(self.check_fence())

    def check_fence(self) -> float:
        """Fences when the deadline has passed; returns how long to wait before the next look."""
        limit = FENCE_AFTER * self.lease_seconds
        with self._lock:
            renewed = self._renewed_at
            due = renewed is not None and bool(self._running) and self._clock() - renewed > limit
            due = due and not self._halted.is_set()  # stopping: the daemon stops the cameras itself
        if due:
            self.fence()
        wait = limit if renewed is None else max(0.05, renewed + limit - self._clock() + 0.01)
        return min(wait, self.interval)

    def fence(self) -> None:
        """Stops every camera at once: this node can no longer prove it holds their leases."""
        with self._lock:
            names = sorted(self._running)
            if not names:
                return
            self.fenced.set()
            logger.error(
                "placement: leases not renewed for %.1f s; stopping %s before they can expire",
                self._clock() - (self._renewed_at or 0.0), ", ".join(names),
            )  # fmt: skip
            for name in names:
                self._running.discard(name)
                self._remove(name)
        if self._health is not None:
            self._health.failed("leases not renewed: cameras stopped (fenced)")

    def release(self) -> None:
        """At a clean stop, after the camera processes stopped: the leases go at once, for others to take."""
        with self._lock:
            names = set(self._running)
            self._running.clear()
        try:
            self._leases.release(names)
        except pw.DatabaseError as exc:
            logger.warning("placement: could not give the leases back (%s); they expire", exc)
