"""What MQTT hears of object lifecycles: events new/update/end, counts, snapshots (real CameraObjects)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from frigate_like.comms.events import UPDATE_INTERVAL, EventPublisher
from frigate_like.config import CameraConfig
from frigate_like.events.tracked import CameraObjects
from frigate_like.messages import Box, FrameUpdate, TrackedObject
from tests.event_schema import EVENT_SCHEMA, schema_errors
from tests.test_switches import Recorder
from tests.track_support import load_camera

OUTSIDE: Box = (400, 100, 500, 300)  # bottom centre (450, 300): not in the door zone
IN_DOOR: Box = (100, 200, 200, 350)  # bottom centre (150, 350): in it


class Switches:
    def __init__(self) -> None:
        self.clips = True
        self.snapshots = True

    def clips_enabled(self, camera: str) -> bool:
        return self.clips

    def snapshots_enabled(self, camera: str) -> bool:
        return self.snapshots


def _camera(tmp_path: Path, shared_dir: Path, **mqtt: Any) -> CameraConfig:
    _, cam = load_camera(
        tmp_path,
        shared_dir,
        camera={
            "zones": {"door": {"coordinates": "0,300,300,300,300,432,0,432"}},
            "clips": {"enabled": False},
            "snapshots": {"enabled": True},
            "mqtt": {"height": 120, **mqtt},
        },
        objects={"track": ["person"], "filters": {"person": {"threshold": 0.7, "min_score": 0.5}}},
    )
    return cam


class Scene:
    """Feeds CameraObjects frame by frame; an EventPublisher listens and a Recorder keeps what it publishes."""

    def __init__(self, cam: CameraConfig, switches: Switches | None = None) -> None:
        self.recorder = Recorder()
        # the publisher reads the camera's objects where they live, as the daemon's tracking thread has them
        self.publisher = EventPublisher(
            self.recorder, switches or Switches(), lambda camera: self.objects.objects.values()
        )
        self.publisher.add_camera(cam)
        self.zero_counts = list(self.recorder.published)  # what adding the camera published
        self.recorder.published.clear()
        frame = np.full((cam.height * 3 // 2, cam.width), 128, dtype=np.uint8)
        self.objects = CameraObjects(cam, lambda slot, t: frame.copy(), [self.publisher])
        self.cam = cam
        self.t = 1000.0

    def frame(self, *objects: tuple[str, float, Box], detected: bool = True, dt: float = 0.2) -> None:
        self.t += dt
        tracked = tuple(
            TrackedObject(oid, "person", score, box, _area(box), (0, 0, 300, 300), (0, 0), self.t, detected, 0)
            for oid, score, box in objects
        )
        self.objects.handle(FrameUpdate(self.cam.name, self.t, 0, tracked, (), ()))

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(p) for topic, p, _ in self.recorder.published if topic == "events"]

    def on(self, topic: str) -> list[Any]:
        return [p for t, p, _ in self.recorder.published if t == topic]


def _area(box: Box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def test_lifecycle_new_updates_end(tmp_path: Path, shared_dir: Path) -> None:
    scene = Scene(_camera(tmp_path, shared_dir))
    assert scene.zero_counts == [("cam/person", "0", False), ("door/person", "0", False)]
    for _ in range(3):
        scene.frame(("a", 0.55, OUTSIDE))  # a false positive so far: nothing said
    assert scene.events() == []
    for _ in range(8):
        scene.frame(("a", 0.9, OUTSIDE))
    new = scene.events()[0]
    assert new["type"] == "new" and new["before"] == new["after"]
    assert new["after"]["false_positive"] is False and new["after"]["has_snapshot"] is True
    assert new["after"]["has_clip"] is True  # the switches' say, not the config's
    assert scene.on("cam/person") == ["1"]
    jpg = scene.on("cam/person/snapshot")[0]
    image = cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[0] == 120  # the camera's mqtt height

    # same box, same score: at most one routine update per UPDATE_INTERVAL
    before = len(scene.events())
    for _ in range(int(3 * UPDATE_INTERVAL / 0.2)):
        scene.frame(("a", 0.9, OUTSIDE))
    assert len(scene.events()) - before <= 3

    scene.frame(("a", 0.9, IN_DOOR))  # a zone change is said at once
    update = scene.events()[-1]
    assert update["type"] == "update" and update["after"]["current_zones"] == ["door"]
    assert update["before"]["current_zones"] == []
    assert scene.on("door/person") == ["1"]

    scene.frame()  # gone
    end = scene.events()[-1]
    assert end["type"] == "end" and end["after"]["end_time"] == pytest.approx(scene.t)
    assert end["before"] == update["after"]
    assert scene.on("cam/person") == ["1", "0"] and scene.on("door/person") == ["1", "0"]
    for message in scene.events():
        assert schema_errors(message, EVENT_SCHEMA) == []
    assert [m["type"] for m in scene.events()][0] == "new"
    assert all(m["type"] == "update" for m in scene.events()[1:-1])


def test_a_visit_is_counted_once_while_its_scores_dip(tmp_path: Path, shared_dir: Path) -> None:
    scene = Scene(_camera(tmp_path, shared_dir))
    for _ in range(10):
        scene.frame(("a", 0.9, OUTSIDE))
    for _ in range(10):
        scene.frame(("a", 0.55, OUTSIDE))  # the median falls below the threshold: still the same person
    scene.frame(("a", 0.9, OUTSIDE))
    assert scene.on("cam/person") == ["1"]
    assert not any(e["after"]["false_positive"] for e in scene.events())
    scene.frame()
    assert scene.on("cam/person") == ["1", "0"]


def test_snapshot_waits_for_required_zones_and_the_better_object(tmp_path: Path, shared_dir: Path) -> None:
    scene = Scene(_camera(tmp_path, shared_dir, required_zones=["door"]))
    for _ in range(10):
        scene.frame(("a", 0.9, OUTSIDE))
    assert scene.on("cam/person/snapshot") == []
    scene.frame(("a", 0.9, IN_DOOR))
    assert len(scene.on("cam/person/snapshot")) == 1
    # a second person in the door, less sure than the first: the first one's snapshot stays
    for _ in range(10):
        scene.frame(("a", 0.9, IN_DOOR), ("b", 0.8, (150, 200, 250, 360)))
    assert len(scene.on("cam/person/snapshot")) == 1
    scene.frame(("a", 0.9, IN_DOOR), ("b", 0.95, (150, 200, 250, 360)))
    assert len(scene.on("cam/person/snapshot")) == 2
    assert all(retain for t, _, retain in scene.recorder.published if t.endswith("/snapshot"))


def test_switches_decide_has_clip_and_has_snapshot(tmp_path: Path, shared_dir: Path) -> None:
    switches = Switches()
    switches.snapshots = False
    scene = Scene(_camera(tmp_path, shared_dir), switches)
    for _ in range(10):
        scene.frame(("a", 0.9, OUTSIDE))
    after = scene.events()[0]["after"]
    assert after["has_snapshot"] is False and after["has_clip"] is True


def test_the_schema_check_finds_mistakes() -> None:
    good = {"type": "end", "before": {}, "after": {}}
    assert schema_errors(good, EVENT_SCHEMA)  # the sides lack every field
    assert schema_errors({"type": "begin", "before": {}, "after": {}}, EVENT_SCHEMA)[0].startswith("$.type")
    assert schema_errors(True, {"type": "number"}) and not schema_errors(None, {"type": ["number", "null"]})


def test_an_event_closed_after_a_crash_ends_on_mqtt_like_any_other(tmp_path: Path, shared_dir: Path) -> None:
    scene = Scene(_camera(tmp_path, shared_dir))
    for _ in range(8):
        scene.frame(("a", 0.9, OUTSIDE))
    scene.frame()
    normal_end = scene.events()[-1]
    row = {  # as recovery stored it (db/queries.py row)
        "id": "1000.5-crashd", "camera": "cam", "label": "person", "start_time": 1000.5, "end_time": 1009.0,
        "top_score": 0.91, "false_positive": False, "zones": ["door"], "thumbnail": "abc", "has_clip": True,
        "has_snapshot": False, "clip_gaps": [],
    }  # fmt: skip
    scene.publisher.event_recovered(row)
    end = scene.events()[-1]
    assert schema_errors(end, EVENT_SCHEMA) == []
    assert end["type"] == "end" and set(end["after"]) == set(normal_end["after"])
    assert set(end["before"]) == set(normal_end["before"]) and end["before"]["end_time"] is None
    after = end["after"]
    assert (after["id"], after["end_time"], after["start_time"]) == ("1000.5-crashd", 1009.0, 1000.5)
    assert (after["has_clip"], after["has_snapshot"], after["false_positive"]) == (True, False, False)
    assert after["entered_zones"] == ["door"] and after["top_score"] == 0.91
