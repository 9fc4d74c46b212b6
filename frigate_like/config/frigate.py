"""The root model: every section, and the resolution that merges globals into each camera."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self

from pydantic import Field, PrivateAttr, ValidationInfo, model_validator

from frigate_like.config.base import StrictModel
from frigate_like.config.camera import CameraConfig, GlobalRecordConfig
from frigate_like.config.ffmpeg import FfmpegConfig
from frigate_like.config.objects import DetectConfig, FilterConfig, MotionConfig, ObjectsConfig
from frigate_like.config.sections import (
    CameraGroupsConfig,
    ClipsConfig,
    ClusterConfig,
    DatabaseConfig,
    DetectorConfig,
    GlobalSnapshotsConfig,
    HttpConfig,
    LoggerConfig,
    ModelConfig,
    MqttConfig,
    PathsConfig,
    RestreamConfig,
    RtmpServerConfig,
    _default_detectors,
)

_MQTT_FILES = ("tls_ca_certs", "tls_client_cert", "tls_client_key")  # resolved like every other path


class FrigateConfig(StrictModel):
    """The whole configuration file.

    Validating it (``model_validate(data, context={"base_dir": folder})``) resolves it:
    relative paths against ``base_dir``, the database default below ``paths.media_dir``,
    and every camera's sections merged over the global ones. Use
    ``frigate_like.config.load_config`` / ``config_from_dict``, which also read the
    labelmap and run the cross-field checks.
    """

    paths: PathsConfig = Field(default_factory=PathsConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    camera_groups: CameraGroupsConfig = Field(default_factory=CameraGroupsConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    detectors: dict[str, DetectorConfig] = Field(default_factory=_default_detectors, min_length=1)
    model: ModelConfig = Field(default_factory=ModelConfig)
    logger: LoggerConfig = Field(default_factory=LoggerConfig)
    environment_vars: dict[str, str] = Field(default_factory=dict)  # the app applies them, not the loader
    clips: ClipsConfig = Field(default_factory=ClipsConfig)
    snapshots: GlobalSnapshotsConfig = Field(default_factory=GlobalSnapshotsConfig)
    record: GlobalRecordConfig = Field(default_factory=GlobalRecordConfig)
    ffmpeg: FfmpegConfig = Field(default_factory=FfmpegConfig)
    objects: ObjectsConfig = Field(default_factory=ObjectsConfig)
    motion: MotionConfig = Field(default_factory=MotionConfig)
    detect: DetectConfig = Field(default_factory=DetectConfig)
    rtmp: RtmpServerConfig = Field(default_factory=RtmpServerConfig)
    restream: RestreamConfig = Field(default_factory=RestreamConfig)
    cluster: ClusterConfig | None = None  # NEW: absent = a single node (the cluster of one)
    # none is valid: camera groups may add every camera at run time
    cameras: dict[str, CameraConfig] = Field(default_factory=dict)

    # what loads but will not do what it says (clips on without a clips input...): reported, not refused
    _warnings: list[str] = PrivateAttr(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """What the loader found that loads but will not work as written, each ``key.path: reason``."""
        return list(self._warnings)

    def set_warnings(self, warnings: list[str]) -> None:
        self._warnings = list(warnings)

    @model_validator(mode="after")
    def _resolve(self, info: ValidationInfo) -> Self:
        base_dir = (info.context or {}).get("base_dir")
        folder = Path(base_dir) if base_dir is not None else None
        self._resolve_paths(folder)
        for name, cam in self.cameras.items():
            resolved = resolve_camera(self, name, cam)
            self.cameras[name] = _local_inputs(resolved, folder) if folder is not None else resolved
        return self

    def _resolve_paths(self, folder: Path | None) -> None:
        def absolute(path: Path) -> Path:
            return _absolute(path, folder)

        self.paths = self.paths.model_copy(
            update={
                "media_dir": absolute(self.paths.media_dir),
                "cache_dir": absolute(self.paths.cache_dir),
                "state_dir": absolute(self.paths.state_dir or self.paths.media_dir),
                "recordings_roots": [absolute(p) for p in self.paths.recordings_roots],
            }
        )
        self.camera_groups.file_roots = [absolute(p) for p in self.camera_groups.file_roots]
        db_path = (
            absolute(self.database.path)
            if "path" in self.database.model_fields_set
            else self.paths.media_dir / "clips" / "frigate.db"
        )
        self.database = self.database.model_copy(update={"path": db_path})
        self.mqtt = self.mqtt.model_copy(
            update={name: absolute(path) for name in _MQTT_FILES if (path := getattr(self.mqtt, name)) is not None}
        )
        self.model = self.model.model_copy(
            update={
                name: absolute(getattr(self.model, name))
                for name in ("path", "labelmap_path")
                if name in self.model.model_fields_set
            }
        )


def _absolute(path: Path, folder: Path | None) -> Path:
    """``path`` with ``~`` expanded and, when relative, joined to ``folder`` (normalised, links kept)."""
    path = path.expanduser()
    if folder is None or path.is_absolute():
        return path
    return Path(os.path.normpath(folder / path))


def _local_inputs(cam: CameraConfig, folder: Path) -> CameraConfig:
    """Input paths that are relative file names (no ``scheme:``) resolve against the config's folder."""
    inputs = [
        inp if ":" in inp.path else inp.model_copy(update={"path": str(_absolute(Path(inp.path), folder))})
        for inp in cam.ffmpeg.inputs
    ]
    return cam.model_copy(update={"ffmpeg": cam.ffmpeg.model_copy(update={"inputs": inputs})})


def _merge_filters(glob: ObjectsConfig, cam: ObjectsConfig, track: list[str]) -> dict[str, FilterConfig]:
    """One filter for every tracked label (and every label with a filter): camera fields over global ones."""
    labels = list(dict.fromkeys([*track, *glob.filters, *cam.filters]))
    merged: dict[str, FilterConfig] = {}
    for label in labels:
        result = FilterConfig()
        for layer in (glob.filters.get(label), cam.filters.get(label)):
            if layer is not None:
                result = layer.merged_over(result)
        merged[label] = result
    return merged


def resolve_camera(cfg: FrigateConfig, name: str, cam: CameraConfig) -> CameraConfig:
    """``cam`` with the global sections merged in, so no component needs the global ones."""
    objects = cam.objects.merged_over(cfg.objects)
    objects = objects.model_copy(update={"filters": _merge_filters(cfg.objects, cam.objects, objects.track)})

    motion = cam.motion.merged_over(cfg.motion)
    if "frame_height" not in cam.motion.model_fields_set | cfg.motion.model_fields_set:
        motion = motion.model_copy(update={"frame_height": max(1, cam.height // 6)})

    detect = cam.detect.merged_over(cfg.detect)
    if "max_disappeared" not in cam.detect.model_fields_set | cfg.detect.model_fields_set:
        detect = detect.model_copy(update={"max_disappeared": 5 * cam.fps})

    clips = cam.clips.model_copy(
        update={
            "retain": cam.clips.retain.merged_over(cfg.clips.retain),
            "max_seconds": cam.clips.max_seconds
            if "max_seconds" in cam.clips.model_fields_set
            else cfg.clips.max_seconds,
        }
    )
    snapshots = cam.snapshots.model_copy(
        update={"retain": cam.snapshots.retain.merged_over(cfg.snapshots.retain)}
    )
    return cam.model_copy(
        update={
            "name": name,
            "ffmpeg": cam.ffmpeg.resolved(cfg.ffmpeg),
            "objects": objects,
            "motion": motion,
            "detect": detect,
            "clips": clips,
            "record": cam.record.merged_over(cfg.record.camera_defaults()),
            "snapshots": snapshots,
            "rtmp": cam.rtmp.model_copy(update={"url": cam.rtmp.url or f"{cfg.rtmp.url.rstrip('/')}/{name}"}),
        }
    )
