"""ffmpeg command lines built from real, loaded configs (Frigate 0.8 style)."""

from __future__ import annotations

import logging
import shlex
from pathlib import Path
from typing import Any

import pytest

from frigate_like.config import CameraConfig, config_from_dict
from frigate_like.video.ffmpeg import (
    FFMPEG_ENV_OVERRIDES,
    SURVIVABLE_MP4,
    build_command,
    build_commands,
    ffmpeg_env,
    frame_size,
    process_roles,
    segment_dir,
    segment_list_path,
)

CACHE = Path("/tmp/cache")
RTSP = "rtsp://viewer:secret@10.0.10.10:554/stream"
DEFAULT_INPUT = [
    "-avoid_negative_ts", "make_zero", "-fflags", "+genpts+discardcorrupt", "-rtsp_transport", "tcp",
    "-timeout", "5000000", "-use_wallclock_as_timestamps", "1",
]  # fmt: skip
NO_FPS_PROBE = ["-fpsprobesize", "0"]  # an RTSP detect input: no frame-rate estimate before the first frame
CLIPS = shlex.split("-f segment -segment_time 10 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c copy -an")
RECORD = shlex.split(
    "-f segment -segment_time 60 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c:v copy -c:a aac"
)


def camera(shared_dir: Path, cam: dict[str, Any], **top: Any) -> CameraConfig:
    raw = {
        "mqtt": {"host": "127.0.0.1"},
        "model": {
            "path": str(shared_dir / "models" / "ssd_mobilenet_v1_coco_quant.tflite"),
            "labelmap_path": str(shared_dir / "models" / "coco_labelmap.txt"),
            "width": 300,
            "height": 300,
        },
        "cameras": {"back": {"width": 1280, "height": 720, "fps": 5, **cam}},
        **top,
    }
    return config_from_dict(raw).cameras["back"]


def detect_tail(width: int = 1280, height: int = 720, fps: str = "5") -> list[str]:
    return [
        "-f", "rawvideo", "-pix_fmt", "yuv420p",
        "-vf", f"fps={fps},scale={width}:{height}:flags=fast_bilinear", "pipe:",
    ]  # fmt: skip


def segments(role: str, args: list[str], run: str = "run1") -> list[str]:
    folder = CACHE / "back" / role
    return [
        *args,
        "-segment_format_options",
        SURVIVABLE_MP4,
        "-segment_list",
        f"{folder}/segments-{run}.csv",
        "-segment_list_type",
        "csv",
        f"{folder}/%Y%m%d%H%M%S.mp4",
    ]


def test_all_roles_on_one_input_share_one_ffmpeg_and_split_apart(shared_dir: Path) -> None:
    """Frigate 0.8's outputs in one ffmpeg that reads the input once; split (after an output failed), a
    full disk no longer ends detection: detect alone, the segments in a second ffmpeg."""
    cam = camera(
        shared_dir,
        {
            "ffmpeg": {"inputs": [{"path": RTSP, "roles": ["detect", "clips", "record"]}]},
            "record": {"enabled": True},
        },
        ffmpeg={"hwaccel_args": "-hwaccel vaapi"},
    )
    [inp] = cam.ffmpeg.inputs
    [one] = build_commands(cam, CACHE, "/usr/bin/ffmpeg", "run1")
    assert one.roles == ("detect", "clips", "record")
    assert one.frame_size == 1280 * 720 * 3 // 2 == frame_size(1280, 720)
    head = ["/usr/bin/ffmpeg", "-hide_banner", "-loglevel", "warning", "-hwaccel", "vaapi", *DEFAULT_INPUT]
    segment_outputs = [*segments("clips", CLIPS), *segments("record", RECORD)]
    assert one.args == [*head, "-threads", "1", *NO_FPS_PROBE, "-i", RTSP, *detect_tail(), *segment_outputs]

    assert process_roles(cam, inp, split=True) == [("detect",), ("clips", "record")]
    detect = build_command(cam, inp, CACHE, "/usr/bin/ffmpeg", "run1", ("detect",))
    storage = build_command(cam, inp, CACHE, "/usr/bin/ffmpeg", "run1", ("clips", "record"))
    assert detect is not None and storage is not None and storage.frame_size is None
    assert detect.args == [*head, "-threads", "1", *NO_FPS_PROBE, "-i", RTSP, *detect_tail()]
    assert storage.args == [*head, "-i", RTSP, *segment_outputs]


def test_a_capture_device_keeps_one_ffmpeg_for_all_its_roles(shared_dir: Path) -> None:
    """/dev/video0 opens once: a second ffmpeg for the segments would find it busy."""
    cam = camera(
        shared_dir,
        {
            "ffmpeg": {"inputs": [{"path": "/dev/video0", "roles": ["detect", "clips"], "input_args": "-f v4l2"}]},
        },
    )
    [command] = build_commands(cam, CACHE, "ffmpeg", "run1")
    assert command.roles == ("detect", "clips") and command.frame_size is not None


def test_a_named_pipe_is_read_by_one_ffmpeg_for_all_its_roles(shared_dir: Path) -> None:
    """Two readers of a FIFO would each get part of its bytes: the caller says it is one."""
    cam = camera(shared_dir, {"ffmpeg": {"inputs": [{"path": "/run/cam.ts", "roles": ["detect", "clips"]}]}})
    [inp] = cam.ffmpeg.inputs
    assert process_roles(cam, inp, named_pipe=True) == [("detect", "clips")]
    assert process_roles(cam, inp, named_pipe=True, split=True) == [("detect", "clips")]  # never split
    assert process_roles(cam, inp, split=True) == [("detect",), ("clips",)]  # a plain file can be read twice


def test_roles_on_two_inputs_with_hwaccel_and_per_input_overrides(shared_dir: Path) -> None:
    cam = camera(
        shared_dir,
        {
            "ffmpeg": {
                "inputs": [
                    {"path": "rtsp://cam/sub", "roles": ["detect"], "input_args": "-rtsp_transport udp"},
                    {"path": "rtsp://cam/main", "roles": ["clips", "record"], "global_args": "-loglevel error"},
                ],
            },
            "width": 640, "height": 360, "fps": 4, "record": {"enabled": True},
        },
        ffmpeg={"hwaccel_args": "-hwaccel vaapi -hwaccel_device /dev/dri/renderD128"},
    )  # fmt: skip
    detect, record = build_commands(cam, CACHE, "ffmpeg", "run1")
    hwaccel = ["-hwaccel", "vaapi", "-hwaccel_device", "/dev/dri/renderD128"]
    assert detect.roles == ("detect",) and detect.frame_size == 640 * 360 * 3 // 2
    assert detect.args == [
        "ffmpeg", "-hide_banner", "-loglevel", "warning", *hwaccel, "-rtsp_transport", "udp", "-threads", "1",
        *NO_FPS_PROBE, "-i", "rtsp://cam/sub", *detect_tail(640, 360, "4"),
    ]  # fmt: skip
    # no decoding on a copy-only input, so no decoder thread setting either
    assert record.roles == ("clips", "record") and record.frame_size is None and not record.detect
    assert record.args == [
        "ffmpeg", "-loglevel", "error", *hwaccel, *DEFAULT_INPUT, "-i", "rtsp://cam/main",
        *segments("clips", CLIPS), *segments("record", RECORD),
    ]  # fmt: skip


def test_user_filters_and_threads_are_kept(shared_dir: Path) -> None:
    """A user's own video filter (a hardware scaler, say) stays; Frigate 0.8's -r/-s follow it."""
    cam = camera(
        shared_dir,
        {
            "ffmpeg": {
                "inputs": [{"path": RTSP, "roles": ["detect"], "input_args": "-threads 2"}],
                "output_args": {"detect": "-vf hwdownload,format=nv12 -f rawvideo -pix_fmt yuv420p"},
            },
            "fps": 5,
        },
    )
    [command] = build_commands(cam, CACHE, "ffmpeg", "r")
    assert command.args[command.args.index("-i") - 4 :] == [
        "-threads", "2", *NO_FPS_PROBE, "-i", RTSP,
        "-vf", "hwdownload,format=nv12", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-r", "5", "-s", "1280x720", "pipe:",
    ]  # fmt: skip


def test_the_frame_rate_estimate_is_skipped_only_for_an_rtsp_detect_ffmpeg_left_to_the_defaults(
    shared_dir: Path,
) -> None:
    """-fpsprobesize 0 saves 20 frames of analysis per RTSP (re)connect; files, other streams, an ffmpeg
    that only copies, and input args that tune the analysis themselves (Frigate 0.8 users' own) are left
    alone."""

    def detect_args(path: str, input_args: str | None = None) -> list[str]:
        inp: dict[str, Any] = {"path": path, "roles": ["detect", "clips"]}
        if input_args is not None:
            inp["input_args"] = input_args
        cam = camera(shared_dir, {"ffmpeg": {"inputs": [inp]}})
        [one] = build_commands(cam, CACHE, "ffmpeg", "r")
        detect = build_command(cam, cam.ffmpeg.inputs[0], CACHE, "ffmpeg", "r", ("detect",))
        clips = build_command(cam, cam.ffmpeg.inputs[0], CACHE, "ffmpeg", "r", ("clips",))
        assert detect is not None and clips is not None
        assert clips.args.count("-fpsprobesize") == (input_args or "").count("-fpsprobesize")  # copies only
        assert one.args[: one.args.index("-i")] == detect.args[: detect.args.index("-i")]  # it detects
        return detect.args[: detect.args.index("-i")]

    assert detect_args(RTSP)[-2:] == NO_FPS_PROBE
    assert detect_args("RTSPS://10.0.10.10:322/live", "-rtsp_transport tcp")[-2:] == NO_FPS_PROBE
    assert "-fpsprobesize" not in detect_args("http://10.0.10.10/video.mjpg", "-use_wallclock_as_timestamps 1")
    assert "-fpsprobesize" not in detect_args("/media/footage.mp4", "-re")
    assert "-fpsprobesize" not in detect_args("file:/media/footage.mp4", "-re")
    head = ["ffmpeg", "-hide_banner", "-loglevel", "warning"]
    for own in ("-rtsp_transport tcp -analyzeduration 1000M -probesize 1000M", "-probesize 5M", "-fpsprobesize 5"):
        assert detect_args(RTSP, own) == [*head, *own.split(), "-threads", "1"]


def test_disabled_rtmp_and_record_are_logged_and_get_no_output(
    shared_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cam = camera(
        shared_dir,
        {
            "ffmpeg": {
                "inputs": [
                    {"path": "rtsp://cam/main", "roles": ["rtmp"]},
                    {"path": "rtsp://cam/sub", "roles": ["detect", "record"]},
                ]
            },
            "rtmp": {"enabled": False},
        },
    )
    with caplog.at_level(logging.INFO, logger="frigate_like.video.ffmpeg"):
        commands = build_commands(cam, CACHE, "ffmpeg", "r")
    assert [c.roles for c in commands] == [("detect",)]
    assert "-segment_list" not in commands[0].args
    messages = [r.getMessage() for r in caplog.records]
    assert any("input 0: role rtmp has no output (rtmp is disabled)" in m for m in messages)
    assert any("input 1: role record has no output (record is disabled)" in m for m in messages)
    assert not any("secret" in m or "rtsp://" in m for m in messages)  # paths carry passwords


def test_rtmp_copies_the_stream_to_the_cameras_url_like_frigate_08(shared_dir: Path) -> None:
    inputs = [{"path": RTSP, "roles": ["detect", "rtmp"]}]
    cam = camera(shared_dir, {"ffmpeg": {"inputs": inputs}}, rtmp={"url": "rtmp://127.0.0.1:1999/live"})
    [command] = build_commands(cam, CACHE, "ffmpeg", "r")  # one ffmpeg, as in Frigate 0.8
    assert command.roles == ("detect", "rtmp") and command.frame_size == 1280 * 720 * 3 // 2
    assert command.args[-4:] == ["copy", "-f", "flv", "rtmp://127.0.0.1:1999/live/back"]
    # split, after an output failed: the copy apart, it may fail on its own
    assert process_roles(cam, cam.ffmpeg.inputs[0], split=True) == [("detect",), ("rtmp",)]
    # the server down: the stream is left out, detection goes on
    down = build_command(cam, cam.ffmpeg.inputs[0], CACHE, "ffmpeg", "r", rtmp_server_up=False)
    assert down is not None and down.roles == ("detect",) and "flv" not in down.args
    # an input with only the rtmp role has nothing to do while the server is down
    two = [{"path": RTSP, "roles": ["detect"]}, {"path": RTSP, "roles": ["rtmp"]}]
    only = camera(shared_dir, {"ffmpeg": {"inputs": two}})
    assert build_command(only, only.ffmpeg.inputs[1], CACHE, "ffmpeg", "r", rtmp_server_up=False) is None
    rtmp_only = build_command(only, only.ffmpeg.inputs[1], CACHE, "ffmpeg", "r")
    assert rtmp_only is not None and rtmp_only.args[-1] == "rtmp://127.0.0.1:1935/live/back"


def test_detect_filter_and_segment_paths(shared_dir: Path) -> None:
    cam = camera(
        shared_dir, {"ffmpeg": {"inputs": [{"path": "x.mp4", "roles": ["detect"]}]}, "width": 768, "height": 432}
    )
    assert build_commands(cam, CACHE, "ffmpeg", "r")[0].args[-2] == "fps=5,scale=768:432:flags=fast_bilinear"
    assert segment_dir(CACHE, "back", "clips") == CACHE / "back" / "clips"
    assert segment_list_path(CACHE, "back", "record", "abc") == CACHE / "back" / "record" / "segments-abc.csv"


def test_ffmpeg_runs_in_utc() -> None:
    assert FFMPEG_ENV_OVERRIDES == {"TZ": "UTC"}
    env = ffmpeg_env({"PATH": "/bin", "TZ": "Europe/Paris"})
    assert env == {"PATH": "/bin", "TZ": "UTC"}
