"""Turns one group camera's config into a full NVR ``CameraConfig`` (ffmpeg input, rotation, roles); pure.

- A device (``camera_index``) is read with ffmpeg's v4l2 input at the asked size, rate
  and fourcc; a file is played like a live camera (``-re``, optionally looped); an RTSP
  URL inherits the global input args (they are made for RTSP), any other URL gets
  generic live-stream flags.
- Rotation is a filter in the detect output, so every consumer of the frames (motion,
  detection, snapshots, the WebSocket) sees the turned picture; the detect size is the
  asked resolution turned with it.
- Roles: ``detect`` always, ``clips`` / ``record`` when asked; everything else (objects,
  motion, filters) comes from the global sections like for a camera of the YAML file.
"""

from __future__ import annotations

from typing import Any, Literal

from frigate_like.config import CameraConfig, FrigateConfig
from frigate_like.config.frigate import resolve_camera
from frigate_like.groups.models import CAPTURE_FOURCCS, GroupCameraConfig

# transpose=clock turns 90° clockwise; 180° is both flips (transpose cannot do it in one step)
ROTATION_FILTERS: dict[int, str] = {90: "transpose=clock", 180: "hflip,vflip", 270: "transpose=cclock"}
_VIDEO_FILTER_OPTIONS = ("-vf", "-filter:v")
SourceKind = Literal["device", "file", "rtsp", "url"]


def source_kind(config: GroupCameraConfig) -> SourceKind:
    if config.source is None:
        return "device"
    scheme = config.source.split("://", 1)[0].lower() if "://" in config.source else ""
    if scheme in ("", "file"):
        return "file"
    return "rtsp" if scheme in ("rtsp", "rtsps") else "url"


def source_path(config: GroupCameraConfig) -> str:
    """What ffmpeg opens: the device node, the file (without ``file://``) or the URL."""
    if config.source is None:
        return config.device_path
    return config.source.removeprefix("file://")


def detect_size(config: GroupCameraConfig) -> tuple[int, int]:
    """Width and height of the detect frames: the asked resolution, turned by a 90°/270° rotation."""
    width, height = config.resolution.width, config.resolution.height
    return (height, width) if config.rotation in (90, 270) else (width, height)


def input_args(config: GroupCameraConfig) -> list[str] | None:
    """ffmpeg's input args for the source; None = inherit the global ones (RTSP)."""
    kind = source_kind(config)
    if kind == "device":
        args = [
            "-f", "v4l2",
            "-input_format", CAPTURE_FOURCCS[config.capture_fourcc],
            "-video_size", f"{config.resolution.width}x{config.resolution.height}",
        ]  # fmt: skip
        if config.framerate != -1:
            args += ["-framerate", f"{config.framerate:g}"]
        return args
    if kind == "file":
        # -re: read at the file's own rate, like a live camera; -stream_loop -1: forever
        return ["-re", *(["-stream_loop", "-1"] if config.loop else []), "-fflags", "+genpts"]
    if kind == "url":
        # no RTSP-only options (the global defaults carry -rtsp_transport, which other inputs reject)
        return ["-fflags", "+genpts+discardcorrupt", "-use_wallclock_as_timestamps", "1"]
    return None


def detect_output_args(base: list[str], rotation: int) -> list[str]:
    """The global detect output args plus the rotation filter (joined to a user's -vf chain if any)."""
    turn = ROTATION_FILTERS.get(rotation)
    if turn is None:
        return list(base)
    args = list(base)
    for option in _VIDEO_FILTER_OPTIONS:
        if option in args[:-1]:
            at = args.index(option) + 1
            args[at] = f"{args[at]},{turn}"
            return args
    return [*args, "-vf", turn]


def to_camera_config(cfg: FrigateConfig, config: GroupCameraConfig, fps: int) -> CameraConfig:
    """A resolved camera named ``config.camera_name`` that detects at ``fps``."""
    width, height = detect_size(config)
    roles = ["detect", *(["clips"] if config.clips else []), *(["record"] if config.record else [])]
    camera_input: dict[str, Any] = {"path": source_path(config), "roles": roles}
    args = input_args(config)
    if args is not None:
        camera_input["input_args"] = args
    raw = {
        "ffmpeg": {
            "inputs": [camera_input],
            "output_args": {"detect": detect_output_args(cfg.ffmpeg.output_args["detect"], config.rotation)},
        },
        "width": width,
        "height": height,
        "fps": max(1, fps),
        "clips": {"enabled": config.clips},
        "snapshots": {"enabled": config.clips},
        "record": {"enabled": config.record},
    }
    return resolve_camera(cfg, config.camera_name, CameraConfig.model_validate(raw))
