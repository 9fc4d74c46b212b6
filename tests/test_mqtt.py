"""The MQTT channel against real Mosquitto: availability, commands, states read back, outages, the outbox."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from frigate_like.comms.mqtt import Message, MqttClient, Outbox
from frigate_like.config.sections import MqttConfig
from frigate_like.supervise import Health
from tests.broker import PrivateBroker, Subscriber, make_tls_files, retained, send, unique_prefix

MQTT_LOGGER = "frigate_like.comms.mqtt"


def _config(prefix: str, port: int = 1883) -> MqttConfig:
    return MqttConfig(host="127.0.0.1", port=port, topic_prefix=prefix, client_id=prefix)


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _records(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == MQTT_LOGGER and text in r.getMessage()]


@pytest.fixture
def client_factory() -> Iterator[list[MqttClient]]:
    """Clients a test made; all stopped at the end even when the test fails."""
    made: list[MqttClient] = []
    yield made
    for client in made:
        client.stop(timeout=1)


@pytest.fixture
def brokers(tmp_path: Path) -> Iterator[Callable[..., PrivateBroker]]:
    """Makes private brokers (``PrivateBroker`` options), started; all stopped at the end."""
    made: list[PrivateBroker] = []

    def make(**options: Any) -> PrivateBroker:
        broker = PrivateBroker(tmp_path / f"broker{len(made)}", **options)
        made.append(broker)
        broker.start()
        return broker

    yield make
    for broker in made:
        broker.stop()


def _client(made: list[MqttClient], cfg: MqttConfig, **kwargs: Any) -> MqttClient:
    client = MqttClient(cfg, **kwargs)
    made.append(client)
    return client


# -- the outbox ---------------------------------------------------------------------------------
def test_outbox_keeps_the_newest_up_to_its_bound() -> None:
    outbox = Outbox(limit=3)
    dropped = [outbox.put(Message("events", str(i).encode(), False)) for i in range(5)]
    assert dropped == [False, False, False, True, True]
    assert len(outbox) == 3 and outbox.take_dropped() == 2 and outbox.take_dropped() == 0
    assert [m.payload for m in iter(outbox.pop, None)] == [b"2", b"3", b"4"]


def test_outbox_needs_room() -> None:
    with pytest.raises(ValueError):
        Outbox(limit=0)


# -- the shared broker ----------------------------------------------------------------------------
def test_online_commands_and_offline_on_stop(client_factory: list[MqttClient]) -> None:
    prefix = unique_prefix("mqtt")
    received: list[tuple[str, bytes]] = []
    client = _client(client_factory, _config(prefix))
    client.subscribe(lambda topic, payload: received.append((topic, payload)))
    with Subscriber(prefix) as sub:
        client.start()
        assert client.wait_settled(10)
        sub.wait_topic("available", "online")
        client.publish("events", '{"type": "new"}')
        client.publish("stats", "{}", backlog=False)
        sub.wait_topic("events")
        sub.wait_topic("stats")
        send(f"{prefix}/front/detect/set", "OFF")
        send(f"{prefix}/front/detect/state", "ON")
        _wait(lambda: received, 10, "the command")
        client.stop()
        sub.wait_topic("available", "offline")
    # states are only read back at start: a live one published by someone else is not a command
    assert received == [("front/detect/set", b"OFF")]
    assert retained(prefix, "available") == "offline"


def test_retained_states_are_read_back_before_ours_go_out(client_factory: list[MqttClient]) -> None:
    prefix = unique_prefix("mqtt")
    send(f"{prefix}/front/detect/state", "OFF", retain=True)
    received: list[tuple[str, bytes]] = []
    client = _client(client_factory, _config(prefix))
    client.subscribe(lambda topic, payload: received.append((topic, payload)))
    client.publish("front/clips/state", "ON", retain=True)  # published before the connection: held back
    client.start()
    assert client.wait_settled(10)
    assert received == [("front/detect/state", b"OFF")]
    client.publish("front/detect/state", "OFF", retain=True)
    _wait(lambda: retained(prefix, "front/clips/state") == "ON", 10, "our retained state")
    assert retained(prefix, "front/detect/state") == "OFF"
    send(f"{prefix}/front/detect/state", "", retain=True)
    send(f"{prefix}/front/clips/state", "", retain=True)


# -- outages on a private broker -------------------------------------------------------------------
def test_no_broker_at_start_then_queued_messages_arrive_in_order(
    brokers: Callable[..., PrivateBroker], client_factory: list[MqttClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=MQTT_LOGGER)
    prefix = unique_prefix("mqtt")
    broker = brokers(persistence=True)
    # a persistent subscriber session, saved by the broker: it gets what arrives before it is back
    sub = Subscriber(prefix, broker.port, persistent=True)
    sub.start()
    sub.stop()
    broker.stop()
    health = Health("mqtt")
    client = _client(
        client_factory, _config(prefix, broker.port), outbox_limit=5, min_delay=1, max_delay=1, health=health
    )
    client.start()
    assert not client.wait_settled(10)
    time.sleep(2.5)  # a few more tries, still one log line
    for i in range(8):
        client.publish("events", str(i))
    client.publish("stats", "{}", backlog=False)  # dropped: stale by the time the broker is back
    client.publish("front/person/snapshot", b"jpeg", retain=True)
    [line] = _records(caplog, "unreachable")
    assert f"127.0.0.1:{broker.port} unreachable (ConnectionRefusedError: " in line.getMessage()
    assert len(_records(caplog, "outbox full")) == 1
    down = health.snapshot()
    assert not down["ok"] and down["backlog"] == 5
    assert down["error"].startswith(f"broker at 127.0.0.1:{broker.port} unreachable (ConnectionRefusedError: ")
    broker.start()
    _wait(lambda: client.connected, 20, "the client to connect")
    _wait(lambda: health.is_ok and health.snapshot()["backlog"] == 0, 10, "healthy, the outbox sent")
    assert health.snapshot()["last_error"] == down["error"]
    with sub:
        sub.wait_for(lambda ms: [m for m in ms if m.topic == "events" and m.text == "7"], 10, "the last event")
        assert [m.text for m in sub.on("events")] == ["3", "4", "5", "6", "7"]
        assert not sub.on("stats")
        assert {m.payload for m in sub.on("front/person/snapshot")} == {b"jpeg"}  # queued, then retained
        assert [m.text for m in sub.on("available")][-1] == "online"
    assert len(_records(caplog, "3 message(s) produced while the broker was away were dropped")) == 1
    assert len(_records(caplog, "delivering 5 message(s)")) == 1


def test_reconnects_after_a_broker_restart_and_sends_retained_again(
    brokers: Callable[..., PrivateBroker], client_factory: list[MqttClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=MQTT_LOGGER)
    prefix = unique_prefix("mqtt")
    broker = brokers(persistence=False)  # forgets retained messages
    health = Health("mqtt")
    client = _client(client_factory, _config(prefix, broker.port), min_delay=1, max_delay=2, health=health)
    client.start()
    assert client.wait_settled(10)
    assert health.is_ok
    client.publish("front/detect/state", "OFF", retain=True)
    _wait(lambda: retained(prefix, "front/detect/state", broker.port) == "OFF", 10, "the state")
    broker.stop()
    _wait(lambda: not client.connected, 10, "the client to notice")
    assert not health.is_ok  # lost, then unreachable while the broker is away
    assert f"127.0.0.1:{broker.port}" in health.snapshot()["error"]
    broker.start()
    _wait(lambda: client.connected, 20, "the client to reconnect")
    assert health.is_ok
    assert retained(prefix, "available", broker.port) == "online"
    assert retained(prefix, "front/detect/state", broker.port) == "OFF"
    assert len(_records(caplog, "connection to")) == 1  # "... lost"
    assert len(_records(caplog, "MQTT connected")) == 2


def test_tls_with_a_client_certificate(
    tmp_path: Path,
    brokers: Callable[..., PrivateBroker],
    client_factory: list[MqttClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=MQTT_LOGGER)
    tls = make_tls_files(tmp_path / "certs")
    broker = brokers(tls=tls)
    base = _config(unique_prefix("tls"), broker.port)
    with_cert = base.model_copy(
        update={"tls_ca_certs": tls.ca, "tls_client_cert": tls.client_cert, "tls_client_key": tls.client_key}
    )
    client = _client(client_factory, with_cert)
    client.start()
    assert client.wait_settled(10), caplog.text
    # the broker wants a client certificate: without one the handshake fails, and TLS-less even more so
    for cfg in (base.model_copy(update={"tls_ca_certs": tls.ca}), base):
        other = _client(client_factory, cfg.model_copy(update={"client_id": f"{cfg.client_id}-{len(client_factory)}"}))
        other.start()
        assert not other.wait_settled(10)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings  # one line each, however often they retry


def test_user_and_password(
    brokers: Callable[..., PrivateBroker], client_factory: list[MqttClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=MQTT_LOGGER)
    broker = brokers(users={"nvr": "s3cret"})
    base = _config(unique_prefix("auth"), broker.port).model_copy(update={"user": "nvr"})
    good = _client(client_factory, base.model_copy(update={"password": "s3cret"}))
    good.start()
    assert good.wait_settled(10), caplog.text
    bad = _client(client_factory, base.model_copy(update={"password": "wrong", "client_id": "bad"}), max_delay=1)
    bad.start()
    assert not bad.wait_settled(10)
    time.sleep(2.5)  # it keeps trying; the log says it once
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.ERROR
    assert "Not authorized" in refused[0].getMessage()
