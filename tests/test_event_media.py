"""Event pictures and files: live object first, then the DB and disk; no name ever leaves the clips folder."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from frigate_like.cameras.subscribers import ObjectsSubscriber
from frigate_like.db import queries
from frigate_like.db.database import close_database, open_database
from frigate_like.errors import NotFound
from frigate_like.events.live import LiveView
from frigate_like.events.media import EventMedia, SnapshotRequest
from frigate_like.events.tracked import TrackedObjectProcessor
from frigate_like.migrations import MIGRATIONS_DIR
from tests.live_support import LiveRig, person
from tests.registry_support import PlainRuntimes, registry_with


@pytest.fixture
def rig(tmp_path: Path, shared_dir: Path, person_video: Path) -> Iterator[LiveRig]:
    rig = LiveRig(tmp_path, shared_dir, person_video, camera={"snapshots": {"enabled": True, "bounding_box": True}})
    db = open_database(rig.config.database, MIGRATIONS_DIR)
    yield rig
    close_database(db)


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    folder = tmp_path / "media" / "clips"
    folder.mkdir(parents=True)
    return folder


def _media(rig: LiveRig, clips: Path, live: LiveView | None = None) -> EventMedia:
    return EventMedia(live or rig.live, queries, clips, rig.config.cameras)


def _image(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def _rendered(media: EventMedia, event_id: str, request: SnapshotRequest) -> np.ndarray:
    picture = media.snapshot(event_id, request)
    assert isinstance(picture, bytes), picture
    return _image(picture)


def _live_person(rig: LiveRig, t: float = 100.0) -> str:
    rig.feed(t - 0.2, (person(t - 0.2),))  # two detections make a true positive (median of 0, 0.85, 0.85)
    rig.feed(t, (person(t),))
    (obj,) = rig.objects.objects.values()
    assert obj.has_event and obj.best is not None
    return obj.id


# -- files ---------------------------------------------------------------------------------------
def test_media_file_serves_only_plain_files_inside_clips(rig: LiveRig, clips: Path, tmp_path: Path) -> None:
    media = _media(rig, clips)
    (clips / "cam-1.5-abcdef.mp4").write_bytes(b"mp4")
    assert media.media_file("cam-1.5-abcdef.mp4") == (clips / "cam-1.5-abcdef.mp4").resolve()

    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"secret")
    (clips / "link-out.jpg").symlink_to(secret)
    (clips / "loop.jpg").symlink_to(clips / "loop.jpg")
    (clips / "dir.mp4").mkdir()
    (clips / "sub").mkdir()
    (clips / "sub" / "x.jpg").write_bytes(b"x")
    (clips / ".cam-1.mp4.123.partial").write_bytes(b"partial")
    (clips / "frigate.db").write_bytes(b"db")
    names = [
        "../secret.jpg", "..", "/etc/passwd", str(secret), "link-out.jpg", "loop.jpg", "dir.mp4", "sub/x.jpg",
        "sub%2fx.jpg", "..%2fsecret.jpg", "%2e%2e%2fsecret.jpg", ".cam-1.mp4.123.partial", "frigate.db",
        "missing.mp4", "", "x.jpg\x00.mp4", "..\\secret.jpg",
    ]  # fmt: skip
    for name in names:
        with pytest.raises(NotFound):
            media.media_file(name)


def test_a_symlink_to_a_file_inside_clips_is_fine(rig: LiveRig, clips: Path) -> None:
    (clips / "real.jpg").write_bytes(b"jpg")
    (clips / "alias.jpg").symlink_to(clips / "real.jpg")
    assert _media(rig, clips).media_file("alias.jpg") == (clips / "real.jpg").resolve()


# -- thumbnails ----------------------------------------------------------------------------------
def test_thumbnail_while_in_progress_and_android_is_two_to_one(rig: LiveRig, clips: Path) -> None:
    media = _media(rig, clips)
    event_id = _live_person(rig)
    square = _image(media.thumbnail_jpeg(event_id))
    assert square.shape[0] == square.shape[1] == 175
    wide = _image(media.thumbnail_jpeg(event_id, android=True))
    assert wide.shape[1] == 2 * wide.shape[0] == 350


def test_thumbnail_after_the_event_comes_from_the_db(rig: LiveRig, clips: Path) -> None:
    media = _media(rig, clips)
    event_id = _live_person(rig)
    jpeg = media.thumbnail_jpeg(event_id)
    rig.feed(101.0)  # the person is gone: the object ends
    queries.create_event("cam", "person", 100.0, id=event_id, end_time=101.0, thumbnail=base64.b64encode(b"x").decode())
    assert media.thumbnail_jpeg(event_id) == b"x"  # the DB's final thumbnail wins once there is one
    queries.update_event(event_id, thumbnail="")
    assert media.thumbnail_jpeg(event_id) == jpeg  # none in the DB: the recent object's
    with pytest.raises(NotFound):
        media.thumbnail_jpeg("1.0-nosuch")


# -- snapshots -----------------------------------------------------------------------------------
def test_live_snapshot_follows_h_and_crop(rig: LiveRig, clips: Path) -> None:
    media = _media(rig, clips)
    event_id = _live_person(rig)
    for height in (120, 240):
        assert _rendered(media, event_id, SnapshotRequest(height=height)).shape[0] == height
    assert _rendered(media, event_id, SnapshotRequest()).shape[:2] == (432, 768)
    cropped = _rendered(media, event_id, SnapshotRequest(crop=True))
    assert cropped.shape[0] == cropped.shape[1] < 432
    with_box = _rendered(media, event_id, SnapshotRequest(bbox=True))
    assert not np.array_equal(with_box, _rendered(media, event_id, SnapshotRequest(bbox=False)))
    # without parameters the camera's snapshots settings apply (bounding_box: true here)
    assert np.array_equal(_rendered(media, event_id, SnapshotRequest()), with_box)


def test_snapshot_after_the_event_is_the_saved_file(rig: LiveRig, clips: Path) -> None:
    media = _media(rig, clips)
    event_id = _live_person(rig)
    rendered = media.snapshot(event_id, SnapshotRequest(height=100))
    rig.feed(101.0)
    queries.create_event("cam", "person", 100.0, id=event_id, end_time=101.0, has_snapshot=True)
    # ended, but the processor has not written the file yet: still drawn from the recent object
    assert media.snapshot(event_id, SnapshotRequest(height=100)) == rendered
    (clips / f"cam-{event_id}.jpg").write_bytes(b"saved")
    assert media.snapshot(event_id, SnapshotRequest(height=100)) == (clips / f"cam-{event_id}.jpg").resolve()


def test_snapshot_not_available(rig: LiveRig, clips: Path) -> None:
    media = _media(rig, clips)
    no_snapshot = queries.create_event("cam", "person", 50.0, end_time=60.0, has_snapshot=False)
    with pytest.raises(NotFound, match="no snapshot"):
        media.snapshot(no_snapshot, SnapshotRequest())
    with pytest.raises(NotFound, match="not found"):
        media.snapshot("1.0-nosuch", SnapshotRequest())


# -- best.jpg ------------------------------------------------------------------------------------
def test_best_of_a_live_then_of_the_last_ended_object(rig: LiveRig, clips: Path) -> None:
    media = _media(rig, clips)
    with pytest.raises(NotFound, match="no 'person' seen"):
        media.best_jpeg("cam", "person", None, False)
    _live_person(rig)
    assert _image(media.best_jpeg("cam", "person", 200, False)).shape[:2] == (200, 356)
    cropped = _image(media.best_jpeg("cam", "person", None, True))
    assert cropped.shape[0] == cropped.shape[1]
    rig.feed(101.0)
    assert not rig.objects.objects
    assert _image(media.best_jpeg("cam", "person", 100, False)).shape[0] == 100  # the last ended one


def test_best_after_a_restart_is_the_last_saved_snapshot_resized(rig: LiveRig, clips: Path) -> None:
    fresh = LiveView()  # a restarted daemon's: no object seen yet
    subscriber = ObjectsSubscriber(TrackedObjectProcessor(None, None), fresh, PlainRuntimes(rig.read), [])
    registry_with([subscriber], [rig.cam])
    media = _media(rig, clips, fresh)
    old = queries.create_event("cam", "person", 10.0, end_time=20.0, has_snapshot=True)
    new = queries.create_event("cam", "person", 30.0, end_time=40.0, has_snapshot=True)
    queries.create_event("cam", "person", 50.0, has_snapshot=True)  # in progress: not a candidate
    ok, jpg = cv2.imencode(".jpg", np.full((432, 768, 3), 90, np.uint8))
    (clips / f"cam-{old}.jpg").write_bytes(b"old")
    (clips / f"cam-{new}.jpg").write_bytes(jpg.tobytes())
    assert media.best_jpeg("cam", "person", None, False) == jpg.tobytes()
    assert _image(media.best_jpeg("cam", "person", 216, False)).shape == (216, 384, 3)
    os.remove(clips / f"cam-{new}.jpg")
    assert media.best_jpeg("cam", "person", None, False) == b"old"


def test_best_unknown_camera_or_label(rig: LiveRig, clips: Path) -> None:
    media = _media(rig, clips)
    with pytest.raises(NotFound, match="camera 'nope'"):
        media.best_jpeg("nope", "person", None, False)
    with pytest.raises(NotFound, match="does not track 'car'"):
        media.best_jpeg("cam", "car", None, False)


def test_best_of_a_live_event_whose_median_score_dipped_for_a_while(rig: LiveRig, clips: Path) -> None:
    media = _media(rig, clips)
    _live_person(rig)
    for t in (100.2, 100.4, 100.6):  # weak detections: the median falls below 0.7, the event goes on
        rig.feed(t, (person(t, score=0.3),))
    (obj,) = rig.objects.objects.values()
    assert obj.computed_score < 0.7 and obj.has_event and not obj.false_positive
    assert _image(media.best_jpeg("cam", "person", 100, False)).shape[0] == 100
