"""files.resolve_inside over planted links, and every file-serving route refusing them (clips, docs, playback)."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from flask.testing import FlaskClient

from frigate_like.api import ApiServices, create_app
from frigate_like.api import docs as docs_module
from frigate_like.errors import NotFound
from frigate_like.events.media import EventMedia
from frigate_like.files import resolve_inside, write_atomically, write_private_text
from frigate_like.record.playback import PlaybackLibrary
from frigate_like.record.roots import AllowedRoots
from tests.mounts import fill, tmpfs
from tests.segment_footage import ffprobe
from tests.test_playback import make_csv, make_video

OUTSIDE = {
    "passwd": Path("/etc/passwd"),
    "environ": Path("/proc/self/environ"),
    "missing": Path("/nonexistent/secret.txt"),
}
FORBIDDEN = (b"root:", b"PATH=", b"HOME=")


def plant(folder: Path, suffix: str) -> list[str]:
    """Links under ``folder`` to files outside it, to its parent and to themselves; their names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for label, target in OUTSIDE.items():
        (folder / f"{label}{suffix}").symlink_to(target)
        names.append(f"{label}{suffix}")
    (folder / f"parent{suffix}").symlink_to(Path("..") / "outside.txt")
    (folder / f"loop{suffix}").symlink_to(folder / f"loop{suffix}")
    (folder / f"dir{suffix}").symlink_to(folder.parent)
    return [*names, f"parent{suffix}", f"loop{suffix}", f"dir{suffix}"]


def test_resolve_inside_follows_links_then_checks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (tmp_path / "outside.txt").write_text("secret")
    names = plant(root, ".jpg")
    (root / "ok.jpg").write_bytes(b"jpeg")
    (root / "inner.jpg").symlink_to(root / "ok.jpg")  # a link that stays inside is fine
    assert resolve_inside(root, "ok.jpg") == (root / "ok.jpg").resolve()
    assert resolve_inside(root, "inner.jpg") == (root / "ok.jpg").resolve()
    messages = set()
    for name in [*names, "../outside.txt", "/etc/passwd", "nothing.jpg", "a\0b", ""]:
        with pytest.raises(NotFound) as refused:
            resolve_inside(root, name)
        messages.add(str(refused.value).replace(repr(Path(name).name), "NAME"))
    assert messages == {"no such file: NAME"}, "the same answer whether the target exists or not"


def test_private_files_are_0600_from_the_start(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_private_text(tmp_path / "secrets.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600


def test_a_write_that_fills_the_disk_keeps_the_old_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "size=1m") as small:
        target = small / "front-1.jpg"
        write_atomically(target, b"old")
        fill(small / "filler")
        with pytest.raises(OSError) as full:
            write_atomically(target, bytes(200_000))
        assert full.value.errno == errno.ENOSPC
        assert sorted(p.name for p in small.iterdir()) == ["filler", "front-1.jpg"]  # no 0-byte .tmp
        assert target.read_bytes() == b"old"
        (small / "filler").unlink()
        write_atomically(target, bytes(200_000))
        assert target.stat().st_size == 200_000 and sorted(p.name for p in small.iterdir()) == ["front-1.jpg"]


@pytest.fixture
def clips_client(tmp_path: Path) -> Iterator[tuple[FlaskClient, list[str]]]:
    clips = tmp_path / "clips"
    (tmp_path / "outside.txt").write_text("secret")
    names = plant(clips, ".jpg") + plant(clips, ".mp4")
    media = EventMedia(cast(Any, None), cast(Any, None), clips, {})  # files only: no live view, no store needed
    app = create_app(ApiServices(config=None, stats=dict, public_config=dict, events=None, media=media))
    with app.test_client() as client:
        yield client, names


def test_clips_refuse_every_planted_link(clips_client: tuple[FlaskClient, list[str]]) -> None:
    client, names = clips_client
    for name in names:
        answer = client.get(f"/clips/{name}")
        assert answer.status_code == 404, name
        assert not any(word in answer.get_data() for word in FORBIDDEN), name


def test_docs_assets_refuse_planted_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assets = tmp_path / "swagger"
    (tmp_path / "outside.txt").write_text("secret")
    assets.mkdir()
    (assets / "swagger-ui.css").symlink_to("/etc/passwd")
    (assets / "swagger-ui-bundle.js").symlink_to("/proc/self/environ")
    (assets / "favicon-16x16.png").symlink_to(Path("..") / "outside.txt")
    (assets / "favicon-32x32.png").write_bytes(b"png")
    monkeypatch.setattr(docs_module, "swagger_ui_path", str(assets))
    app = create_app(ApiServices(config=None, stats=dict, public_config=dict, events=None))
    with app.test_client() as client:
        for name in ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-16x16.png"):
            answer = client.get(f"/docs/{name}")
            assert answer.status_code == 404, name
            assert not any(word in answer.get_data() for word in (*FORBIDDEN, b"secret")), name
        with client.get("/docs/favicon-32x32.png") as fine:
            assert fine.status_code == 200 and fine.get_data() == b"png"


def test_playback_videos_and_timestamps_refuse_planted_links(tmp_path: Path) -> None:
    base = tmp_path / "recordings"
    recording = base / "rec"
    make_video(recording / "rec.cam0.mp4", frames=5)
    make_video(recording / "rec.cam1.mp4", frames=5)
    make_video(recording / "rec.cam2.mp4", frames=5)
    stamps = recording / "timestamps" / "camera_timestamps"
    make_csv(stamps / "rec.cam2.csv", frames=5)
    (stamps / "rec.cam0.csv").symlink_to("/etc/passwd")
    (stamps / "rec.cam1.csv").symlink_to("/proc/self/environ")
    (recording / "passwd.mp4").symlink_to("/etc/passwd")
    (recording / "up.mp4").symlink_to(Path("..") / ".." / "elsewhere.mp4")
    make_video(tmp_path / "elsewhere.mp4", frames=5)
    library = PlaybackLibrary(AllowedRoots([], base), [base], ffprobe())
    app = create_app(ApiServices(config=None, stats=dict, public_config=dict, events=None, playback=library))
    with app.test_client() as client:
        loaded = client.post("/skellycam/playback/load", json={"recording_path": str(recording)})
        assert sorted(v["video_id"] for v in loaded.get_json()["videos"]) == ["rec.cam0", "rec.cam1", "rec.cam2"]
        for vid in ("passwd", "up"):
            assert client.get(f"/skellycam/playback/video/{vid}").status_code == 404
        for vid in ("rec.cam0", "rec.cam1"):
            answer = client.get(f"/skellycam/playback/timestamps/{vid}")
            assert answer.status_code == 404, vid
            assert not any(word in answer.get_data() for word in FORBIDDEN), vid
        everything = client.get("/skellycam/playback/timestamps")
        assert list(everything.get_json()["timestamps"]) == ["rec.cam2"]
        assert client.get("/skellycam/playback/timestamps/rec.cam2").get_json()["frame_count"] == 5
        # a link swapped in after loading is refused too
        (recording / "rec.cam2.mp4").unlink()
        (recording / "rec.cam2.mp4").symlink_to("/etc/passwd")
        assert client.get("/skellycam/playback/video/rec.cam2").status_code == 404
