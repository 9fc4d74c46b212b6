"""Topic strings: Frigate 0.8's names, relative to the prefix, and parsing of the switch topics."""

from __future__ import annotations

import pytest

from frigate_like.comms import topics
from frigate_like.comms.topics import SwitchTopic


def test_topic_names() -> None:
    assert topics.count("front", "person") == "front/person"
    assert topics.snapshot("front", "car") == "front/car/snapshot"
    assert topics.switch_set("front", "detect") == "front/detect/set"
    assert topics.switch_state("front", "snapshots") == "front/snapshots/state"
    assert (topics.AVAILABLE, topics.EVENTS, topics.STATS) == ("available", "events", "stats")
    assert topics.command_subscriptions() == ["+/detect/set", "+/clips/set", "+/snapshots/set"]
    assert topics.state_subscriptions() == ["+/detect/state", "+/clips/state", "+/snapshots/state"]


def test_prefix_is_added_and_stripped() -> None:
    assert topics.full("frigate", "events") == "frigate/events"
    assert topics.full("home/nvr", "front/person") == "home/nvr/front/person"
    assert topics.relative("home/nvr", "home/nvr/front/detect/set") == "front/detect/set"
    assert topics.relative("frigate", "frigate2/events") is None
    assert topics.relative("frigate", "frigate") is None


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("front/detect/set", SwitchTopic("front", "detect", "set")),
        ("front/clips/state", SwitchTopic("front", "clips", "state")),
        ("back_yard/snapshots/set", SwitchTopic("back_yard", "snapshots", "set")),
        ("front/record/set", None),
        ("front/detect/get", None),
        ("front/person", None),
        ("front/person/snapshot", None),
        ("/detect/set", None),
        ("a/front/detect/set", None),
    ],
)
def test_switch_topics_parse(topic: str, expected: SwitchTopic | None) -> None:
    assert topics.parse_switch_topic(topic) == expected
