"""Every MQTT topic the daemon uses, built in one place (Frigate 0.8's names, relative to ``topic_prefix``).

Publishers take topics *relative* to the prefix (``front/person``), as the WebSocket
will send them; only the MQTT client adds and strips ``<topic_prefix>/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Switch = Literal["detect", "clips", "snapshots"]
SWITCHES: Final[tuple[Switch, ...]] = ("detect", "clips", "snapshots")

AVAILABLE: Final = "available"
EVENTS: Final = "events"
STATS: Final = "stats"


def node_available(node_id: str) -> str:
    """``node/<node_id>/available``: one node's own ``online``/``offline`` in a cluster (retained, with a will)."""
    return f"node/{node_id}/available"


def count(camera_or_zone: str, label: str) -> str:
    """``<camera>/<label>`` or ``<zone>/<label>``: how many true positives are in view."""
    return f"{camera_or_zone}/{label}"


def snapshot(camera: str, label: str) -> str:
    """``<camera>/<label>/snapshot``: the best jpeg of that label (retained)."""
    return f"{camera}/{label}/snapshot"


def switch_set(camera: str, switch: Switch) -> str:
    """``<camera>/<switch>/set``: where ``ON``/``OFF`` commands arrive."""
    return f"{camera}/{switch}/set"


def switch_state(camera: str, switch: Switch) -> str:
    """``<camera>/<switch>/state``: the switch's current value (retained)."""
    return f"{camera}/{switch}/state"


def command_subscriptions() -> list[str]:
    """The patterns that carry commands: ``+/detect/set``, ``+/clips/set``, ``+/snapshots/set``."""
    return [switch_set("+", switch) for switch in SWITCHES]


def state_subscriptions() -> list[str]:
    """The retained switch states read back once at start (``+/detect/state``, ...)."""
    return [switch_state("+", switch) for switch in SWITCHES]


@dataclass(frozen=True)
class SwitchTopic:
    """A parsed ``<camera>/<switch>/set`` or ``<camera>/<switch>/state`` topic."""

    camera: str
    switch: Switch
    kind: Literal["set", "state"]


def parse_switch_topic(topic: str) -> SwitchTopic | None:
    """``SwitchTopic`` for a relative switch topic, ``None`` for any other topic."""
    parts = topic.split("/")
    if len(parts) != 3 or not parts[0]:
        return None
    camera, switch, kind = parts
    for known in SWITCHES:
        if switch == known and kind in ("set", "state"):
            return SwitchTopic(camera, known, "set" if kind == "set" else "state")
    return None


def full(prefix: str, topic: str) -> str:
    """``<prefix>/<topic>``: the topic on the broker."""
    return f"{prefix}/{topic}"


def relative(prefix: str, topic: str) -> str | None:
    """``topic`` without ``<prefix>/``; ``None`` when it lies outside the prefix."""
    head = prefix + "/"
    return topic[len(head) :] if topic.startswith(head) else None
