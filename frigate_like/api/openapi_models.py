"""The answers of the HTTP API as pydantic models, for the OpenAPI document only.

Views build their JSON from the services' dicts (the hot paths stay as cheap as they were); these models say
what that JSON holds, and ``tests/integration``'s schemathesis runs check the answers against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel


class ApiError(BaseModel):
    """Every error: JSON ``{"detail": ...}``."""

    detail: str


# -- events ----------------------------------------------------------------------------------------
class Event(BaseModel):
    """One event."""

    id: str = Field(examples=["1607123955.475377-mxklsc"])
    label: str
    camera: str
    start_time: float
    end_time: float | None = Field(description="null while the event is in progress")
    top_score: float
    false_positive: bool
    zones: list[str]
    thumbnail: str | None = Field(None, description="base64 JPEG (include_thumbnails=1)")
    has_clip: bool
    has_snapshot: bool
    clip_gaps: list[tuple[float, float]] = Field(
        description="[from, to] unix seconds of the clip's time range with no footage (a camera or its ffmpeg was "
        "down, a disk was full); empty when the clip is whole or there is none"
    )


class EventList(RootModel[list[Event]]):
    """Events, newest first."""


class SummaryRow(BaseModel):
    camera: str
    label: str
    day: str = Field(description="local day of start_time, YYYY-MM-DD", examples=["2021-01-31"])
    zones: list[str]
    count: int = Field(ge=1)
    has_clip: bool
    has_snapshot: bool


class Summary(RootModel[list[SummaryRow]]):
    """Grouped counts."""


# -- /api/stats ------------------------------------------------------------------------------------
class CameraStats(BaseModel):
    camera_fps: float = Field(description="frames per second read from the camera")
    detection_fps: float = Field(description="detector runs per second for this camera")
    capture_pid: int | None = Field(description="the detect ffmpeg (null: none runs)")
    pid: int | None = Field(description="the camera's process")
    process_fps: float = Field(description="frames per second processed")
    skipped_fps: float = Field(description="frames per second dropped: processing fell behind")
    reconnects_last_hour: int = Field(ge=0)
    detection_enabled: bool
    paused: bool = Field(False, description="NEW: paused (camera groups): no frames by design")
    storage_full: bool = Field(False, description="its clips/record ffmpeg stopped on a full disk")
    stalled: bool = Field(False, description="NEW: no frame for 5 s (not paused): the source sends nothing")


class DetectorStats(BaseModel):
    detection_start: float = Field(description="epoch s while an inference runs, else 0")
    inference_speed: float = Field(description="ms, moving average")
    pid: int | None
    runtime: str | None = Field(None, description="e.g. cpu, openvino:GPU")
    runtime_reason: str | None = Field(None, description="why (type: auto)")


class Storage(BaseModel):
    total: float = Field(description="MB")
    used: float = Field(description="MB")
    free: float = Field(description="MB")
    mnt_type: str = Field(description="file-system type from /proc/mounts")
    mount_type: str = Field(description="the same, under Frigate 0.8's name")


class Health(BaseModel):
    ok: bool = Field(description="doing its work now")
    error: str | None = Field(description="why not, while not ok")
    last_error: str | None
    last_error_time: float | None = Field(description="epoch s")
    restarts: int = Field(ge=0)
    backlog: int | None = Field(description="work queued while failing")
    failing_since: float | None = Field(None, description="epoch s it stopped being ok")


class Service(BaseModel):
    uptime: int = Field(description="seconds")
    version: str
    storage: dict[str, Storage]
    health: dict[str, Health] = Field(
        default_factory=dict, description="per background subsystem (events writer, recordings, detectors...)"
    )


class Stats(BaseModel):
    """One entry per camera (CameraStats) plus the totals below."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, CameraStats]  # the cameras, by name

    detection_fps: float = Field(description="sum over the cameras")
    detectors: dict[str, DetectorStats]
    service: Service


class Node(BaseModel):
    id: str = Field(description="cluster.node_id")
    url: str = Field(description="where other nodes and browsers reach its API")
    alive: bool = Field(description="fresh heartbeat and not stopped")
    cameras: list[str] = Field(description="the cameras it runs")


class Cluster(BaseModel):
    """Every node that joined, alive or not."""

    nodes: list[Node]


class AnyObject(RootModel[dict[str, Any]]):
    """A JSON object."""


class Status(BaseModel):
    """Done: logged in or out."""

    status: str


class ShutdownStarted(BaseModel):
    """Shutdown initiated."""

    status: str
    message: str


class Done(RootModel[bool]):
    """true"""


class HealthCheck(RootModel[str]):
    """The daemon is alive."""

    model_config = ConfigDict(json_schema_extra={"examples": ["Hello👋"]})


# -- recordings ------------------------------------------------------------------------------------
class Span(BaseModel):
    start: float
    end: float
    duration: float
    ongoing: bool = False


class RecordingHour(BaseModel):
    hour: str
    delay: float = 0
    start: float
    end: float
    duration: float
    segments: int
    events: list[dict[str, Any]]
    gaps: list[Span]


class RecordingDay(BaseModel):
    date: str = Field(examples=["2026-11-21"])
    events: int
    duration: float
    recordings: list[RecordingHour]


class RecordingDays(RootModel[list[RecordingDay]]):
    """Newest day first."""


class AutoindexEntry(BaseModel):
    """nginx's ``autoindex_format json`` entry."""

    name: str
    type: Literal["directory", "file", "other"]
    mtime: str = Field(examples=["Tue, 10 Aug 2021 14:03:00 GMT"])
    size: int = Field(0, description="files only")


class Autoindex(RootModel[list[AutoindexEntry]]):
    """nginx autoindex_format json: folders first."""


# -- SkellyCam: devices, groups, playback ----------------------------------------------------------
class Device(BaseModel):
    index: int
    name: str
    vendor_id: int | None
    product_id: int | None
    path: str
    backend_id: int
    backend_name: str


class Devices(BaseModel):
    """Capture-capable devices."""

    cameras: list[Device]


class Microphones(BaseModel):
    """ALSA capture devices."""

    model_config = ConfigDict(extra="allow")

    microphones: dict[str, Any] = Field(description="device index → name")


class Group(BaseModel):
    """The group as applied (sources masked)."""

    model_config = ConfigDict(extra="allow")

    group_id: Any
    camera_configs: Any


class RecordingFolder(BaseModel):
    name: str
    path: str
    video_count: int
    total_size_bytes: int
    created_timestamp: str | None
    total_frames: int | None
    duration_seconds: float | None
    fps: float | None


class RecordingFolders(RootModel[list[RecordingFolder]]):
    """One per folder."""


class LoadedVideo(BaseModel):
    video_id: str
    filename: str
    size_bytes: int
    stream_url: str


class LoadedRecording(BaseModel):
    """The videos found."""

    recording_path: str
    videos: list[LoadedVideo]


class Timestamps(BaseModel):
    """Frame timestamps by video id."""

    model_config = ConfigDict(extra="allow")

    timestamps: Any = Field(description="by video id")


# -- switches --------------------------------------------------------------------------------------
class SwitchStates(BaseModel):
    """The camera's switches now."""

    # one field per switch of comms/topics.py (tests/test_openapi.py checks)
    detect: bool
    clips: bool
    snapshots: bool


class AllSwitchStates(RootModel[dict[str, SwitchStates]]):
    """Per camera."""
