"""Configuration: the pydantic models of the YAML file and the loader that validates and resolves it."""

from frigate_like.config.base import Polygon, StrictModel, parse_polygon
from frigate_like.config.camera import (
    CameraClipsConfig,
    CameraConfig,
    CameraMqttConfig,
    GlobalRecordConfig,
    RecordConfig,
    RetainConfig,
    RtmpConfig,
    SnapshotsConfig,
)
from frigate_like.config.ffmpeg import ROLES, CameraFfmpegConfig, CameraInput, FfmpegConfig, Role
from frigate_like.config.frigate import FrigateConfig
from frigate_like.config.loader import config_from_dict, format_problems, load_config
from frigate_like.config.objects import DetectConfig, FilterConfig, MotionConfig, ObjectsConfig, ZoneConfig
from frigate_like.config.public import to_public_dict
from frigate_like.config.resources import check_shm, preflight_problems, shm_bytes_needed
from frigate_like.config.sections import (
    ClipsConfig,
    DatabaseConfig,
    DetectorConfig,
    HttpConfig,
    LoggerConfig,
    ModelConfig,
    MqttConfig,
    PathsConfig,
    RestreamConfig,
    RtmpServerConfig,
)

__all__ = [
    "ROLES",
    "CameraClipsConfig",
    "CameraConfig",
    "CameraFfmpegConfig",
    "CameraInput",
    "CameraMqttConfig",
    "ClipsConfig",
    "DatabaseConfig",
    "DetectConfig",
    "DetectorConfig",
    "FfmpegConfig",
    "FilterConfig",
    "FrigateConfig",
    "GlobalRecordConfig",
    "HttpConfig",
    "LoggerConfig",
    "ModelConfig",
    "MotionConfig",
    "MqttConfig",
    "ObjectsConfig",
    "PathsConfig",
    "Polygon",
    "RecordConfig",
    "RetainConfig",
    "Role",
    "RtmpConfig",
    "RestreamConfig",
    "RtmpServerConfig",
    "SnapshotsConfig",
    "StrictModel",
    "ZoneConfig",
    "check_shm",
    "config_from_dict",
    "format_problems",
    "load_config",
    "parse_polygon",
    "preflight_problems",
    "shm_bytes_needed",
    "to_public_dict",
]
