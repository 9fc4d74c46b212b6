"""The fan-out: every channel gets every message, every receiver what any channel hears; failures stay local."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from frigate_like.comms.publisher import FanOut, Payload, Receiver
from frigate_like.comms.stats import StatsPublisher


class Channel:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[tuple[str, Payload, bool, bool]] = []
        self.receivers: list[Receiver] = []
        self.started = self.stopped = False

    def publish(self, topic: str, payload: Payload, *, retain: bool = False, backlog: bool = True) -> None:
        if self.fail:
            raise ConnectionError("down")
        self.sent.append((topic, payload, retain, backlog))

    def subscribe(self, receiver: Receiver) -> None:
        self.receivers.append(receiver)

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        if self.fail:
            raise ConnectionError("down")
        self.stopped = True


def test_every_channel_gets_every_message(caplog: pytest.LogCaptureFixture) -> None:
    broken, good = Channel(fail=True), Channel()
    fan = FanOut([broken, good])
    fan.start()
    fan.publish("front/person", "1")
    fan.publish("front/detect/state", "ON", retain=True)
    fan.stop()
    assert good.sent == [("front/person", "1", False, True), ("front/detect/state", "ON", True, True)]
    assert good.started and good.stopped and broken.started
    assert "publishing front/person on Channel failed" in caplog.text


def test_what_a_channel_hears_reaches_every_receiver() -> None:
    channel = Channel()
    fan = FanOut([channel])
    heard: list[tuple[str, bytes]] = []

    def broken(topic: str, payload: bytes) -> None:
        raise ValueError(topic)

    fan.subscribe(broken)
    fan.subscribe(lambda topic, payload: heard.append((topic, payload)))
    channel.receivers[0]("front/detect/set", b"OFF")
    assert heard == [("front/detect/set", b"OFF")]
    assert FanOut().empty and not fan.empty


def test_stats_are_published_without_backlog() -> None:
    channel = Channel()
    stats: dict[str, Any] = {"front": {"camera_fps": 5.0}}
    StatsPublisher(FanOut([channel]), lambda: stats, 60, threading.Event()).publish_once()
    topic, payload, retain, backlog = channel.sent[0]
    assert (topic, retain, backlog) == ("stats", False, False) and json.loads(payload) == stats
