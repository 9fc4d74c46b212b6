"""The seam every outward channel implements (MQTT now, the WebSocket later) and the fan-out over them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Protocol

logger = logging.getLogger(__name__)

Payload = str | bytes
# Called with a relative topic (``front/detect/set``) and the raw payload of a message that came in.
Receiver = Callable[[str, bytes], None]


class Publisher(Protocol):
    """One channel to the outside. Topics are relative to ``topic_prefix`` (see ``topics.py``).

    ``retain``: the broker keeps the latest value for late subscribers, and the channel
    sends it again after a reconnect. ``backlog``: a message produced while the channel
    is down waits (bounded) to be delivered in order; ``False`` drops it instead (stats
    that would be stale by then).
    """

    def publish(self, topic: str, payload: Payload, *, retain: bool = False, backlog: bool = True) -> None: ...

    def subscribe(self, receiver: Receiver) -> None: ...

    def forget_retained(self, camera: str) -> None:
        """Stops re-sending ``camera``'s retained topics (it runs elsewhere now: another node owns them)."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class FanOut:
    """Publishes each message on every channel; routes what any channel receives to every receiver.

    Itself a ``Publisher``, so the producers (events, switches, stats) never know how
    many channels there are. A failing channel is logged and never stops the others.
    """

    def __init__(self, channels: Iterable[Publisher] = ()) -> None:
        self._channels: list[Publisher] = []
        self._receivers: list[Receiver] = []
        for channel in channels:
            self.add(channel)

    @property
    def empty(self) -> bool:
        return not self._channels

    def add(self, channel: Publisher) -> None:
        """Adds a channel (before ``start``); it delivers incoming messages to this fan-out's receivers."""
        self._channels.append(channel)
        channel.subscribe(self._receive)

    def subscribe(self, receiver: Receiver) -> None:
        self._receivers.append(receiver)

    def publish(self, topic: str, payload: Payload, *, retain: bool = False, backlog: bool = True) -> None:
        for channel in self._channels:
            try:
                channel.publish(topic, payload, retain=retain, backlog=backlog)
            except Exception:
                logger.exception("publishing %s on %s failed", topic, type(channel).__name__)

    def forget_retained(self, camera: str) -> None:
        for channel in self._channels:
            channel.forget_retained(camera)

    def start(self) -> None:
        for channel in self._channels:
            channel.start()

    def stop(self) -> None:
        for channel in reversed(self._channels):
            try:
                channel.stop()
            except Exception:
                logger.exception("stopping %s failed", type(channel).__name__)

    def _receive(self, topic: str, payload: bytes) -> None:
        for receiver in self._receivers:
            try:
                receiver(topic, payload)
            except Exception:
                logger.exception("handling an incoming %s failed", topic)
