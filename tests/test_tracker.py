"""Object tracking: stable ids, disappearance, matching gates, filters and duplicate suppression."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest

from frigate_like.messages import Box, Detection
from frigate_like.track.tracker import DetectionFilter, ObjectTracker, suppress_duplicates
from tests.track_support import load_camera

W, H = 768, 432


def person(box: Box, score: float = 0.8, label: str = "person") -> Detection:
    area = (box[2] - box[0]) * (box[3] - box[1])
    return Detection(label, score, box, area, (0, 0, 432, 432))


def shifted(box: Box, dx: int, dy: int = 0) -> Box:
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


BOX = (300, 100, 400, 400)


def make_filter(tmp_path: Path, shared_dir: Path, objects: dict[str, Any]) -> DetectionFilter:
    cam = load_camera(tmp_path, shared_dir, camera={"objects": objects})[1]
    return DetectionFilter(cam.objects, W, H)


def test_ids_are_frame_time_and_six_random_chars() -> None:
    tracker = ObjectTracker(5, rng=random.Random(1))
    (obj,) = tracker.update([person(BOX)], 1600000000.25)
    assert re.fullmatch(r"1600000000\.25-[a-z0-9]{6}", obj.id)
    assert obj.detected and obj.label == "person" and obj.centroid == (350, 250)


def test_a_walking_person_keeps_one_id() -> None:
    tracker = ObjectTracker(5)
    ids = set()
    for i in range(30):
        (obj,) = tracker.update([person(shifted(BOX, 12 * i))], i / 5)
        ids.add(obj.id)
        assert obj.frame_time == i / 5
    assert len(ids) == 1


def test_two_people_keep_their_own_ids() -> None:
    tracker = ObjectTracker(5)
    left, right = (50, 100, 150, 400), (600, 100, 700, 400)
    first = {o.centroid[0] < 384: o.id for o in tracker.update([person(left), person(right)], 0)}
    for i in range(1, 10):
        objects = tracker.update([person(shifted(right, -5 * i)), person(shifted(left, 5 * i))], i)
        assert {o.centroid[0] < 384: o.id for o in objects} == first


def test_object_disappears_after_max_disappeared_frames_unseen() -> None:
    tracker = ObjectTracker(5)
    tracker.update([person(BOX)], 0)
    for frame in range(1, 6):
        (obj,) = tracker.update([], frame)
        assert not obj.detected
        assert tracker.tracks[obj.id].disappeared == frame
    assert tracker.update([], 6) == ()


def test_seen_again_before_max_disappeared_keeps_the_id() -> None:
    tracker = ObjectTracker(5)
    (obj,) = tracker.update([person(BOX)], 0)
    for frame in range(1, 5):
        tracker.update([], frame)
    (again,) = tracker.update([person(shifted(BOX, 3))], 5)
    assert again.id == obj.id and again.detected
    assert tracker.tracks[obj.id].disappeared == 0


def test_object_not_looked_for_is_carried_over() -> None:
    tracker = ObjectTracker(5)
    (obj,) = tracker.update([person(BOX)], 0)
    elsewhere = [(500, 0, 768, 268)]
    for frame in range(1, 50):
        (carried,) = tracker.update([], frame, looked=elsewhere)
        assert carried.id == obj.id and carried.box == BOX and not carried.detected
    assert tracker.tracks[obj.id].disappeared == 0
    assert carried.motionless_count == 49
    # Looked for and missed once: from then on it counts every frame, looked for or not.
    tracker.update([], 50, looked=[(250, 50, 550, 432)])
    for frame in range(51, 55):
        tracker.update([], frame, looked=elsewhere)
    assert tracker.tracks[obj.id].disappeared == 5
    assert tracker.update([], 55, looked=elsewhere) == ()


def test_far_jump_is_someone_else() -> None:
    tracker = ObjectTracker(25)
    (first,) = tracker.update([person(BOX)], 0)
    objects = tracker.update([person(shifted(BOX, 350))], 1)  # 3.5 box widths, ~1.2 box sizes away
    assert len(objects) == 2
    assert {o.id for o in objects if o.detected} != {first.id}


def test_after_a_long_absence_only_the_same_place_continues_a_track() -> None:
    tracker = ObjectTracker(25, fade_frames=10)
    (gone,) = tracker.update([person((600, 20, 768, 380))], 0)  # leaves on the right
    for frame in range(1, 20):
        tracker.update([], frame)
    # 19 frames later someone walks in 0.8 box sizes away: a new visitor, not the old track.
    objects = tracker.update([person((330, 60, 500, 420))], 20)
    newcomer = next(o for o in objects if o.detected)
    assert newcomer.id != gone.id
    # A track lost as long but seen again where it was lost is the same object.
    tracker2 = ObjectTracker(25, fade_frames=10)
    (stays,) = tracker2.update([person(BOX)], 0)
    for frame in range(1, 20):
        tracker2.update([], frame)
    (back,) = tracker2.update([person(shifted(BOX, 10))], 20)
    assert back.id == stays.id


def test_motionless_count_grows_while_still_and_resets_on_a_move() -> None:
    tracker = ObjectTracker(5)
    for frame in range(10):
        (obj,) = tracker.update([person(shifted(BOX, frame % 2))], frame)  # a pixel of jitter
    assert obj.motionless_count == 9
    (obj,) = tracker.update([person(shifted(BOX, 60))], 10)
    assert obj.motionless_count == 0


def test_duplicates_and_parts_are_suppressed() -> None:
    whole = person((300, 100, 400, 400), 0.8)
    same = person((305, 105, 402, 398), 0.7)
    torso = person((310, 120, 360, 300), 0.6)  # inside the whole person
    car = person((300, 100, 400, 400), 0.6, label="car")
    other = person((500, 100, 600, 400), 0.55)
    assert suppress_duplicates([torso, same, whole, car, other]) == [whole, car, other]


def test_filter_min_area_max_area_min_score(tmp_path: Path, shared_dir: Path) -> None:
    objects = {
        "track": ["person"],
        "filters": {"person": {"min_area": 5000, "max_area": 50000, "min_score": 0.6}},
    }
    keep = make_filter(tmp_path, shared_dir, objects).keep
    assert keep(person((0, 0, 100, 100), 0.7))
    assert not keep(person((0, 0, 40, 100), 0.7)), "area 4000 < min_area"
    assert not keep(person((0, 0, 300, 300), 0.7)), "area 90000 > max_area"
    assert not keep(person((0, 0, 100, 100), 0.55)), "below min_score"
    assert not keep(person((0, 0, 100, 100), 0.9, label="car")), "not tracked"


def test_object_mask_is_tested_at_the_bottom_centre(tmp_path: Path, shared_dir: Path) -> None:
    objects = {"track": ["person"], "mask": "0,0,768,0,768,200,0,200"}  # the top 200 rows
    keep = make_filter(tmp_path, shared_dir, objects).keep
    assert keep(person((100, 50, 200, 300))), "head in the mask, feet outside: kept"
    assert not keep(person((100, 20, 200, 190))), "feet in the mask: dropped"


def test_per_label_filter_mask(tmp_path: Path, shared_dir: Path) -> None:
    objects = {
        "track": ["person", "car"],
        "filters": {"person": {"mask": "0,300,384,300,384,432,0,432"}},  # bottom-left quarter
    }
    keep = make_filter(tmp_path, shared_dir, objects).keep
    assert not keep(person((100, 100, 200, 400)))
    assert keep(person((500, 100, 600, 400)))
    assert keep(person((100, 100, 200, 400), label="car")), "the mask is the person filter's only"


def test_tracker_applies_its_filter(tmp_path: Path, shared_dir: Path) -> None:
    detection_filter = make_filter(tmp_path, shared_dir, {"track": ["person"]})
    tracker = ObjectTracker(5, detection_filter)
    objects = tracker.update([person(BOX, 0.45), person((500, 0, 600, 300), label="car")], 0)
    assert objects == (), "min_score 0.5 by default; cars are not tracked"
    assert len(tracker.update([person(BOX, 0.55)], 1)) == 1


@pytest.mark.parametrize("score", [0.5, 0.95])
def test_score_follows_the_latest_detection(score: float) -> None:
    tracker = ObjectTracker(5)
    tracker.update([person(BOX, 0.7)], 0)
    (obj,) = tracker.update([person(BOX, score)], 1)
    assert obj.score == score
