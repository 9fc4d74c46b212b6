"""Motion detection on synthetic frames and on the real footage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.offline_pipeline import decode_frames
from frigate_like.config import CameraConfig
from frigate_like.messages import Box
from frigate_like.motion import MotionDetector
from tests.track_support import load_camera

WIDTH, HEIGHT = 768, 432


@pytest.fixture
def cam(tmp_path: Path, shared_dir: Path) -> CameraConfig:
    return load_camera(tmp_path, shared_dir)[1]


def frame_with_square(x: int, y: int, size: int = 90, background: int = 100, level: int = 230) -> np.ndarray:
    frame = np.full((HEIGHT * 3 // 2, WIDTH), 128, dtype=np.uint8)  # neutral chroma
    frame[:HEIGHT] = background
    if size:
        frame[y : y + size, x : x + size] = level
    return frame


def contains(box: Box, point: tuple[int, int]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def test_resolved_defaults_shrink_to_a_sixth(cam: CameraConfig) -> None:
    detector = MotionDetector(cam.motion, WIDTH, HEIGHT)
    assert detector.size == (128, 72)


def test_static_frames_have_no_motion(cam: CameraConfig) -> None:
    detector = MotionDetector(cam.motion, WIDTH, HEIGHT)
    frame = frame_with_square(300, 200)
    assert all(detector.detect(frame) == [] for _ in range(50))


def test_moving_square_is_found_where_it_is(cam: CameraConfig) -> None:
    detector = MotionDetector(cam.motion, WIDTH, HEIGHT)
    for _ in range(5):
        detector.detect(frame_with_square(0, 0, size=0))
    found: list[list[Box]] = []
    for step in range(10):
        x = 100 + step * 30
        boxes = detector.detect(frame_with_square(x, 200))
        found.append(boxes)
        if boxes:
            assert any(contains(b, (x + 45, 245)) for b in boxes), (x, boxes)
            for x1, y1, x2, y2 in boxes:
                assert 0 <= x1 < x2 <= WIDTH and 0 <= y1 < y2 <= HEIGHT
    assert sum(bool(b) for b in found) >= 8


def test_y_plane_alone_gives_the_same_boxes(cam: CameraConfig) -> None:
    full, luma = MotionDetector(cam.motion, WIDTH, HEIGHT), MotionDetector(cam.motion, WIDTH, HEIGHT)
    for step in range(8):
        frame = frame_with_square(100 + step * 30, 200) if step else frame_with_square(0, 0, size=0)
        assert full.detect(frame) == luma.detect(frame[:HEIGHT])


def test_small_change_stays_below_contour_area(cam: CameraConfig) -> None:
    detector = MotionDetector(cam.motion, WIDTH, HEIGHT)
    detector.detect(frame_with_square(0, 0, size=0))
    # 24×24 px is 4×4 px at 1/6 scale: far below contour_area 100 even after dilation.
    assert all(detector.detect(frame_with_square(300 + i * 6, 200, size=24)) == [] for i in range(10))


def test_mask_hides_motion(tmp_path: Path, shared_dir: Path) -> None:
    mask = "0,100,768,100,768,432,0,432"  # everything below y=100
    cam = load_camera(tmp_path, shared_dir, camera={"motion": {"mask": mask}})[1]
    detector = MotionDetector(cam.motion, WIDTH, HEIGHT)
    detector.detect(frame_with_square(0, 0, size=0))
    assert all(detector.detect(frame_with_square(100 + i * 30, 200)) == [] for i in range(10))
    # The same square above the mask is still seen.
    assert any(detector.detect(frame_with_square(100 + i * 30, 0)) for i in range(10))


def test_lighting_change_resets_the_background(cam: CameraConfig) -> None:
    detector = MotionDetector(cam.motion, WIDTH, HEIGHT)
    detector.detect(frame_with_square(0, 0, size=0, background=60))
    bright = frame_with_square(0, 0, size=0, background=200)  # IR off / lights on
    assert detector.detect(bright) == []
    assert detector.background_resets == 1
    assert all(detector.detect(bright) == [] for _ in range(10))
    # After the reset, a real object is found again.
    assert any(detector.detect(frame_with_square(100 + i * 30, 200, background=200, level=40)) for i in range(5))


def test_moderate_lighting_change_reports_no_motion(cam: CameraConfig) -> None:
    detector = MotionDetector(cam.motion, WIDTH, HEIGHT)
    dim = frame_with_square(300, 200, background=60, level=90)
    for _ in range(5):
        detector.detect(dim)
    brighter = frame_with_square(300, 200, background=110, level=140)  # +50 everywhere
    assert all(detector.detect(brighter) == [] for _ in range(10))
    assert detector.background_resets == 1


def test_real_footage_empty_room_then_a_person(cam: CameraConfig, person_video: Path) -> None:
    detector = MotionDetector(cam.motion, WIDTH, HEIGHT)
    motion_at: list[float] = []
    for i, frame in enumerate(decode_frames(person_video, 5, WIDTH, HEIGHT)):
        t = i / 5
        if detector.detect(frame):
            motion_at.append(t)
        if t >= 8:
            break
    assert motion_at, "the person walking in at ~6 s must move"
    assert min(motion_at) >= 4.0, "the empty room must be still"
    assert min(motion_at) <= 7.0
