"""Mask polygons → boolean masks at any size."""

from __future__ import annotations

import numpy as np

from frigate_like.track.masks import PolygonMask, polygons_to_mask

# The right half of a 200×100 frame.
RIGHT_HALF = [(100, 0), (200, 0), (200, 100), (100, 100)]


def test_no_polygons_masks_nothing() -> None:
    mask = polygons_to_mask([], 200, 100)
    assert mask.shape == (100, 200)
    assert mask.dtype == np.bool_
    assert not mask.any()


def test_polygon_is_filled_at_frame_size() -> None:
    mask = polygons_to_mask([RIGHT_HALF], 200, 100)
    assert mask[50, 150] and mask[0, 199] and mask[99, 100]
    assert not mask[50, 50] and not mask[0, 98]
    assert abs(int(mask.sum()) - 100 * 100) <= 100  # the right half, give or take the border column


def test_polygon_is_scaled_to_another_size() -> None:
    mask = polygons_to_mask([RIGHT_HALF], 200, 100, 40, 20)
    assert mask.shape == (20, 40)
    assert mask[:, 21:].all()
    assert not mask[:, :19].any()


def test_several_polygons_are_all_masked() -> None:
    top_left = [(0, 0), (20, 0), (20, 20), (0, 20)]
    mask = polygons_to_mask([top_left, RIGHT_HALF], 200, 100)
    assert mask[10, 10] and mask[50, 150]
    assert not mask[50, 50]


def test_polygon_mask_caches_per_size_and_is_read_only() -> None:
    polygons = PolygonMask([RIGHT_HALF], 200, 100)
    small = polygons.at(40, 20)
    assert polygons.at(40, 20) is small
    assert polygons.at(200, 100) is not small
    assert not small.flags.writeable


def test_covers_tests_full_frame_points() -> None:
    polygons = PolygonMask([RIGHT_HALF], 200, 100)
    assert polygons.covers(150, 50)
    assert not polygons.covers(50, 50)
    assert polygons.covers(500, 500)  # clamped to the bottom-right pixel, which is masked
    assert not PolygonMask([], 200, 100).covers(150, 50)
    assert PolygonMask([], 200, 100).empty
