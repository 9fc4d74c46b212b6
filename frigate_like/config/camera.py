"""A camera's sections (clips, record, snapshots, mqtt, rtmp) and the camera model that resolves them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveInt

from frigate_like.config.base import StrictModel
from frigate_like.config.ffmpeg import CameraFfmpegConfig
from frigate_like.config.objects import DetectConfig, MotionConfig, ObjectsConfig, ZoneConfig


class RetainConfig(StrictModel):
    """How many days to keep clips or snapshots: a default and per-label overrides."""

    default: NonNegativeFloat = 10
    objects: dict[str, NonNegativeFloat] = Field(default_factory=dict)

    def merged_over(self, base: RetainConfig) -> RetainConfig:
        """This camera's retention over the global one; per-label days merge label by label."""
        default = self.default if "default" in self.model_fields_set else base.default
        return RetainConfig(default=default, objects={**base.objects, **self.objects})


class CameraClipsConfig(StrictModel):
    """``cameras.<name>.clips``: event clips cut from the cached ``clips`` segments.

    ``objects`` ``None`` means every tracked label. ``max_seconds`` comes from the global
    ``clips.max_seconds`` unless the camera sets it.
    """

    enabled: bool = False
    pre_capture: NonNegativeInt = 5
    post_capture: NonNegativeInt = 5
    objects: list[str] | None = None
    required_zones: list[str] = Field(default_factory=list)
    retain: RetainConfig = Field(default_factory=RetainConfig)
    max_seconds: PositiveInt = 300


class RecordConfig(StrictModel):
    """``record`` (global and per camera): keep every ``record`` segment for ``retain_days``."""

    enabled: bool = False
    retain_days: NonNegativeInt = 30


class GlobalRecordConfig(RecordConfig):
    """Global ``record``: the camera defaults plus NEW ``min_free_mb``, the free-space floor of the
    media folder: below it the oldest recordings are deleted first, whatever their camera."""

    min_free_mb: NonNegativeInt = 1024

    def camera_defaults(self) -> RecordConfig:
        """The part every camera inherits (``min_free_mb`` is daemon-wide)."""
        return RecordConfig(enabled=self.enabled, retain_days=self.retain_days)


class RtmpConfig(StrictModel):
    """``cameras.<name>.rtmp``: re-stream the ``rtmp`` input (``-c copy``) to ``url`` (NEW; default
    ``<rtmp.url>/<camera>``, where Frigate 0.8 published to ``rtmp://127.0.0.1/live/<camera>``)."""

    enabled: bool = True
    url: str | None = Field(default=None, pattern=r"^rtmps?://[^/]+/\S+$")


class SnapshotsConfig(StrictModel):
    """``cameras.<name>.snapshots``: a jpg of each event's best frame in ``clips/``."""

    enabled: bool = False
    timestamp: bool = False
    bounding_box: bool = False
    crop: bool = False
    height: PositiveInt | None = None
    required_zones: list[str] = Field(default_factory=list)
    retain: RetainConfig = Field(default_factory=RetainConfig)


class CameraMqttConfig(StrictModel):
    """``cameras.<name>.mqtt``: the best-frame jpg published to ``<prefix>/<camera>/<label>/snapshot``."""

    enabled: bool = True
    timestamp: bool = True
    bounding_box: bool = True
    crop: bool = True
    height: PositiveInt = 270
    required_zones: list[str] = Field(default_factory=list)


class CameraConfig(StrictModel):
    """``cameras.<name>``: one camera; after loading its sections hold resolved values.

    ``name`` is set from the key under ``cameras``. ``width``, ``height`` and ``fps`` are
    those of the detect stream (ffmpeg scales and drops frames to match).
    """

    name: str = ""
    ffmpeg: CameraFfmpegConfig
    width: PositiveInt
    height: PositiveInt
    fps: PositiveInt = 5
    best_image_timeout: PositiveInt = 60
    zones: dict[str, ZoneConfig] = Field(default_factory=dict)
    motion: MotionConfig = Field(default_factory=MotionConfig)
    objects: ObjectsConfig = Field(default_factory=ObjectsConfig)
    detect: DetectConfig = Field(default_factory=DetectConfig)
    clips: CameraClipsConfig = Field(default_factory=CameraClipsConfig)
    record: RecordConfig = Field(default_factory=RecordConfig)
    rtmp: RtmpConfig = Field(default_factory=RtmpConfig)
    snapshots: SnapshotsConfig = Field(default_factory=SnapshotsConfig)
    mqtt: CameraMqttConfig = Field(default_factory=CameraMqttConfig)
    # NEW, cluster mode: the nodes that may run this camera (e.g. the one box a USB camera is plugged
    # into); unset: any node
    nodes: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = None

    @property
    def frame_shape_yuv(self) -> tuple[int, int]:
        """(rows, columns) of one yuv420p detect frame: the Y plane then the U and V planes below it."""
        return (self.height * 3 // 2, self.width)

    @property
    def frame_size(self) -> int:
        """Bytes of one yuv420p detect frame."""
        return self.width * self.height * 3 // 2

    def input_for(self, role: str) -> int | None:
        """Index of the input carrying ``role``, or ``None``."""
        return next((i for i, inp in enumerate(self.ffmpeg.inputs) if role in inp.roles), None)
