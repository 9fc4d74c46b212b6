"""MQTT as one Frigate over several nodes, against the real Mosquitto (comms/mqtt.py, comms/switches.py).

Node ``a`` of the dying-node test is a real process killed with SIGKILL, so the broker sends its
wills as it would for a crashed box; the other nodes run in this process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from frigate_like.comms.mqtt import MqttClient
from frigate_like.comms.switches import Switches
from frigate_like.config.sections import MqttConfig
from tests.broker import PrivateBroker, Subscriber, retained, send, unique_prefix

REPO = Path(__file__).resolve().parents[1]


def _config(prefix: str, port: int = 1883) -> MqttConfig:
    return MqttConfig(host="127.0.0.1", port=port, topic_prefix=prefix, client_id=prefix)  # one client_id for all


def _wait(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def nodes() -> Iterator[Callable[..., MqttClient]]:
    made: list[MqttClient] = []

    def make(cfg: MqttConfig, node_id: str, others_alive: Callable[[], bool]) -> MqttClient:
        client = MqttClient(cfg, node_id=node_id, others_alive=others_alive, min_delay=1, max_delay=1)
        made.append(client)
        client.start()
        assert client.wait_settled(10), f"node {node_id} did not connect"
        return client

    yield make
    for client in made:
        client.stop(timeout=1)


def _node_process(prefix: str, node_id: str) -> subprocess.Popen[str]:
    script = textwrap.dedent(
        f"""
        import time
        from frigate_like.comms.mqtt import MqttClient
        from frigate_like.config.sections import MqttConfig
        cfg = MqttConfig(host="127.0.0.1", port=1883, topic_prefix={prefix!r}, client_id={prefix!r})
        client = MqttClient(cfg, node_id={node_id!r}, others_alive=lambda: True)
        client.start()
        print("ready" if client.wait_settled(10) else "failed", flush=True)
        time.sleep(600)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_a_dying_node_does_not_turn_the_shared_available_off(nodes: Callable[..., MqttClient]) -> None:
    prefix = unique_prefix("cluster-avail")
    a_alive = threading.Event()
    a_alive.set()
    with Subscriber(prefix) as sub:
        a = _node_process(prefix, "a")
        try:
            b = nodes(_config(prefix), "b", a_alive.is_set)
            sub.wait_topic("node/a/available", "online")
            sub.wait_topic("node/b/available", "online")
            time.sleep(0.5)
            assert b.connected, "two nodes of one config connect under their own client ids"
            assert retained(prefix, "available") == "online"

            seen = len(sub.snapshot())
            os.kill(a.pid, signal.SIGKILL)
            a.wait(10)
            a_alive.clear()
            sub.wait_topic("node/a/available", "offline", after=seen)  # a's own will
            sub.wait_topic("available", "offline", after=seen)  # a's will on the shared topic ...
            sub.wait_topic("available", "online", after=seen)  # ... which b turns back
            assert retained(prefix, "available") == "online"
            assert retained(prefix, "node/b/available") == "online"
        finally:
            if a.poll() is None:
                a.kill()
                a.wait()
            assert a.stdout is not None
            a.stdout.close()
        b.stop(timeout=3)  # the last node stopping cleanly: the whole Frigate is offline
        sub.wait_topic("node/b/available", "offline")
        _wait(lambda: [m.text for m in sub.on("available")][-1] == "offline", 10, "available offline")
        assert retained(prefix, "available") == "offline"


def test_a_clean_stop_leaves_available_online_while_another_node_lives(nodes: Callable[..., MqttClient]) -> None:
    prefix = unique_prefix("cluster-stop")
    with Subscriber(prefix) as sub:
        a = nodes(_config(prefix), "a", lambda: True)
        nodes(_config(prefix), "b", lambda: False)
        sub.wait_topic("node/b/available", "online")
        # each node's main connection says "online" on connecting, apart from (and maybe after) its node topic
        _wait(lambda: [m.text for m in sub.on("available")].count("online") >= 2, 10, "both nodes' online")
        seen = len(sub.snapshot())
        a.stop(timeout=3)
        sub.wait_topic("node/a/available", "offline", after=seen)
        time.sleep(1.0)
        assert [m.text for m in sub.snapshot()[seen:] if m.topic == "available"] == []
        assert retained(prefix, "available") == "online"


def _camera(name: str) -> Any:
    return SimpleNamespace(
        name=name, clips=SimpleNamespace(enabled=False), snapshots=SimpleNamespace(enabled=True),
        input_for=lambda role: object(),
    )  # fmt: skip


def test_switches_of_a_camera_run_elsewhere_are_that_node_s_and_follow_the_camera(
    nodes: Callable[..., MqttClient], caplog: pytest.LogCaptureFixture
) -> None:
    prefix = unique_prefix("cluster-switch")
    send(f"{prefix}/front/detect/state", "OFF", retain=True)  # node a runs front; its user switched detect off
    client = MqttClient(_config(prefix), node_id="b", others_alive=lambda: True)
    switches = Switches(client, cluster=True)
    client.subscribe(switches.handle)
    yard_detect = SimpleNamespace(value=True)
    switches.add_camera(_camera("yard"), yard_detect)
    try:
        with Subscriber(prefix) as sub:
            client.start()
            assert client.wait_settled(10)
            seen = len(sub.snapshot())
            send(f"{prefix}/front/detect/set", "ON")  # for node a: b neither applies nor answers it
            send(f"{prefix}/front/detect/state", "ON", retain=True)  # what a answers
            _wait(lambda: switches._elsewhere.get(("front", "detect")) is True, 10, "b to learn front's state")
            send(f"{prefix}/yard/detect/set", "OFF")  # b's own camera
            sub.wait_topic("yard/detect/state", "OFF", after=seen)
            time.sleep(0.5)
            # live messages only: the retained OFF from before may reach this subscriber after ``seen``
            from_b = [m for m in sub.snapshot()[seen:] if m.topic.startswith("front/") and not m.retain]
            assert [(m.topic, m.text) for m in from_b] == [("front/detect/set", "ON"), ("front/detect/state", "ON")]
            assert not [r for r in caplog.records if "unknown camera" in r.getMessage()]
            assert yard_detect.value is False
            # front moves to b: it keeps the state its last node had, not its config's
            front_detect = SimpleNamespace(value=True)
            before_off = len(sub.snapshot())
            send(f"{prefix}/front/detect/state", "OFF", retain=True)
            _wait(lambda: switches._elsewhere.get(("front", "detect")) is False, 10, "the new state")
            # The broker may hand b its copy before ours: our own OFF is no echo of b's, so wait for it.
            sub.wait_topic("front/detect/state", "OFF", after=before_off)
            switches.add_camera(_camera("front"), front_detect)
            assert front_detect.value is False
            echoes = len(sub.snapshot())
            switches.publish_camera_states("front")
            sub.wait_topic("front/snapshots/state", "ON", after=echoes)
            time.sleep(0.5)  # b's own states come back to it: none is sent again
            assert len([m for m in sub.snapshot()[echoes:] if m.topic == "front/detect/state"]) == 1
    finally:
        client.stop(timeout=1)


def test_a_camera_moved_away_is_not_sent_again_after_a_reconnect(tmp_path: Path) -> None:
    broker = PrivateBroker(tmp_path / "broker")
    broker.start()
    prefix = unique_prefix("cluster-retained")
    client = MqttClient(_config(prefix, broker.port), node_id="b", others_alive=lambda: False, min_delay=1, max_delay=1)
    try:
        client.start()
        assert client.wait_settled(10)
        client.publish("front/detect/state", "ON", retain=True)
        client.publish("yard/detect/state", "ON", retain=True)
        _wait(lambda: retained(prefix, "yard/detect/state", broker.port) == "ON", 10, "yard's state")
        client.forget_retained("front")  # front runs on another node now
        broker.stop()  # no persistence: the broker forgets every retained message
        broker.start()
        _wait(lambda: retained(prefix, "yard/detect/state", broker.port) == "ON", 20, "yard's state sent again")
        assert retained(prefix, "front/detect/state", broker.port) is None
    finally:
        client.stop(timeout=1)
        broker.stop()
