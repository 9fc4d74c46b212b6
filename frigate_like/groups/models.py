"""The camera-group request (``camera_configs`` of the camera-management API): bad values → 400 naming the field.

Field names and defaults follow the API contract; keys it does not know are ignored so
newer clients keep working. Our extensions: ``source`` (a URL or a file path instead of
the device ``camera_index``), ``loop`` (play a file forever) and ``clips`` / ``record``
(the NVR roles of the camera besides ``detect``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from frigate_like.config.problems import validation_problems
from frigate_like.errors import BadRequest

# fourcc → ffmpeg's v4l2 -input_format name
CAPTURE_FOURCCS: dict[str, str] = {
    "MJPG": "mjpeg",
    "YUYV": "yuyv422",
    "YUY2": "yuyv422",
    "H264": "h264",
    "NV12": "nv12",
    "YU12": "yuv420p",
    "I420": "yuv420p",
    "GREY": "gray",
    "RGB3": "rgb24",
    "BGR3": "bgr24",
}
# fourcc → ffmpeg encoder, for recordings that re-encode (a ``-c copy`` recording ignores it)
WRITER_FOURCCS: dict[str, str] = {
    "X264": "libx264",
    "H264": "libx264",
    "AVC1": "libx264",
    "HEVC": "libx265",
    "MP4V": "mpeg4",
    "XVID": "mpeg4",
    "MJPG": "mjpeg",
}
_ID = re.compile(r"^[\w.-]{1,32}$")
_NAME = re.compile(r"^[\w-]{1,64}$")  # becomes an MQTT topic level and a folder name


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)


class Resolution(_Model):
    """Frame size asked of the camera (before rotation); yuv420p needs even sides."""

    width: Annotated[int, Field(gt=0, le=7680)] = 1280
    height: Annotated[int, Field(gt=0, le=4320)] = 720

    @field_validator("width", "height")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError(f"must be even (yuv420p frames), got {value}")
        return value


def _fourcc(value: Any, known: dict[str, str]) -> Any:
    if not isinstance(value, str):
        return value
    code = value.strip().upper()
    if code not in known:
        raise ValueError(f"unknown fourcc {value!r}; known: {', '.join(sorted(known))}")
    return code


class GroupCameraConfig(_Model):
    """One camera of a group, keyed by its ``camera_id``."""

    camera_id: str = ""
    camera_index: Annotated[int, Field(ge=0, le=255)] = 0
    camera_name: str = ""
    use_this_camera: bool = True
    resolution: Resolution = Field(default_factory=Resolution)
    framerate: float = -1.0  # -1: the device's (or file's) own rate
    color_channels: Literal[1, 3] = 3
    pixel_format: Literal["RGB", "BGR", "GRAY"] = "RGB"
    exposure_mode: Literal["MANUAL", "AUTO", "RECOMMEND"] = "AUTO"
    exposure: float = -7.0  # MANUAL only; negative = OpenCV's log2 seconds
    rotation: Literal[-1, 90, 180, 270] = -1
    capture_fourcc: str = "MJPG"
    writer_fourcc: str = "X264"
    # our extensions
    source: str | None = None
    loop: bool = False
    clips: bool = False
    record: bool = False

    @field_validator("framerate")
    @classmethod
    def _framerate(cls, value: float) -> float:
        if value != -1 and not 0 < value <= 240:
            raise ValueError(f"must be -1 (device default) or between 0 and 240, got {value:g}")
        return value

    @field_validator("capture_fourcc", mode="before")
    @classmethod
    def _capture_fourcc(cls, value: Any) -> Any:
        return _fourcc(value, CAPTURE_FOURCCS)

    @field_validator("writer_fourcc", mode="before")
    @classmethod
    def _writer_fourcc(cls, value: Any) -> Any:
        return _fourcc(value, WRITER_FOURCCS)

    @field_validator("camera_name")
    @classmethod
    def _camera_name(cls, value: str) -> str:
        if value and not _NAME.match(value):
            raise ValueError(f"use 1-64 letters, digits, '_' or '-', got {value!r}")
        return value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty (leave it out to use camera_index)")
        return value.strip() if value is not None else None

    @property
    def is_device(self) -> bool:
        return self.source is None

    @property
    def device_path(self) -> str:
        return f"/dev/video{self.camera_index}"


class ApplyRequest(_Model):
    """``POST /skellycam/camera/group/apply``: the wanted state of one group, camera configs by id."""

    camera_configs: Annotated[dict[str, GroupCameraConfig], Field(min_length=1, max_length=64)]

    @model_validator(mode="after")
    def _ids(self) -> ApplyRequest:
        for key, config in self.camera_configs.items():
            if not _ID.match(key):
                raise ValueError(f"camera_configs: camera id {key!r} must be 1-32 letters, digits, '_', '.' or '-'")
            if config.camera_id and config.camera_id != key:
                raise ValueError(f"camera_configs.{key}.camera_id: {config.camera_id!r} differs from its key {key!r}")
            config.camera_id = key
            if not config.camera_name:
                config.camera_name = f"Camera-{key}".replace(".", "_")
        return self


def parse_apply_request(body: Any) -> ApplyRequest:
    """The validated request; ``BadRequest`` listing each bad field as ``key.path: message``."""
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object with camera_configs")
    try:
        return ApplyRequest.model_validate(body)
    except ValidationError as exc:
        raise BadRequest("; ".join(validation_problems(exc, ApplyRequest))) from None
