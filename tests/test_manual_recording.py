"""Manual recordings through the seed's record start/stop endpoints, fed decoded frames as the tracker does."""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

from frigate_like.api import ApiServices, create_app
from frigate_like.devices.alsa import Microphone, list_microphones, microphones_document, pick_microphone
from frigate_like.errors import BadRequest
from frigate_like.messages import FrameUpdate
from frigate_like.record.camera_writer import CameraSource
from frigate_like.record.manual import ManualRecorder
from frigate_like.record.roots import AllowedRoots
from frigate_like.video.binaries import find_ffmpeg
from tests.record_support import count_frames, duration, streams

START = 1_790_000_000.0
FPS = 5
WIDTH, HEIGHT = 160, 120
TONE = Microphone(1, "test tone", ("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000"))


class Ring:
    """Frames by (slot, time), as FrameRing.read_copy answers: None once the slot moved on."""

    def __init__(self) -> None:
        self.frames: dict[tuple[int, float], np.ndarray] = {}

    def put(self, slot: int, frame_time: float, level: int) -> None:
        self.frames[(slot, frame_time)] = np.full((HEIGHT * 3 // 2, WIDTH), level, np.uint8)

    def read(self, slot: int, frame_time: float) -> np.ndarray | None:
        return self.frames.get((slot, frame_time))


@dataclass
class Rig:
    recorder: ManualRecorder
    client: FlaskClient
    rings: dict[str, Ring]
    now: list[float]
    base: Path
    extra: Path

    def feed(self, camera: str, first: float, count: int, offset: float = 0.0, lost: tuple[int, ...] = ()) -> None:
        """``count`` frames at FPS from ``first`` (+ ``offset``), as the tracking thread hands them over."""
        for i in range(count):
            frame_time = first + offset + i / FPS
            if i not in lost:
                self.rings[camera].put(i % 12, frame_time, 16 + 8 * (i % 20))
            self.recorder.on_frame(FrameUpdate(camera, frame_time, i % 12, (), (), ()))
            time.sleep(0.02)  # 10x a camera's pace: the writer's queue holds 4 s, not a whole burst

    def start(self, **body: Any) -> Any:
        return self.client.post("/skellycam/camera/group/all/record/start", json=body)

    def stop(self) -> Any:
        return self.client.get("/skellycam/camera/group/all/record/stop", content_type="application/json")


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    rings = {"left": Ring(), "right": Ring()}
    now = [START]
    base = tmp_path / "home" / "skellycam_data" / "recordings"
    extra = tmp_path / "extra"
    sources = [CameraSource(name, index, FPS, rings[name].read) for index, name in enumerate(rings)]
    recorder = ManualRecorder(sources, AllowedRoots([tmp_path / "media", extra], base), find_ffmpeg(),
                              microphones=lambda: [TONE], clock=lambda: now[0])
    app = create_app(ApiServices(config=None, stats=dict, public_config=dict, events=None, manual=recorder))
    app.testing = True
    with app.test_client() as client:
        yield Rig(recorder, client, rings, now, base, extra)
    recorder.shutdown()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_two_cameras_one_clock_rows_equal_frames(rig: Rig) -> None:
    assert rig.start(recording_name="session_tag").get_json() is True
    folder = rig.base / "session_tag"
    rig.feed("left", START - 0.4, 27)  # two frames from before the start are not recorded
    rig.feed("right", START - 0.4, 27, offset=0.07, lost=(10,))  # one frame's slot was reused meanwhile
    rig.now[0] = START + 5.0
    assert rig.stop().get_json() is True

    stats = json.loads((folder / "timestamps" / "session_tag_statistics.json").read_text())
    firsts = []
    for index, name in enumerate(("left", "right")):
        video_id = f"session_tag.camera.id{name}.idx{index}"
        video = folder / f"{video_id}.mp4"
        rows = read_csv(folder / "timestamps" / "camera_timestamps" / f"{video_id}.csv")
        frames = count_frames(video)
        assert frames == len(rows) == stats["cameras"][video_id]["frames"]
        assert streams(video) == {"video": "h264"}
        times = [float(row["timestamp_utc_s"]) for row in rows]
        assert all(b > a for a, b in zip(times, times[1:], strict=False)), "strictly increasing"
        zero_based = [float(row["timestamp_from_zero_s"]) for row in rows]
        assert zero_based == pytest.approx([t - START for t in times], abs=1e-5)
        assert [int(row["frame_number"]) for row in rows] == list(range(frames))
        firsts.append(times[0])
        camera = stats["cameras"][video_id]
        assert [camera["first_timestamp"], camera["last_timestamp"]] == pytest.approx([times[0], times[-1]], abs=1e-6)
        assert camera["mean_fps"] == pytest.approx(FPS, rel=0.1)
    assert stats["cameras"]["session_tag.camera.idleft.idx0"]["frames"] == 25
    assert stats["cameras"]["session_tag.camera.idright.idx1"]["frames"] == 24
    assert stats["cameras"]["session_tag.camera.idright.idx1"]["dropped_frames"] == 1
    assert 0.0 <= firsts[0] - START < 1 / FPS and abs(firsts[1] - firsts[0]) < 1 / FPS
    assert stats["started_unix_s"] == START and stats["microphone"] is None
    assert rig.stop().status_code == 409, "nothing records any more"


def test_the_state_names_the_running_recording_and_each_start_and_stop_is_told(rig: Rig) -> None:
    told: list[dict[str, Any]] = []  # what the WebSocket's state message would carry each time
    rig.recorder.on_change = lambda: told.append(rig.recorder.state())
    idle = {"is_recording": False, "recording_name": None, "started_unix_s": None}
    assert rig.recorder.state() == idle
    assert rig.start(recording_name="told").get_json() is True
    assert rig.start(recording_name="again").status_code == 409  # a refused start changes nothing
    assert rig.stop().get_json() is True
    assert rig.stop().status_code == 409
    assert told == [{"is_recording": True, "recording_name": "told", "started_unix_s": START}, idle]


def test_default_name_and_directory_then_a_clean_finish_at_shutdown(rig: Rig) -> None:
    assert rig.client.post("/skellycam/camera/group/all/record/start", content_type="application/json").get_json()
    (folder,) = rig.base.iterdir()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d_\d\d_\d\d", folder.name)
    rig.feed("left", START, 10)
    rig.recorder.shutdown()
    assert count_frames(folder / f"{folder.name}.camera.idleft.idx0.mp4") == 10
    stats = json.loads((folder / "timestamps" / f"{folder.name}_statistics.json").read_text())
    assert stats["cameras"][f"{folder.name}.camera.idright.idx1"]["frames"] == 0
    assert not (folder / f"{folder.name}.camera.idright.idx1.mp4").exists(), "no frames, no empty file"


def test_a_microphone_records_next_to_the_videos(rig: Rig) -> None:
    response = rig.start(recording_name="with_audio", recording_directory=str(rig.extra), mic_device_index=1)
    assert response.status_code == 200
    rig.feed("left", START, 5)
    time.sleep(1.0)  # the test tone runs in real time
    assert rig.stop().status_code == 200
    wav = rig.extra / "with_audio" / "with_audio.audio.wav"
    assert streams(wav) == {"audio": "pcm_s16le"} and duration(wav) > 0.3
    stats = json.loads((rig.extra / "with_audio" / "timestamps" / "with_audio_statistics.json").read_text())
    assert stats["microphone"]["name"] == "test tone" and stats["microphone"]["file"] == wav.name


def test_refusals(rig: Rig, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (rig.extra).mkdir(parents=True)
    (rig.extra / "escape").symlink_to(outside)
    (rig.extra / "a_file").write_text("")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"recording_directory": "/etc"}, 400, "outside the allowed folders"),
        ({"recording_directory": "../.."}, 400, "outside the allowed folders"),
        ({"recording_directory": str(rig.extra / "escape")}, 400, "outside the allowed folders"),
        ({"recording_directory": str(rig.extra / "a_file" / "sub")}, 400, "cannot create"),
        ({"recording_name": "../up"}, 400, "recording_name"),
        ({"recording_name": "a/b"}, 400, "recording_name"),
        ({"mic_device_index": 0}, 400, "unknown microphone 0"),
        ({"mic_device_index": "0"}, 400, "must be an integer"),
        ({"recording_directory": "\ud800"}, 400, "lone surrogate"),  # issue 19: odd strings are 400, not 500
        ({"recording_name": "x\udc00"}, 400, "lone surrogate"),
        ({"recording_directory": "/" + "d" * 4999}, 400, "too long"),
        ({"recording_directory": "/tmp/" + "d" * 300}, 400, "over 255 bytes"),
        ({"recording_name": "n" * 5000}, 400, "too long"),
        ({"recording_directory": {"\ud800": 1}}, 400, "lone surrogate"),
    ]
    for body, status, detail in cases:
        response = rig.start(**body)
        assert (response.status_code, detail in response.get_json()["detail"]) == (status, True), body
    assert not list(outside.iterdir())
    url = "/skellycam/camera/group/all/record/start"
    assert rig.client.post(url, data="[1]", content_type="application/json").status_code == 400
    assert rig.stop().status_code == 409
    assert rig.start(recording_name="taken").status_code == 200
    assert rig.start(recording_name="other").status_code == 409, "one recording at a time"
    assert rig.stop().status_code == 200
    response = rig.start(recording_name="taken")
    assert response.status_code == 409 and "already exists" in response.get_json()["detail"]


def test_record_start_picks_the_microphone_that_detect_listed_under_that_index(tmp_path: Path) -> None:
    """One numbering: ``microphone/detect``'s index is ``record/start``'s ``mic_device_index``."""
    asound = tmp_path / "asound"
    asound.mkdir()
    (asound / "pcm").write_text(
        "00-00: ALC3246 Analog : ALC3246 Analog : playback 1 : capture 1\n"
        "00-03: HDMI 0 : HDMI 0 : playback 1\n"
        "02-00: USB Audio : USB Audio : capture 1\n"
    )
    listed = microphones_document(list_microphones(tmp_path))["microphones"]
    assert listed == {"0": "ALC3246 Analog", "1": "USB Audio"}
    for index, name in listed.items():
        picked = pick_microphone(int(index), lambda: list_microphones(tmp_path))
        assert picked is not None and picked.name == name
    usb = pick_microphone(1, lambda: list_microphones(tmp_path))
    assert usb is not None and usb.input_args == ("-f", "alsa", "-i", "hw:2,0")
    assert pick_microphone(-1, lambda: list_microphones(tmp_path)) is None
    with pytest.raises(BadRequest, match="unknown microphone 2"):
        pick_microphone(2, lambda: list_microphones(tmp_path))
