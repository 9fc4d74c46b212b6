"""The daemon-wide sections: paths, http, mqtt, database, detectors, model, logger, clips, snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PositiveInt

from frigate_like.config.base import StrictModel
from frigate_like.config.camera import RetainConfig

Port = Annotated[int, Field(ge=1, le=65535)]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


LogLevel = Annotated[Literal["debug", "info", "warning", "error", "critical"], BeforeValidator(_lower)]


class PathsConfig(StrictModel):
    """NEW ``paths``: where media and the segment cache live (relative to the config file's folder)."""

    media_dir: Path = Path("/media/frigate")
    cache_dir: Path = Path("/tmp/cache")
    # extra folders manual recordings and playback may use
    recordings_roots: list[Path] = Field(default_factory=list)


class HttpConfig(StrictModel):
    """NEW ``http``: the API server; ``api_token`` guards mutating and shutdown endpoints."""

    host: str = "0.0.0.0"
    port: Port = 5000
    api_token: str | None = None


class MqttConfig(StrictModel):
    """``mqtt``: the broker; ``enabled: false`` (NEW) runs without one.

    TLS is on when ``tls_ca_certs`` is set (Frigate's key names); ``tls_client_cert`` and
    ``tls_client_key`` go together; ``tls_insecure`` skips the host name check.
    """

    enabled: bool = True
    host: str = Field(default="127.0.0.1", min_length=1)
    port: Port = 1883
    topic_prefix: str = Field(default="frigate", min_length=1)
    client_id: str = Field(default="frigate", min_length=1)
    user: str | None = None
    password: str | None = None
    stats_interval: PositiveInt = 60
    tls_ca_certs: Path | None = None
    tls_client_cert: Path | None = None
    tls_client_key: Path | None = None
    tls_insecure: bool = False


class DatabaseConfig(StrictModel):
    """``database``: a SQLite file (default ``<media_dir>/clips/frigate.db``) or a URL (NEW; wins)."""

    path: Path = Path("/media/frigate/clips/frigate.db")
    url: str | None = None


class DetectorConfig(StrictModel):
    """``detectors.<name>``: one detector process; written without ``type`` it is an edgetpu, as in Frigate 0.8."""

    type: Literal["cpu", "edgetpu"] = "edgetpu"
    device: str = "usb"  # edgetpu only: usb, usb:0, pci, ...
    num_threads: PositiveInt = 3  # cpu only


def _default_detectors() -> dict[str, DetectorConfig]:
    return {"cpu": DetectorConfig(type="cpu")}


# Where Frigate 0.8's container image put the model and its labelmap; ours does the same.
DEFAULT_MODEL_FILES: dict[str, Path] = {"cpu": Path("/cpu_model.tflite"), "edgetpu": Path("/edgetpu_model.tflite")}
DEFAULT_LABELMAP = Path("/labelmap.txt")


class ModelConfig(StrictModel):
    """``model``: the .tflite file (NEW ``path``), its labelmap (NEW ``labelmap_path``) and input size.

    Without ``path`` each detector loads Frigate 0.8's file for its type (``file_for``);
    ``labelmap`` is read from ``labelmap_path`` at load (entries given in the config,
    ``index: label``, override the file's).
    """

    path: Path | None = None
    labelmap_path: Path = DEFAULT_LABELMAP
    width: PositiveInt = 320
    height: PositiveInt = 320
    labelmap: dict[int, str] = Field(default_factory=dict)

    def file_for(self, detector_type: str) -> Path:
        """The model file a detector of ``detector_type`` loads: ``path``, else Frigate 0.8's default."""
        return self.path if self.path is not None else DEFAULT_MODEL_FILES[detector_type]


class RtmpServerConfig(StrictModel):
    """NEW ``rtmp``: the RTMP server cameras with the ``rtmp`` role publish to (Frigate 0.8 hard-coded
    ``rtmp://127.0.0.1/live``), and its nginx-rtmp stat page, read to tell which streams are live."""

    url: str = Field(default="rtmp://127.0.0.1:1935/live", pattern=r"^rtmps?://[^/]+/\S+$")
    stat_url: str | None = "http://127.0.0.1:1936/stat"


class LoggerConfig(StrictModel):
    """``logger``: the default level and per-module levels."""

    default: LogLevel = "info"
    logs: dict[str, LogLevel] = Field(default_factory=dict)


class ClipsConfig(StrictModel):
    """Global ``clips``: the longest clip and the retention every camera inherits."""

    max_seconds: PositiveInt = 300
    tmpfs_cache_size: str | None = None  # Frigate 0.8 key, accepted and ignored
    retain: RetainConfig = Field(default_factory=RetainConfig)


class GlobalSnapshotsConfig(StrictModel):
    """Global ``snapshots``: the retention every camera's snapshots inherit."""

    retain: RetainConfig = Field(default_factory=RetainConfig)
