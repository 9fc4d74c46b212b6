"""Object lifecycles in the main process: false positives, zones, best frame, end."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from frigate_like.cameras.subscribers import ObjectsSubscriber
from frigate_like.config import CameraConfig, load_config
from frigate_like.events.live import LiveView
from frigate_like.events.tracked import CameraObjects, ObjectState, TrackedObjectProcessor
from frigate_like.messages import Box, FrameUpdate, TrackedObject
from tests.registry_support import PlainRuntimes, registry_with

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def camera(tmp_path: Path) -> CameraConfig:
    cfg = {
        "model": {
            "path": str(SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite"),
            "labelmap_path": str(SHARED / "models" / "coco_labelmap.txt"),
            "width": 300,
            "height": 300,
        },
        "paths": {"media_dir": str(tmp_path / "media"), "cache_dir": str(tmp_path / "cache")},
        "objects": {"track": ["person"], "filters": {"person": {"threshold": 0.7, "min_score": 0.5}}},
        "cameras": {
            "front": {
                "ffmpeg": {"inputs": [{"path": "rtsp://cam/stream", "roles": ["detect"]}]},
                "width": 768,
                "height": 432,
                "fps": 5,
                "best_image_timeout": 60,
                "zones": {"door": {"coordinates": "0,300,300,300,300,432,0,432"}},
            }
        },
    }
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(cfg))
    return load_config(path).cameras["front"]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def object_started(self, obj: ObjectState) -> None:
        self.calls.append(("started", obj.id, obj.computed_score))

    def object_updated(self, obj: ObjectState, reason: str) -> None:
        self.calls.append(("updated", obj.id, reason))

    def object_ended(self, obj: ObjectState) -> None:
        self.calls.append(("ended", obj.id, obj.end_time))

    def kinds(self) -> list[str]:
        return [call[0] for call in self.calls]


def _obj(
    score: float, t: float, box: Box = (400, 100, 500, 300), oid: str = "1-abc", detected: bool = True
) -> TrackedObject:
    area = (box[2] - box[0]) * (box[3] - box[1])
    centroid = ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2)
    return TrackedObject(oid, "person", score, box, area, (300, 0, 600, 300), centroid, t, detected, 0)


def _frames_read() -> tuple[list[tuple[int, float]], Any]:
    reads: list[tuple[int, float]] = []

    def read(slot: int, frame_time: float) -> np.ndarray:
        reads.append((slot, frame_time))
        return np.full((648, 768), slot, dtype=np.uint8)

    return reads, read


def test_event_starts_only_when_median_score_reaches_threshold(camera: CameraConfig) -> None:
    recorder = Recorder()
    _, read = _frames_read()
    objects = CameraObjects(camera, read, [recorder])
    objects.handle(FrameUpdate("front", 1.0, 0, (_obj(0.95, 1.0),), (), ()))
    assert recorder.kinds() == []  # one lucky score: padded to three with zeros, the median is 0
    objects.handle(FrameUpdate("front", 1.2, 1, (_obj(0.6, 1.2),), (), ()))
    assert recorder.kinds() == []  # median of 0, 0.6, 0.95 = 0.6 < 0.7: still a false positive
    objects.handle(FrameUpdate("front", 1.4, 2, (_obj(0.8, 1.4),), (), ()))
    assert recorder.kinds() == ["started"]  # median of 0.6, 0.8, 0.95 = 0.8
    assert objects.objects["1-abc"].top_score == pytest.approx(0.8)
    objects.handle(FrameUpdate("front", 1.6, 3, (_obj(0.9, 1.6),), (), ()))
    assert recorder.kinds()[-1] == "updated"
    assert objects.true_positive_counts() == {"person": 1}
    objects.handle(FrameUpdate("front", 1.8, 4, (), (), ()))
    assert recorder.calls[-1] == ("ended", "1-abc", 1.8)
    assert objects.objects == {}


def test_a_true_positive_stays_one_when_its_scores_drop(camera: CameraConfig) -> None:
    """As Frigate: the median hovering at the threshold must not end the count and start it again."""
    recorder = Recorder()
    _, read = _frames_read()
    objects = CameraObjects(camera, read, [recorder])
    for i, score in enumerate([0.75, 0.72, 0.73, 0.5, 0.5, 0.5, 0.5, 0.5]):
        objects.handle(FrameUpdate("front", 1.0 + 0.2 * i, i, (_obj(score, 1.0 + 0.2 * i),), (), ()))
    state = objects.objects["1-abc"]
    assert state.computed_score == pytest.approx(0.5) and not state.false_positive
    assert state.top_score == pytest.approx(0.73)
    assert objects.true_positive_counts() == {"person": 1}
    assert recorder.kinds() == ["started"] + ["updated"] * 6  # started at the second detection


def test_frames_without_a_detector_answer_keep_objects_so_one_visit_stays_one_event(camera: CameraConfig) -> None:
    recorder = Recorder()
    _, read = _frames_read()
    objects = CameraObjects(camera, read, [recorder])
    objects.handle(FrameUpdate("front", 0.8, 0, (_obj(0.9, 0.8),), (), ()))
    objects.handle(FrameUpdate("front", 1.0, 0, (_obj(0.9, 1.0),), (), ()))
    assert recorder.kinds() == ["started"]
    for i in range(1, 30):  # 6 s of frames while the detector is stopped
        objects.handle(FrameUpdate("front", 1.0 + 0.2 * i, i, (), (), (), detector_answered=False))
    assert recorder.kinds() == ["started"] and list(objects.objects) == ["1-abc"]
    assert objects.true_positive_counts() == {"person": 1}
    objects.handle(FrameUpdate("front", 7.2, 31, (_obj(0.9, 7.2),), (), ()))  # detection resumes: same track
    objects.handle(FrameUpdate("front", 7.4, 32, (), (), ()))  # a real answer with nothing in it
    assert recorder.kinds() == ["started", "updated", "ended"]
    assert recorder.calls[-1] == ("ended", "1-abc", 7.4)


def test_false_positive_never_becomes_an_event(camera: CameraConfig) -> None:
    recorder = Recorder()
    _, read = _frames_read()
    objects = CameraObjects(camera, read, [recorder])
    for i, score in enumerate([0.55, 0.6, 0.65, 0.9, 0.52]):
        objects.handle(FrameUpdate("front", float(i), i, (_obj(score, float(i)),), (), ()))
    objects.handle(FrameUpdate("front", 9.0, 9, (), (), ()))
    assert recorder.kinds() == []


def test_zone_entered_by_bottom_centre(camera: CameraConfig) -> None:
    recorder = Recorder()
    _, read = _frames_read()
    objects = CameraObjects(camera, read, [recorder])
    for t in (0.8, 1.0):  # two detections make a true positive (median of 0, 0.9, 0.9)
        objects.handle(FrameUpdate("front", t, 0, (_obj(0.9, t, box=(400, 50, 500, 250)),), (), ()))
    assert recorder.kinds() == ["started"]
    assert objects.objects["1-abc"].current_zones == []
    # bottom centre (150, 350) lies inside the door zone (x 0..300, y 300..432)
    objects.handle(FrameUpdate("front", 1.2, 1, (_obj(0.9, 1.2, box=(100, 150, 200, 350)),), (), ()))
    state = objects.objects["1-abc"]
    assert state.current_zones == ["door"] and state.entered_zones == ["door"]
    assert ("updated", "1-abc", "zones") in recorder.calls or any(
        c[0] == "updated" and "zones" in c[2] for c in recorder.calls
    )
    objects.handle(FrameUpdate("front", 1.4, 2, (_obj(0.9, 1.4, box=(400, 50, 500, 250)),), (), ()))
    assert state.current_zones == [] and state.entered_zones == ["door"]


def test_best_frame_prefers_higher_score_and_not_on_edge(camera: CameraConfig) -> None:
    reads, read = _frames_read()
    objects = CameraObjects(camera, read, [])
    objects.handle(FrameUpdate("front", 1.0, 0, (_obj(0.8, 1.0),), (), ()))
    state = objects.objects["1-abc"]
    assert state.best is not None and state.best.frame_time == 1.0
    objects.handle(FrameUpdate("front", 1.2, 1, (_obj(0.75, 1.2),), (), ()))
    assert state.best.frame_time == 1.0  # worse score, same size: kept
    objects.handle(FrameUpdate("front", 1.4, 2, (_obj(0.95, 1.4, box=(0, 100, 120, 300)),), (), ()))
    assert state.best.frame_time == 1.0  # better score but touching the frame edge
    objects.handle(FrameUpdate("front", 1.6, 3, (_obj(0.95, 1.6),), (), ()))
    assert state.best.frame_time == 1.6 and int(state.best.frame[0, 0]) == 3
    assert reads == [(0, 1.0), (3, 1.6)]  # frames are copied only when the best changes


def test_best_frame_replaced_after_timeout(camera: CameraConfig) -> None:
    _, read = _frames_read()
    objects = CameraObjects(camera, read, [])
    objects.handle(FrameUpdate("front", 1.0, 0, (_obj(0.95, 1.0),), (), ()))
    objects.handle(FrameUpdate("front", 70.0, 1, (_obj(0.7, 70.0),), (), ()))
    best = objects.objects["1-abc"].best
    assert best is not None and best.frame_time == 70.0


def test_end_all_ends_live_events(camera: CameraConfig) -> None:
    recorder = Recorder()
    _, read = _frames_read()
    objects = CameraObjects(camera, read, [recorder])
    objects.handle(FrameUpdate("front", 0.8, 0, (_obj(0.9, 0.8),), (), ()))
    objects.handle(FrameUpdate("front", 1.0, 0, (_obj(0.9, 1.0),), (), ()))
    objects.end_all()
    assert recorder.calls[-1] == ("ended", "1-abc", 1.0)


def test_frame_listeners_see_every_update_and_a_failing_one_is_contained(camera: CameraConfig) -> None:
    updates: queue.Queue[FrameUpdate] = queue.Queue()
    stop = threading.Event()
    processor = TrackedObjectProcessor(updates, stop)
    registry_with([ObjectsSubscriber(processor, LiveView(), PlainRuntimes(), [])], [camera])
    assert list(processor.cameras) == ["front"]
    seen: list[float] = []

    def broken(update: FrameUpdate) -> None:
        raise RuntimeError("listener bug")

    processor.frame_listeners += [broken, lambda update: seen.append(update.frame_time)]
    for i in range(3):
        updates.put(FrameUpdate("front", 100.0 + i, i, (), (), ()))
    thread = threading.Thread(target=processor.run)
    thread.start()
    deadline = 100
    while len(seen) < 3 and deadline:
        deadline -= 1
        stop.wait(0.05)
    stop.set()
    thread.join(5)
    updates.put(FrameUpdate("front", 104.0, 4, (), (), ()))
    processor.drain()
    assert seen == [100.0, 101.0, 102.0, 104.0]
