"""The seed's playback endpoints over real recording folders: listing, load, range requests, timestamps, refusals."""

from __future__ import annotations

import csv
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from frigate_like.api import ApiServices, create_app
from frigate_like.record.playback import PlaybackLibrary
from frigate_like.record.roots import AllowedRoots
from frigate_like.video.binaries import find_ffmpeg
from tests.segment_footage import ffprobe

FRAMES = 20


def make_video(path: Path, frames: int = FRAMES) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [find_ffmpeg(), "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10",
         "-frames:v", str(frames), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
         "-y", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def make_csv(path: Path, frames: int = FRAMES) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["frame_number", "timestamp_from_zero_s", "timestamp_utc_s", "timestamp_utc_iso8601"])
        for i in range(frames):
            writer.writerow([i, f"{0.05 + i * 0.1:.6f}", f"{1e9 + i * 0.1:.6f}", "-"])


@dataclass
class Library:
    client: FlaskClient
    base: Path
    outside: Path


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("playback")
    base = tmp / "home" / "skellycam_data" / "recordings"
    make_video(base / "rec_a" / "rec_a.camera.idfront.idx0.mp4")
    make_csv(base / "rec_a" / "timestamps" / "camera_timestamps" / "rec_a.camera.idfront.idx0.csv")
    make_video(base / "rec_a" / "rec_a.camera.idback.idx1.mp4")  # no CSV
    make_video(base / "rec_b" / "synchronized_videos" / "cam0.mp4", frames=30)
    make_video(base / "rec_b" / "raw.mp4")  # synchronized_videos wins
    (base / "empty").mkdir()
    outside = tmp / "outside"
    make_video(outside / "secret" / "secret.mp4")
    (base / "link_out").symlink_to(outside / "secret")
    (base / "rec_a" / "sneaky.mp4").symlink_to(outside / "secret" / "secret.mp4")
    return base, outside


@pytest.fixture
def library(folders: tuple[Path, Path], tmp_path: Path) -> Iterator[Library]:
    base, outside = folders
    playback = PlaybackLibrary(AllowedRoots([tmp_path / "media"], base), [base], ffprobe())
    app = create_app(ApiServices(config=None, stats=dict, public_config=dict, events=None, playback=playback))
    app.testing = True
    with app.test_client() as client:
        yield Library(client, base, outside)


def load(library: Library, path: str) -> tuple[int, dict[str, object]]:
    response = library.client.post("/skellycam/playback/load", json={"recording_path": path})
    return response.status_code, response.get_json()


def test_listing(library: Library) -> None:
    entries = {e["name"]: e for e in library.client.get("/skellycam/playback/recordings").get_json()}
    assert sorted(entries) == ["rec_a", "rec_b"], "no empty folder, nothing outside the roots"
    rec_a = entries["rec_a"]
    assert rec_a["path"] == str(library.base / "rec_a")
    assert rec_a["video_count"] == 2, "a link out of the roots is not a video of the recording"
    assert rec_a["total_frames"] == FRAMES and rec_a["fps"] == pytest.approx(10.0)
    assert rec_a["duration_seconds"] == pytest.approx(2.0)
    assert rec_a["created_timestamp"] and rec_a["total_size_bytes"] > 0
    assert (entries["rec_b"]["video_count"], entries["rec_b"]["total_frames"]) == (1, 30)  # from the header


def test_load_then_stream_with_ranges_and_timestamps(library: Library) -> None:
    status, body = load(library, "rec_a")  # relative: from the default recordings folder
    assert status == 200
    assert body["recording_path"] == str(library.base / "rec_a")
    videos = {v["video_id"]: v for v in body["videos"]}  # type: ignore[union-attr]
    assert sorted(videos) == ["rec_a.camera.idback.idx1", "rec_a.camera.idfront.idx0"]
    front = videos["rec_a.camera.idfront.idx0"]
    assert front["filename"] == "rec_a.camera.idfront.idx0.mp4"
    assert front["stream_url"] == "/skellycam/playback/video/rec_a.camera.idfront.idx0"
    whole = library.client.get(front["stream_url"])
    data = whole.get_data()
    whole.close()
    assert whole.status_code == 200 and whole.mimetype == "video/mp4" and len(data) == front["size_bytes"]
    part = library.client.get(front["stream_url"], headers={"Range": "bytes=1000-1999"})
    piece = part.get_data()
    part.close()
    assert part.status_code == 206 and piece == data[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"

    stamps = library.client.get("/skellycam/playback/timestamps").get_json()["timestamps"]
    assert list(stamps) == ["rec_a.camera.idfront.idx0"], "a video without a CSV is left out"
    assert stamps["rec_a.camera.idfront.idx0"][:3] == [50.0, 150.0, 250.0]  # ms from the recording's start
    info = library.client.get("/skellycam/playback/timestamps/rec_a.camera.idfront.idx0").get_json()
    assert (info["frame_count"], info["first_timestamp_ms"], info["mean_fps"]) == (FRAMES, 50.0, 10.0)
    assert info["columns"][:2] == ["frame_number", "timestamp_from_zero_s"]
    assert library.client.get("/skellycam/playback/timestamps/rec_a.camera.idback.idx1").status_code == 404
    assert library.client.get("/skellycam/playback/video/sneaky").status_code == 404, "a link out is not served"
    assert library.client.get("/skellycam/playback/video/nope").status_code == 404

    status, body = load(library, str(library.base / "rec_b"))
    assert status == 200 and [v["filename"] for v in body["videos"]] == ["cam0.mp4"]  # type: ignore[union-attr]
    assert library.client.get(front["stream_url"]).status_code == 404, "only the loaded recording is served"


@pytest.mark.parametrize(
    ("path", "status"),
    [("/etc", 400), ("../..", 400), ("link_out", 400), ("~/../../etc", 400), ("missing", 404), ("empty", 404),
     ("\ud800", 400), ("rec_\udfff", 400), ("a" * 5000, 400), ("/" + "b/" * 2500, 400), ("x" * 300, 400),
     ("rec\x01", 400)],
)  # fmt: skip
def test_load_refusals(library: Library, path: str, status: int) -> None:
    code, body = load(library, path)
    assert code == status and body["detail"]


def test_nothing_loaded_and_a_bad_body(library: Library) -> None:
    assert library.client.get("/skellycam/playback/timestamps").status_code == 409
    assert library.client.post("/skellycam/playback/load", json={}).status_code == 400
    assert library.client.post("/skellycam/playback/load", data="x", content_type="application/json").status_code == 400
