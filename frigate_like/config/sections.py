"""The daemon-wide sections: paths, http, mqtt, database, detectors, model, logger, clips, snapshots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PositiveInt, model_validator

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
    # NEW: what the daemon writes besides media and the database (camera groups); unset: media_dir.
    # Nothing is ever written beside the config file, so /config may be mounted read-only.
    state_dir: Path | None = None
    # extra folders manual recordings and playback may use
    recordings_roots: list[Path] = Field(default_factory=list)


class HttpConfig(StrictModel):
    """NEW ``http``: the API server and who may use it (see ``api/access.py``).

    ``api_token`` guards state changes and the WebSocket (without it: loopback clients only);
    ``auth: required`` guards reads too. ``allowed_hosts`` replaces the machine's own names as
    the accepted ``Host`` names (IP addresses and loopback names always pass; ``"*"``: any).
    """

    host: str = "0.0.0.0"
    port: Port = 5000
    api_token: str | None = Field(default=None, min_length=1)
    auth: Literal["reads_open", "required"] = "reads_open"
    allowed_hosts: list[Annotated[str, Field(min_length=1)]] | None = None
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=1024**3)

    @model_validator(mode="after")
    def _required_needs_a_token(self) -> HttpConfig:
        if self.auth == "required" and not self.api_token:
            raise ValueError("auth: required needs api_token (the token reads must send)")
        return self


class CameraGroupsConfig(StrictModel):
    """NEW ``camera_groups``: what a camera group's ``source`` may open (see ``groups/sources.py``).

    Files only under ``file_roots`` (and ``paths.recordings_roots``); http(s) URLs only with
    ``http_sources: true`` (the daemon would fetch any URL a caller names).
    """

    file_roots: list[Path] = Field(default_factory=list)
    http_sources: bool = False


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


NodeId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


def _host_name() -> str:
    import socket

    return socket.gethostname() or "frigate-like"


class ClusterConfig(StrictModel):
    """NEW ``cluster``: this daemon is one node of several sharing one PostgreSQL database and one broker.

    ``url``: how other nodes and browsers reach this node's HTTP API (e.g. ``http://10.0.0.5:5000``).
    ``lease_seconds``: how long a camera's lease lasts without renewal (a dead node's cameras move
    after it). ``shared_media``: every node mounts the same media folder, so any node reads any file.
    """

    node_id: NodeId = Field(default_factory=_host_name)
    url: str | None = None
    lease_seconds: float = Field(default=10.0, ge=2.0, le=600.0)
    shared_media: bool = False


class DetectorConfig(StrictModel):
    """``detectors.<name>``: one detector process; written without ``type`` it is an edgetpu, as in Frigate 0.8
    (NEW types: openvino, onnx, auto)."""

    type: Literal["cpu", "edgetpu", "openvino", "onnx", "auto"] = "edgetpu"
    # edgetpu: usb (default), usb:0, pci...; openvino: CPU (default), GPU, AUTO...; onnx: cpu (default), cuda
    device: str | None = None
    # threads of one inference (cpu, openvino CPU, onnx cpu). Frigate 0.8 defaulted to 3; one thread is the
    # most detections per CPU-second (BENCHMARKS.md, issue 15), and several detectors use several cores.
    num_threads: PositiveInt = 1


def _default_detectors() -> dict[str, DetectorConfig]:
    from frigate_like.detect.sizing import default_detector_count

    return {f"cpu{i}" if i else "cpu": DetectorConfig(type="cpu") for i in range(default_detector_count())}


# Where a config without model.path / model.labelmap_path finds them: Frigate 0.8's container image
# put them in /, and ours does the same. FRIGATE_LIKE_MODEL_DIR names another folder (an install
# outside the image; the tests point it at a folder of their own), read whenever a default is needed.
MODEL_DIR_ENV = "FRIGATE_LIKE_MODEL_DIR"
DEFAULT_MODEL_NAMES = {"cpu": "cpu_model.tflite", "edgetpu": "edgetpu_model.tflite"}
DEFAULT_LABELMAP_NAME = "labelmap.txt"


def default_model_dir() -> Path:
    """``$FRIGATE_LIKE_MODEL_DIR``, else ``/`` (Frigate 0.8's image)."""
    return Path(os.environ.get(MODEL_DIR_ENV) or "/")


def default_model_file(detector_type: str) -> Path:
    """Frigate 0.8's model file for a detector type: the Edge TPU build for ``edgetpu``, else the CPU one."""
    return default_model_dir() / DEFAULT_MODEL_NAMES["edgetpu" if detector_type == "edgetpu" else "cpu"]


def default_labelmap() -> Path:
    return default_model_dir() / DEFAULT_LABELMAP_NAME


class ModelConfig(StrictModel):
    """``model``: the .tflite file (NEW ``path``), its labelmap (NEW ``labelmap_path``) and input size.

    Without ``path`` each detector loads Frigate 0.8's file for its type (``file_for``);
    ``labelmap`` is read from ``labelmap_path`` at load (entries given in the config,
    ``index: label``, override the file's).
    """

    path: Path | None = None
    labelmap_path: Path = Field(default_factory=default_labelmap)
    width: PositiveInt = 320
    height: PositiveInt = 320
    labelmap: dict[int, str] = Field(default_factory=dict)

    def file_for(self, detector_type: str) -> Path:
        """The model file a detector of ``detector_type`` loads: ``path``, else Frigate 0.8's default."""
        return self.path if self.path is not None else default_model_file(detector_type)


class RtmpServerConfig(StrictModel):
    """NEW ``rtmp``: the RTMP server cameras with the ``rtmp`` role publish to (Frigate 0.8 hard-coded
    ``rtmp://127.0.0.1/live``), and its nginx-rtmp stat page, read to tell which streams are live."""

    url: str = Field(default="rtmp://127.0.0.1:1935/live", pattern=r"^rtmps?://[^/]+/\S+$")
    stat_url: str | None = "http://127.0.0.1:1936/stat"


class RestreamConfig(StrictModel):
    """NEW ``restream``: an RTSP server relaying each camera's own stream (copied, never decoded) at
    ``rtsp://<http.host>:<rtsp_port>/<camera>``; the daemon's own readers use it too, so each network camera
    sees one session. With ``http.api_token`` set it asks for RTSP basic auth (user ``frigate``, the token as
    password). ``enabled: false``, a port already in use or a host without GStreamer's RTSP server: every
    reader opens the camera itself, as before."""

    enabled: bool = True
    rtsp_port: Port = 8554


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
