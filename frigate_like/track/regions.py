"""Square detection regions: where to look, how to feed a region to the model, and how to map results back.

A region is a square ``Box`` at least the model's input size. It stays inside the
frame when it fits (shifted, never shrunk); a square larger than the frame's short
side starts at 0 and the part past the frame is padded black. Region corners are
even so the half-resolution chroma planes line up.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping

import cv2
import numpy as np

from frigate_like.messages import Box, Detection

# Frigate 0.8 grows a motion box / object box by this much so the whole object fits.
REGION_MULTIPLIER = 1.2
# Two regions become one when the square around both is at most this much larger than
# the bigger of the two (one inference instead of two, for little loss of resolution)...
MERGE_GROWTH = 1.3
# ...or when they overlap by this share of the smaller one (Frigate 0.8 merges at 40 %).
MERGE_OVERLAP = 0.4


def box_area(box: Box) -> int:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def intersection(a: Box, b: Box) -> int:
    """Area of the overlap of two boxes."""
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def iou(a: Box, b: Box) -> float:
    """Intersection over union (0 for disjoint or empty boxes)."""
    inter = intersection(a, b)
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0


def union_box(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _place(centre: float, side: int, limit: int) -> int:
    """Start of a ``side`` span centred on ``centre``, shifted to fit in ``0..limit``, even."""
    if side >= limit:
        return 0
    start = min(max(int(round(centre - side / 2)), 0), limit - side)
    return start - start % 2


def region_around(
    box: Box, min_size: int, frame_width: int, frame_height: int, multiplier: float = REGION_MULTIPLIER
) -> Box:
    """The square region centred on ``box``: its longer side × ``multiplier``, at least ``min_size``.

    The side is rounded up to a multiple of 4; the square is shifted (not shrunk) to
    stay inside the frame, and only extends past it when it is larger than the frame.
    """
    x1, y1, x2, y2 = box
    side = max(min_size, math.ceil(max(x2 - x1, y2 - y1) * multiplier))
    side = -(-side // 4) * 4
    left = _place((x1 + x2) / 2, side, frame_width)
    top = _place((y1 + y2) / 2, side, frame_height)
    return (left, top, left + side, top + side)


def merge_boxes(boxes: Iterable[Box]) -> list[Box]:
    """Replace every group of overlapping boxes by its bounding box."""
    merged: list[Box] = []
    for box in boxes:
        current = box
        changed = True
        while changed:
            changed = False
            for i, other in enumerate(merged):
                if intersection(current, other) > 0:
                    current = union_box(current, merged.pop(i))
                    changed = True
                    break
        merged.append(current)
    return merged


def _should_merge(a: Box, b: Box, merged: Box) -> bool:
    side_a, side_b, side_m = a[2] - a[0], b[2] - b[0], merged[2] - merged[0]
    if side_m <= MERGE_GROWTH * max(side_a, side_b):
        return True
    return intersection(a, b) >= MERGE_OVERLAP * min(box_area(a), box_area(b))


def merge_regions(
    boxes: Iterable[Box],
    min_size: int,
    frame_width: int,
    frame_height: int,
    multiplier: float = REGION_MULTIPLIER,
) -> list[Box]:
    """The fewest squares covering ``boxes`` (motion boxes, tracked objects) at a useful resolution.

    Overlapping boxes are joined first; each group gets a region (``region_around`` with
    ``multiplier``); then regions are merged pairwise, greedily, while the square around
    a pair is not much larger than the bigger one or the two overlap heavily.
    """
    regions = [region_around(b, min_size, frame_width, frame_height, multiplier) for b in merge_boxes(boxes)]
    merging = True
    while merging and len(regions) > 1:
        merging = False
        for i in range(len(regions)):
            for j in range(i + 1, len(regions)):
                a, b = regions[i], regions[j]
                merged = region_around(union_box(a, b), min_size, frame_width, frame_height, 1.0)
                if _should_merge(a, b, merged):
                    regions[i] = merged
                    del regions[j]
                    merging = True
                    break
            if merging:
                break
    return regions


def _planes(frame_yuv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Y, U and V planes of a contiguous I420 frame of shape ``(height * 3 // 2, width)``."""
    width = frame_yuv.shape[1]
    height = frame_yuv.shape[0] * 2 // 3
    flat = frame_yuv.reshape(-1)
    chroma = (height // 2) * (width // 2)
    start = height * width
    u = flat[start : start + chroma].reshape(height // 2, width // 2)
    v = flat[start + chroma : start + 2 * chroma].reshape(height // 2, width // 2)
    return frame_yuv[:height], u, v


def yuv_region_to_rgb(frame_yuv: np.ndarray, region: Box, out: np.ndarray) -> np.ndarray:
    """Write ``region`` of an I420 frame, resized to ``out``'s size, into ``out`` as RGB.

    Only the region's pixels are touched: each plane's crop is resized straight into a
    model-sized I420 scratch image, which is then converted into ``out`` in place.
    The part of the region outside the frame is black. Returns ``out``.
    """
    out_h, out_w = out.shape[:2]
    if out_h % 2 or out_w % 2:
        return _odd_sized_region_to_rgb(frame_yuv, region, out)
    y_plane, u_plane, v_plane = _planes(frame_yuv)
    frame_h, frame_w = y_plane.shape
    x1, y1, x2, y2 = region
    ix1, iy1, ix2, iy2 = max(x1, 0) & ~1, max(y1, 0) & ~1, min(x2, frame_w), min(y2, frame_h)
    scale_x, scale_y = out_w / (x2 - x1), out_h / (y2 - y1)
    # Destination rectangle of the in-frame part, with even corners for the chroma planes.
    dx1, dy1 = int((ix1 - x1) * scale_x) & ~1, int((iy1 - y1) * scale_y) & ~1
    dx2 = min(out_w, dx1 + max(2, int(round((ix2 - ix1) * scale_x / 2)) * 2))
    dy2 = min(out_h, dy1 + max(2, int(round((iy2 - iy1) * scale_y / 2)) * 2))

    scratch = np.empty((out_h * 3 // 2, out_w), dtype=np.uint8)
    s_y, s_u, s_v = _planes(scratch)
    if (dx1, dy1, dx2, dy2) != (0, 0, out_w, out_h):
        s_y.fill(0)
        s_u.fill(128)
        s_v.fill(128)
    cv2.resize(y_plane[iy1:iy2, ix1:ix2], (dx2 - dx1, dy2 - dy1), dst=s_y[dy1:dy2, dx1:dx2])
    cx1, cy1, cx2, cy2 = ix1 // 2, iy1 // 2, max(ix2 // 2, ix1 // 2 + 1), max(iy2 // 2, iy1 // 2 + 1)
    chroma_size = ((dx2 - dx1) // 2, (dy2 - dy1) // 2)
    chroma_dst = (slice(dy1 // 2, dy2 // 2), slice(dx1 // 2, dx2 // 2))
    cv2.resize(u_plane[cy1:cy2, cx1:cx2], chroma_size, dst=s_u[chroma_dst])
    cv2.resize(v_plane[cy1:cy2, cx1:cx2], chroma_size, dst=s_v[chroma_dst])
    cv2.cvtColor(scratch, cv2.COLOR_YUV2RGB_I420, dst=out)
    return out


def _odd_sized_region_to_rgb(frame_yuv: np.ndarray, region: Box, out: np.ndarray) -> np.ndarray:
    """Fallback for odd model sizes: convert the region's crop, then resize (slower, rare)."""
    y_plane, u_plane, v_plane = _planes(frame_yuv)
    frame_h, frame_w = y_plane.shape
    x1, y1, x2, y2 = region
    side_w, side_h = x2 - x1, y2 - y1
    crop = np.empty((side_h * 3 // 2, side_w), dtype=np.uint8)
    c_y, c_u, c_v = _planes(crop)
    c_y.fill(0)
    c_u.fill(128)
    c_v.fill(128)
    ix1, iy1, ix2, iy2 = max(x1, 0) & ~1, max(y1, 0) & ~1, min(x2, frame_w), min(y2, frame_h)
    c_y[iy1 - y1 : iy2 - y1, ix1 - x1 : ix2 - x1] = y_plane[iy1:iy2, ix1:ix2]
    ch, cw = (iy2 - iy1) // 2, (ix2 - ix1) // 2
    oy, ox = (iy1 - y1) // 2, (ix1 - x1) // 2
    c_u[oy : oy + ch, ox : ox + cw] = u_plane[iy1 // 2 : iy1 // 2 + ch, ix1 // 2 : ix1 // 2 + cw]
    c_v[oy : oy + ch, ox : ox + cw] = v_plane[iy1 // 2 : iy1 // 2 + ch, ix1 // 2 : ix1 // 2 + cw]
    rgb = cv2.cvtColor(crop, cv2.COLOR_YUV2RGB_I420)
    cv2.resize(rgb, (out.shape[1], out.shape[0]), dst=out)
    return out


def map_detections(
    raw_rows: np.ndarray,
    region: Box,
    labelmap: Mapping[int, str],
    frame_width: int,
    frame_height: int,
    *,
    min_score: float = 0.0,
    labels: Collection[str] | None = None,
) -> list[Detection]:
    """Turn detector rows (``label_index, score, ymin, xmin, ymax, xmax``, normalised to
    ``region``) into frame-coordinate ``Detection``s.

    Rows below ``min_score``, with a label not in ``labels`` (when given), or whose box
    is empty once clamped to the frame are dropped.
    """
    x1, y1, x2, y2 = region
    width, height = x2 - x1, y2 - y1
    detections: list[Detection] = []
    for index, score, ymin, xmin, ymax, xmax in np.asarray(raw_rows, dtype=np.float64).reshape(-1, 6):
        if score < min_score:
            continue
        label = labelmap.get(int(index), str(int(index)))
        if labels is not None and label not in labels:
            continue
        box = (
            min(max(int(x1 + xmin * width), 0), frame_width),
            min(max(int(y1 + ymin * height), 0), frame_height),
            min(max(int(x1 + xmax * width), 0), frame_width),
            min(max(int(y1 + ymax * height), 0), frame_height),
        )
        area = box_area(box)
        if area > 0:
            detections.append(Detection(label, float(score), box, area, region))
    return detections
