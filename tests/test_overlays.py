"""Live-view overlays drawn on a real footage frame: each option draws what the API documents, where it should."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from frigate_like.events.overlays import (
    MOTION_COLOUR,
    REGION_COLOUR,
    STALE_COLOUR,
    CameraOverlays,
    ViewOptions,
    zone_colour,
)
from frigate_like.events.snapshot import yuv_to_bgr
from frigate_like.messages import FrameUpdate
from tests.live_support import PERSON_BOX, LiveRig, person

ZONE = [(0, 300), (300, 300), (300, 431), (0, 431)]  # the floor on the left
MASK = [(600, 0), (767, 0), (767, 100), (600, 100)]  # top right corner


@pytest.fixture
def rig(tmp_path: Path, shared_dir: Path, person_video: Path) -> LiveRig:
    camera = {"zones": {"floor": {"coordinates": ZONE}}, "motion": {"mask": [MASK]}}
    return LiveRig(tmp_path, shared_dir, person_video, camera=camera)


def _draw(rig: LiveRig, update: FrameUpdate, **options: bool) -> tuple[np.ndarray, np.ndarray]:
    plain = yuv_to_bgr(rig.frame)
    drawn = plain.copy()
    CameraOverlays(rig.cam).draw(drawn, update, ViewOptions(**options))
    return plain, drawn


def _is(image: np.ndarray, y: int, x: int, colour: tuple[int, int, int]) -> bool:
    return bool(np.array_equal(image[y, x], np.array(colour, dtype=np.uint8)))


def test_no_option_draws_nothing(rig: LiveRig) -> None:
    update = FrameUpdate("cam", 1.0, 0, (person(1.0),), ((10, 10, 50, 50),), ((0, 0, 300, 300),))
    plain, drawn = _draw(rig, update)
    assert np.array_equal(plain, drawn)


def test_motion_boxes_blue_and_regions_green(rig: LiveRig) -> None:
    update = FrameUpdate("cam", 1.0, 0, (), ((100, 120, 200, 220),), ((400, 50, 700, 350),))
    _, motion = _draw(rig, update, motion=True)
    assert _is(motion, 120, 150, MOTION_COLOUR) and _is(motion, 170, 100, MOTION_COLOUR)
    assert not _is(motion, 50, 550, REGION_COLOUR)
    _, regions = _draw(rig, update, regions=True)
    assert _is(regions, 50, 550, REGION_COLOUR) and _is(regions, 200, 700, REGION_COLOUR)
    assert not _is(regions, 120, 150, MOTION_COLOUR)


def test_bbox_green_when_seen_now_red_when_carried_over(rig: LiveRig) -> None:
    x1, y1, x2, y2 = PERSON_BOX
    seen = FrameUpdate("cam", 2.0, 0, (person(2.0),), (), ())
    _, drawn = _draw(rig, seen, bbox=True)
    assert _is(drawn, (y1 + y2) // 2, x1, (0, 255, 0)) and _is(drawn, y2, (x1 + x2) // 2, (0, 255, 0))
    carried = FrameUpdate("cam", 2.0, 0, (person(1.0, detected=False),), (), ())
    _, drawn = _draw(rig, carried, bbox=True)
    assert _is(drawn, (y1 + y2) // 2, x1, STALE_COLOUR)


def test_mask_blacks_out_the_motion_mask(rig: LiveRig) -> None:
    plain, drawn = _draw(rig, FrameUpdate("cam", 1.0, 0, (), (), ()), mask=True)
    assert not drawn[5:95, 605:760].any()  # inside the mask: black
    assert plain[5:95, 605:760].any()
    assert np.array_equal(plain[200:, :600], drawn[200:, :600])  # elsewhere untouched


def test_zones_outlined_thicker_with_an_object_inside(rig: LiveRig) -> None:
    colour = zone_colour("floor")
    _, empty = _draw(rig, FrameUpdate("cam", 1.0, 0, (), (), ()), zones=True)
    assert _is(empty, 300, 150, colour) and not _is(empty, 303, 150, colour)
    feet_in_zone = replace(person(1.0), box=(100, 200, 200, 400))
    _, occupied = _draw(rig, FrameUpdate("cam", 1.0, 0, (feet_in_zone,), (), ()), zones=True)
    assert _is(occupied, 303, 150, colour)  # 8 px wide now


def test_timestamp_printed_top_left(rig: LiveRig) -> None:
    plain, drawn = _draw(rig, FrameUpdate("cam", 1_700_000_000.0, 0, (), (), ()), timestamp=True)
    assert not np.array_equal(plain[:40, :250], drawn[:40, :250])
    assert np.array_equal(plain[100:, :], drawn[100:, :])


def test_render_resizes_to_height_keeping_aspect(rig: LiveRig) -> None:
    jpeg = CameraOverlays(rig.cam).render(rig.frame, FrameUpdate("cam", 1.0, 0, (), (), ()), ViewOptions(height=216))
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (216, 384, 3)
    full = CameraOverlays(rig.cam).render(rig.frame, FrameUpdate("cam", 1.0, 0, (), (), ()), ViewOptions())
    assert cv2.imdecode(np.frombuffer(full, np.uint8), cv2.IMREAD_COLOR).shape == (432, 768, 3)


def test_zone_colours_are_stable_and_differ() -> None:
    assert zone_colour("porch") == zone_colour("porch") != zone_colour("driveway")
