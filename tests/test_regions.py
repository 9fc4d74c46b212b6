"""Square regions: placement, merging, YUV→RGB of one region, and mapping detections back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from frigate_like.messages import Box
from frigate_like.track.regions import (
    box_area,
    iou,
    map_detections,
    merge_boxes,
    merge_regions,
    region_around,
    yuv_region_to_rgb,
)
from tests.track_support import rgb_to_i420

W, H = 768, 432
LABELS = {0: "person", 2: "car"}


def inside(inner: Box, outer: Box) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def side(region: Box) -> int:
    assert region[2] - region[0] == region[3] - region[1], f"{region} is not square"
    return region[2] - region[0]


@pytest.mark.parametrize(
    "box",
    [(380, 200, 420, 260), (0, 0, 30, 30), (740, 400, 768, 432), (10, 300, 60, 430), (700, 0, 767, 100)],
)
def test_small_box_gets_a_model_sized_square_inside_the_frame(box: Box) -> None:
    region = region_around(box, 300, W, H)
    assert side(region) == 300
    assert inside(box, region)
    assert inside(region, (0, 0, W, H)), "shifted to fit, not shrunk"
    assert region[0] % 2 == 0 and region[1] % 2 == 0, "even corners keep the chroma planes aligned"


def test_region_is_centred_when_it_fits() -> None:
    region = region_around((300, 150, 340, 190), 300, W, H)
    assert region == (170, 20, 470, 320)


def test_big_box_grows_by_the_multiplier() -> None:
    box = (300, 50, 420, 400)  # 350 high
    region = region_around(box, 300, W, H, multiplier=1.2)
    assert side(region) == 420  # 350 × 1.2, a multiple of 4
    assert inside(box, region) and inside(region, (0, 0, W, H))
    assert side(region_around(box, 300, W, H, multiplier=1.0)) == 352


def test_square_larger_than_the_frame_starts_at_zero() -> None:
    region = region_around((100, 0, 600, 432), 300, W, H)  # 500 wide × 1.2 = 600 > 432
    assert side(region) == 600
    assert region[1] == 0
    assert inside((100, 0, 600, 432), region)


def test_merge_boxes_joins_overlapping_groups_only() -> None:
    merged = merge_boxes([(0, 0, 10, 10), (5, 5, 20, 20), (18, 18, 30, 30), (100, 100, 110, 110)])
    assert sorted(merged) == [(0, 0, 30, 30), (100, 100, 110, 110)]


def test_nearby_boxes_share_one_region() -> None:
    regions = merge_regions([(300, 100, 340, 200), (400, 150, 450, 260)], 300, W, H)
    assert len(regions) == 1
    assert inside((300, 100, 450, 260), regions[0])


def test_far_apart_boxes_keep_their_own_regions() -> None:
    boxes = [(10, 300, 60, 420), (700, 20, 760, 120)]
    regions = merge_regions(boxes, 300, W, H)
    assert len(regions) == 2
    assert all(any(inside(b, r) for r in regions) for b in boxes)
    assert all(side(r) == 300 for r in regions)


def test_heavily_overlapping_regions_are_merged() -> None:
    # Two 300² regions 120 px apart overlap by 60 %: one 420² region instead.
    boxes = [(130, 100, 170, 140), (250, 100, 290, 140)]
    regions = merge_regions(boxes, 300, W, H)
    assert len(regions) == 1
    assert all(inside(b, regions[0]) for b in boxes)


def test_no_boxes_no_regions() -> None:
    assert merge_regions([], 300, W, H) == []


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box_area((5, 5, 2, 2)) == 0


@pytest.fixture
def picture() -> np.ndarray:
    """A smooth, colourful 768×432 RGB picture (smooth so that resampling differences stay small)."""
    ys, xs = np.mgrid[0:H, 0:W]
    rgb = np.stack(
        [(xs * 255 // W), (ys * 255 // H), ((xs + ys) * 255 // (W + H))],
        axis=-1,
    ).astype(np.uint8)
    return rgb


def test_region_to_rgb_matches_cropping_the_rgb_picture(picture: np.ndarray) -> None:
    frame = rgb_to_i420(picture)
    region = (168, 0, 600, 432)
    out = np.zeros((300, 300, 3), dtype=np.uint8)
    address = out.__array_interface__["data"][0]
    result = yuv_region_to_rgb(frame, region, out)
    assert result is out and out.__array_interface__["data"][0] == address, "written in place"
    expected = cv2.resize(picture[0:432, 168:600], (300, 300))
    assert np.abs(out.astype(int) - expected.astype(int)).mean() < 4


def test_region_past_the_frame_is_padded_black(picture: np.ndarray) -> None:
    frame = rgb_to_i420(picture)
    out = np.full((300, 300, 3), 77, dtype=np.uint8)
    yuv_region_to_rgb(frame, (168, 0, 768, 600), out)  # 600² region: the bottom 168 rows are outside
    inside_rows = round(432 * 300 / 600)
    expected = cv2.resize(picture[0:432, 168:768], (300, inside_rows))
    assert np.abs(out[: inside_rows - 2].astype(int) - expected[: inside_rows - 2].astype(int)).mean() < 4
    assert out[inside_rows + 2 :].max() <= 5


def test_odd_sized_model_input_still_works(picture: np.ndarray) -> None:
    frame = rgb_to_i420(picture)
    out = np.zeros((301, 301, 3), dtype=np.uint8)
    yuv_region_to_rgb(frame, (100, 50, 400, 350), out)
    expected = cv2.resize(picture[50:350, 100:400], (301, 301))
    assert np.abs(out.astype(int) - expected.astype(int)).mean() < 4


def test_map_detections_to_frame_coordinates() -> None:
    rows = np.array(
        [
            [0, 0.9, 0.1, 0.2, 0.5, 0.6],  # person
            [2, 0.8, 0.0, 0.0, 1.0, 1.0],  # car, the whole region
            [0, 0.3, 0.1, 0.1, 0.2, 0.2],  # too weak
            [37, 0.9, 0.1, 0.1, 0.2, 0.2],  # a label the map does not know
        ],
        dtype=np.float32,
    )
    region = (100, 50, 400, 350)
    found = map_detections(rows, region, LABELS, W, H, min_score=0.5)
    assert [(d.label, d.box) for d in found] == [
        ("person", (160, 80, 280, 200)),
        ("car", (100, 50, 400, 350)),
        ("37", (130, 80, 160, 110)),
    ]
    assert found[0].area == 120 * 120 and found[0].region == region
    assert found[0].score == pytest.approx(0.9)
    only_people = map_detections(rows, region, LABELS, W, H, min_score=0.5, labels={"person"})
    assert [d.label for d in only_people] == ["person"]


def test_map_detections_clamps_padded_regions_to_the_frame() -> None:
    rows = np.array([[0, 0.9, 0.5, 0.5, 1.0, 1.0]], dtype=np.float32)
    (det,) = map_detections(rows, (168, 0, 768, 600), LABELS, W, H)
    assert det.box == (468, 300, 768, 432)
    assert map_detections(np.zeros((0, 6), np.float32), (0, 0, 300, 300), LABELS, W, H) == []
