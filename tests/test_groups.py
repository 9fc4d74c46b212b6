"""Camera groups: request validation, translation to NVR cameras, and the manager over a recording host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from frigate_like.cameras import CONFIG_SOURCE, Camera, CameraRegistry
from frigate_like.config import CameraConfig, FrigateConfig, config_from_dict
from frigate_like.devices import DeviceDiscovery
from frigate_like.errors import BadRequest, Conflict
from frigate_like.groups import GroupManager, GroupStore, groups_path_for, parse_apply_request
from frigate_like.groups.translate import to_camera_config
from frigate_like.video.ffmpeg import build_command


@pytest.fixture
def cfg(model_path: Path, labelmap_path: Path, shared_dir: Path) -> FrigateConfig:
    return config_from_dict(
        {
            "camera_groups": {"file_roots": [str(shared_dir / "media")]},
            "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
            "objects": {"track": ["person", "car"]},
            "cameras": {
                "yard": {"ffmpeg": {"inputs": [{"path": "rtsp://cam/yard", "roles": ["detect"]}]},
                         "width": 640, "height": 360},
            },
        }
    )  # fmt: skip


class RecordingHost:
    """A real CameraRegistry holding the YAML cameras, and a subscriber that records what reaches it.

    The NVR's own subscribers (processes, rings, ...) run in the integration tests.
    """

    def __init__(self, cfg: FrigateConfig, slots: int = 4) -> None:
        self.registry = CameraRegistry()
        for cam in cfg.cameras.values():
            self.registry.add(cam, CONFIG_SOURCE)
        self.calls: list[tuple[str, str]] = []
        self.slots = slots
        self.registry.subscribe(self)
        self.calls.clear()  # the replay of the YAML cameras

    def manager(self, cfg: FrigateConfig, store: GroupStore, devices: DeviceDiscovery) -> GroupManager:
        return GroupManager(self.registry, cfg, store, devices, free_slots=self.free_slots)

    @property
    def cameras(self) -> dict[str, CameraConfig]:
        return dict(self.registry.configs)

    @property
    def paused(self) -> dict[str, bool]:
        return {name: camera.paused for name, camera in self.registry.snapshot().items()}

    def free_slots(self) -> int:
        return self.slots - (len(self.registry.names()) - 1)

    def camera_added(self, camera: Camera) -> None:
        self.calls.append(("add", camera.name))

    def camera_updated(self, old: Camera, new: Camera) -> None:
        assert old.name == new.name and old.config != new.config
        self.calls.append(("update", new.name))

    def camera_paused(self, camera: Camera) -> None:
        self.calls.append(("pause", camera.name))

    def camera_resumed(self, camera: Camera) -> None:
        self.calls.append(("resume", camera.name))

    def camera_removed(self, camera: Camera) -> None:
        self.calls.append(("remove", camera.name))


def file_camera(video: Path, name: str, **more: Any) -> dict[str, Any]:
    return {"camera_name": name, "source": str(video), "loop": True, "framerate": 10, **more}


@pytest.fixture
def manager(cfg: FrigateConfig, tmp_path: Path) -> tuple[GroupManager, RecordingHost]:
    host = RecordingHost(cfg)
    store = GroupStore(groups_path_for(tmp_path / "config.yml"))
    return host.manager(cfg, store, DeviceDiscovery(tmp_path / "sys", tmp_path / "dev")), host


@pytest.mark.parametrize(
    ("camera", "field"),
    [
        ({"resolution": {"width": -640, "height": 480}}, "camera_configs.0.resolution.width: must be greater than 0"),
        ({"resolution": {"width": 641, "height": 480}}, "camera_configs.0.resolution.width: must be even"),
        ({"rotation": 45}, "camera_configs.0.rotation: unknown value 45"),
        ({"capture_fourcc": "WXYZ"}, "camera_configs.0.capture_fourcc: unknown fourcc 'WXYZ'"),
        ({"writer_fourcc": "nope"}, "camera_configs.0.writer_fourcc: unknown fourcc"),
        ({"framerate": 0}, "camera_configs.0.framerate: must be -1"),
        ({"camera_name": "front door"}, "camera_configs.0.camera_name: use 1-64 letters"),
        ({"camera_id": "7"}, "camera_configs.0.camera_id: '7' differs from its key"),
    ],
)
def test_bad_values_name_their_field(camera: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest) as err:
        parse_apply_request({"camera_configs": {"0": camera}})
    assert field in str(err.value)


def test_defaults_fill_in_and_unknown_keys_are_ignored() -> None:
    request = parse_apply_request({"camera_configs": {"000": {"capture_fourcc": "mjpg", "future_key": 1}}})
    config = request.camera_configs["000"]
    assert (config.camera_id, config.camera_name, config.capture_fourcc) == ("000", "Camera-000", "MJPG")
    assert (config.resolution.width, config.resolution.height, config.rotation) == (1280, 720, -1)


def test_a_device_camera_reads_v4l2_at_the_asked_size_rate_and_fourcc(cfg: FrigateConfig, tmp_path: Path) -> None:
    config = parse_apply_request(
        {"camera_configs": {"0": {"camera_index": 2, "resolution": {"width": 1280, "height": 720}, "framerate": 30,
                                  "capture_fourcc": "YUYV", "rotation": 90}}}
    ).camera_configs["0"]  # fmt: skip
    cam = to_camera_config(cfg, config, fps=30)
    assert (cam.name, cam.width, cam.height, cam.fps) == ("Camera-0", 720, 1280, 30)  # turned by 90°
    command = build_command(cam, cam.ffmpeg.inputs[0], tmp_path, "ffmpeg", "run")
    assert command is not None
    args = command.args
    at = args.index("-i")
    assert args[args.index("v4l2") - 1 : at + 2] == [
        "-f", "v4l2", "-input_format", "yuyv422", "-video_size", "1280x720", "-framerate", "30",
        "-threads", "1", "-i", "/dev/video2",
    ]  # fmt: skip
    assert "transpose=clock" in args and args[-3:] == ["-s", "720x1280", "pipe:"]
    assert cam.objects.track == ["person", "car"]  # global sections apply as to a YAML camera


def test_a_file_camera_plays_like_a_live_one(cfg: FrigateConfig, person_video: Path, tmp_path: Path) -> None:
    config = parse_apply_request(
        {"camera_configs": {"a": file_camera(person_video, "lobby", clips=True, rotation=180)}}
    ).camera_configs["a"]
    cam = to_camera_config(cfg, config, fps=10)
    command = build_command(cam, cam.ffmpeg.inputs[0], tmp_path, "ffmpeg", "run")
    assert command is not None
    assert command.args[command.args.index("-i") - 7 :][:5] == ["-re", "-stream_loop", "-1", "-fflags", "+genpts"]
    assert command.roles == ("detect", "clips") and "hflip,vflip" in command.args
    assert cam.snapshots.enabled and cam.clips.enabled and not cam.record.enabled


def test_apply_creates_then_updates_in_place_restarting_only_what_changed(
    manager: tuple[GroupManager, RecordingHost], person_video: Path, shared_dir: Path, tmp_path: Path
) -> None:
    groups, host = manager
    car_video = shared_dir / "media" / "car-detection.mp4"
    body = {"camera_configs": {"000": file_camera(person_video, "lobby"), "001": file_camera(car_video, "street")}}
    first = groups.apply(body)
    assert len(first["group_id"]) == 6 and int(first["group_id"], 16) >= 0
    assert first["camera_configs"]["000"]["camera_name"] == "lobby"
    assert sorted(host.calls) == [("add", "lobby"), ("add", "street")]
    host.calls.clear()

    body["camera_configs"]["001"]["resolution"] = {"width": 320, "height": 180}
    second = groups.apply(body)
    assert second["group_id"] == first["group_id"]
    assert host.calls == [("update", "street")]  # lobby kept running untouched
    assert (host.cameras["street"].width, host.cameras["street"].height) == (320, 180)

    saved = json.loads((tmp_path / "config.groups.json").read_text())
    assert saved["groups"][first["group_id"]]["camera_configs"]["001"]["resolution"]["width"] == 320


def test_a_camera_left_out_or_switched_off_stops(
    manager: tuple[GroupManager, RecordingHost], person_video: Path
) -> None:
    groups, host = manager
    groups.apply({"camera_configs": {"1": file_camera(person_video, "a"), "2": file_camera(person_video, "b")}})
    groups.apply({"camera_configs": {"1": file_camera(person_video, "a", use_this_camera=False)}})
    assert "a" not in host.cameras and "b" not in host.cameras
    assert groups.state()["groups"][next(iter(groups.groups))]["cameras"]["1"]["running"] is False


def test_pause_toggles_every_camera_yaml_ones_too_and_new_ones_start_paused(
    manager: tuple[GroupManager, RecordingHost], person_video: Path
) -> None:
    groups, host = manager
    groups.apply({"camera_configs": {"1": file_camera(person_video, "a")}})
    assert groups.toggle_pause() is True and host.paused == {"yard": True, "a": True}
    groups.apply({"camera_configs": {"9": file_camera(person_video, "z")}})
    assert host.paused["z"] is True
    assert groups.toggle_pause() is False and host.paused == {"yard": False, "a": False, "z": False}
    assert ("pause", "yard") in host.calls and ("resume", "yard") in host.calls


def test_conflicts_and_missing_sources_change_nothing(
    manager: tuple[GroupManager, RecordingHost], person_video: Path, tmp_path: Path
) -> None:
    groups, host = manager
    with pytest.raises(Conflict, match="camera_configs.1.camera_name"):
        groups.apply({"camera_configs": {"1": file_camera(person_video, "yard")}})  # the YAML camera's name
    with pytest.raises(BadRequest, match="camera_configs.1.camera_index: no capture device 3"):
        groups.apply({"camera_configs": {"1": {"camera_index": 3}}})
    missing = person_video.with_name("missing.mp4")
    with pytest.raises(BadRequest, match="camera_configs.2.source: file not found"):
        groups.apply({"camera_configs": {"1": file_camera(person_video, "a"), "2": file_camera(missing, "b")}})
    with pytest.raises(BadRequest, match="camera_name 'a' is used by more than one camera"):
        groups.apply({"camera_configs": {"1": file_camera(person_video, "a"), "2": file_camera(person_video, "a")}})
    with pytest.raises(Conflict, match="no room"):
        groups.apply({"camera_configs": {str(i): file_camera(person_video, f"c{i}") for i in range(5)}})
    assert host.calls == [] and groups.groups == {}


def test_close_all_releases_everything_and_restore_brings_groups_back(
    cfg: FrigateConfig, manager: tuple[GroupManager, RecordingHost], person_video: Path, tmp_path: Path
) -> None:
    groups, host = manager
    applied = groups.apply({"camera_configs": {"1": file_camera(person_video, "a")}})

    restarted_host = RecordingHost(cfg)
    again = restarted_host.manager(cfg, GroupStore(tmp_path / "config.groups.json"), DeviceDiscovery())
    again.restore()
    assert restarted_host.calls == [("add", "a")] and applied["group_id"] in again.groups
    state = again.state()["groups"]
    assert state["config"]["cameras"] == {"yard": {"name": "yard", "running": True, "error": None}}

    groups.close_all()  # YAML cameras close too (they come back when the daemon restarts)
    assert sorted(host.calls[-2:]) == [("remove", "a"), ("remove", "yard")] and groups.groups == {}
    assert host.cameras == {}
    assert not (tmp_path / "config.groups.json").exists()


def test_a_saved_camera_that_cannot_start_is_kept_with_its_error(
    cfg: FrigateConfig, person_video: Path, tmp_path: Path
) -> None:
    store = GroupStore(tmp_path / "groups.json")
    config = parse_apply_request({"camera_configs": {"1": {"camera_index": 0}}}).camera_configs
    store.save({"abc123": config})
    host = RecordingHost(cfg)
    groups = host.manager(cfg, store, DeviceDiscovery(tmp_path / "sys", tmp_path / "dev"))
    groups.restore()
    camera = groups.state()["groups"]["abc123"]["cameras"]["1"]
    assert camera["running"] is False and "no capture device 0" in camera["error"]
    assert host.calls == []


class NoRoomToRestart(RecordingHost):
    """A host whose cameras cannot take a new config (e.g. shared memory full)."""

    def camera_updated(self, old: Camera, new: Camera) -> None:
        raise Conflict("no room for the new frame buffer")


def test_a_camera_that_cannot_restart_is_stopped_with_its_error(
    cfg: FrigateConfig, person_video: Path, tmp_path: Path
) -> None:
    host = NoRoomToRestart(cfg)
    devices = DeviceDiscovery(tmp_path / "sys", tmp_path / "dev")
    groups = host.manager(cfg, GroupStore(tmp_path / "groups.json"), devices)
    body = {"camera_configs": {"1": file_camera(person_video, "a")}}
    group_id = groups.apply(body)["group_id"]
    body["camera_configs"]["1"]["resolution"] = {"width": 320, "height": 180}
    groups.apply(body)
    camera = groups.state()["groups"][group_id]["cameras"]["1"]
    assert camera["running"] is False and "no room" in camera["error"]
    assert "a" not in host.cameras and host.calls[-1] == ("remove", "a")


@pytest.mark.parametrize(
    "source",
    [
        "/proc/self/environ", "/etc/passwd", "/etc/no-such-file", "file:///etc/passwd", "concat:/etc/passwd|/etc/hosts",
        "subfile,,start,0,end,0,,:/etc/passwd", "data:text/plain,hello", "pipe:0", "http://127.0.0.1:5000/api/config",
        "https://example.com/cam.mjpg", "tcp://127.0.0.1:22", "ftp://host/x.mp4", "gopher://x", "relative/clip.mp4",
        "/dev/sda", "rtsp:/no-slashes", "/tmp/../etc/passwd", "rtsp://cam/live\n-i /etc/passwd",
        # issue 19: odd strings and broken URLs are refused with the field named, not a 500
        "rtsp://h:99999/x", "rtsp://h:0/x", "rtsp://h:-1/x", "rtsp://h:port/x", "rtsp:///x", "rtsp://admin:pw@/x",
        "rtsp://\ud800/x", "rtsp://cam/" + "x" * 5000, "/" + "a" * 5000, "\udfff", "rtsp://cam/live\x7f",
    ],
)  # fmt: skip
def test_group_sources_are_limited_to_cameras_devices_and_allowed_files(
    manager: tuple[GroupManager, RecordingHost], source: str
) -> None:
    groups, host = manager
    with pytest.raises(BadRequest) as refused:
        groups.apply({"camera_configs": {"1": {"camera_name": "x", "source": source, "framerate": 5}}})
    assert str(refused.value).startswith("camera_configs.1.source: ")
    assert host.calls == []


def test_a_broken_url_is_refused_without_echoing_its_password(manager: tuple[GroupManager, RecordingHost]) -> None:
    groups, _ = manager
    for source in ("rtsp://admin:Se/cret9@h/x", "rtsp://admin:Se?cret9@h/x", "rtsp://admin:Se#cret9@h/x"):
        with pytest.raises(BadRequest) as refused:  # ffmpeg would read "Se" as the port
            groups.apply({"camera_configs": {"1": {"camera_name": "x", "source": source}}})
        assert "port" in str(refused.value) and "Se" not in str(refused.value) and "cret9" not in str(refused.value)


def test_a_refused_file_reads_the_same_whether_it_exists_or_not(
    manager: tuple[GroupManager, RecordingHost], tmp_path: Path
) -> None:
    groups, _ = manager
    (tmp_path / "exists.mp4").write_bytes(b"x")
    (tmp_path / "link.mp4").symlink_to("/etc/passwd")
    answers = set()
    for name in ("exists.mp4", "missing.mp4", "link.mp4"):
        with pytest.raises(BadRequest) as refused:
            groups.apply({"camera_configs": {"1": {"camera_name": "x", "source": str(tmp_path / name)}}})
        answers.add(str(refused.value))
    assert len(answers) == 1 and "camera_groups.file_roots" in answers.pop()


def test_rtsp_and_allowed_http_sources_are_accepted(cfg: FrigateConfig, tmp_path: Path) -> None:
    rtsp = {"camera_name": "r", "source": "rtsp://user:pw@cam.lan:554/live", "framerate": 5}
    http = {"camera_name": "h", "source": "http://cam.lan/video.mjpg", "framerate": 5}
    host = RecordingHost(cfg)
    groups = host.manager(cfg, GroupStore(tmp_path / "g.json"), DeviceDiscovery(tmp_path / "s", tmp_path / "d"))
    groups.apply({"camera_configs": {"1": rtsp}})
    with pytest.raises(BadRequest, match="camera_groups.http_sources"):
        groups.apply({"camera_configs": {"2": http}})
    cfg.camera_groups.http_sources = True
    groups.apply({"camera_configs": {"2": http}})
    assert [name for _, name in host.calls] == ["r", "h"]


def test_the_apply_answer_redacts_sources_and_a_redacted_source_sent_back_is_unchanged(
    manager: tuple[GroupManager, RecordingHost],
) -> None:
    groups, host = manager
    secret = {"camera_name": "r", "source": "rtsp://admin:p@ss-Pa55@cam.lan/live", "framerate": 5}
    shown = groups.apply({"camera_configs": {"1": secret}})
    assert shown["camera_configs"]["1"]["source"] == "rtsp://admin:*****@cam.lan/live"
    again = groups.apply({"camera_configs": {"1": {**shown["camera_configs"]["1"], "framerate": 5}}})
    assert again["camera_configs"]["1"]["source"] == "rtsp://admin:*****@cam.lan/live"
    assert host.cameras["r"].ffmpeg.inputs[0].path == secret["source"]
    assert host.calls == [("add", "r")]  # the same camera: nothing restarted
