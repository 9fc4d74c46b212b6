"""OpenAPI paths of the recording, manual-recording and playback API (SkellyCam's shapes, NVR recordings)."""

from __future__ import annotations

from typing import Any

from frigate_like.api.openapi_parts import (
    Schema,
    binary,
    errors,
    get,
    json_response,
    operation,
    path,
    post,
    query,
    ref,
    state_change,
)

NUMBER: Schema = {"type": "number"}
NULLABLE_NUMBER: Schema = {"type": "number", "nullable": True}

SPAN: Schema = {
    "type": "object",
    "required": ["start", "end", "duration"],
    "properties": {"start": NUMBER, "end": NUMBER, "duration": NUMBER, "ongoing": {"type": "boolean"}},
}
HOUR: Schema = {
    "type": "object",
    "required": ["hour", "start", "end", "duration", "segments", "events", "gaps"],
    "properties": {
        "hour": {"type": "string"},
        "delay": NUMBER,
        "start": NUMBER,
        "end": NUMBER,
        "duration": NUMBER,
        "segments": {"type": "integer"},
        "events": {"type": "array", "items": {"type": "object"}},
        "gaps": {"type": "array", "items": ref("Span")},
    },
}
DAY: Schema = {
    "type": "object",
    "required": ["date", "events", "duration", "recordings"],
    "properties": {
        "date": {"type": "string", "example": "2026-11-21"},
        "events": {"type": "integer"},
        "duration": NUMBER,
        "recordings": {"type": "array", "items": ref("RecordingHour")},
    },
}
RECORDING_FOLDER: Schema = {
    "type": "object",
    "required": [
        "name",
        "path",
        "video_count",
        "total_size_bytes",
        "created_timestamp",
        "total_frames",
        "duration_seconds",
        "fps",
    ],
    "properties": {
        "name": {"type": "string"},
        "path": {"type": "string"},
        "video_count": {"type": "integer"},
        "total_size_bytes": {"type": "integer"},
        "created_timestamp": {"type": "string", "nullable": True},
        "total_frames": {"type": "integer", "nullable": True},
        "duration_seconds": NULLABLE_NUMBER,
        "fps": NULLABLE_NUMBER,
    },
}
LOADED: Schema = {
    "type": "object",
    "required": ["recording_path", "videos"],
    "properties": {
        "recording_path": {"type": "string"},
        "videos": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["video_id", "filename", "size_bytes", "stream_url"],
                "properties": {
                    "video_id": {"type": "string"},
                    "filename": {"type": "string"},
                    "size_bytes": {"type": "integer"},
                    "stream_url": {"type": "string"},
                },
            },
        },
    },
}
RECORD_START: Schema = {
    "type": "object",
    "properties": {
        "recording_name": {"type": "string", "example": "2024-09-15T14_30_00"},
        "recording_directory": {"type": "string", "example": "~/skellycam_data/recordings"},
        "mic_device_index": {"type": "integer", "example": -1},
    },
}

DEVICE: Schema = {
    "type": "object",
    "required": ["index", "name", "vendor_id", "product_id", "path", "backend_id", "backend_name"],
    "properties": {
        "index": {"type": "integer"},
        "name": {"type": "string"},
        "vendor_id": {"type": "integer", "nullable": True},
        "product_id": {"type": "integer", "nullable": True},
        "path": {"type": "string"},
        "backend_id": {"type": "integer"},
        "backend_name": {"type": "string"},
    },
}
GROUP_APPLY: Schema = {
    "type": "object",
    "required": ["camera_configs"],
    "properties": {"camera_configs": {"type": "object", "description": "camera configs by camera id (the seed's)"}},
}

SKELLYCAM_SCHEMAS: dict[str, Schema] = {
    "Device": DEVICE,
    "GroupApply": GROUP_APPLY,
    "Span": SPAN,
    "RecordingHour": HOUR,
    "RecordingDay": DAY,
    "RecordingFolder": RECORDING_FOLDER,
    "LoadedRecording": LOADED,
    "RecordStart": RECORD_START,
}


def _epoch(name: str, example: int) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": NUMBER,
        "description": "epoch seconds",
        "example": example,
    }


def skellycam_paths(example_camera: str | None) -> dict[str, Any]:
    """NVR recordings under /api, manual recording and playback under /skellycam."""
    camera = path("camera", "a camera of the config", example_camera)
    video_id = path("video_id", "a video of the loaded recording")
    mp4 = binary("video/mp4", "the video")
    ranged = {"200": mp4, "206": binary("video/mp4", "the requested byte range")}
    true = json_response({"type": "boolean"}, "true")
    return {
        "/health": get("Health check", {"200": json_response({"type": "string", "example": "Hello👋"}, "alive")}),
        "/shutdown": state_change(
            get(
                "Clean shutdown (a state change: the token or loopback, JSON content type)",
                {
                    "200": json_response({"type": "object", "required": ["status", "message"]}, "shutdown initiated"),
                    **errors(401),
                },
            )
        ),
        "/skellycam/camera/detect": operation(
            "post",
            "Local capture devices (V4L2)",
            {
                "200": json_response(
                    {
                        "type": "object",
                        "required": ["cameras"],
                        "properties": {"cameras": {"type": "array", "items": ref("Device")}},
                    },
                    "capture-capable devices",
                ),
                **errors(400),
            },
            [
                query("filter_virtual", {"type": "boolean", "default": True}, "leave out virtual devices"),
                query("backend_id", {"type": "integer", "enum": [0, 200]}, "OpenCV backend id: 200 (V4L2)"),
            ],
            tag="cameras",
        ),
        "/skellycam/camera/microphone/detect": get(
            "ALSA capture devices",
            {"200": json_response({"type": "object", "required": ["microphones"]}, "device index → name")},
            tag="cameras",
        ),
        "/skellycam/camera/group/apply": state_change(
            post(
                "Create or update a camera group",
                {
                    "200": json_response({"type": "object", "required": ["group_id", "camera_configs"]}, "the group"),
                    **errors(400, 401, 409, 503),
                },
                ref("GroupApply"),
                tag="cameras",
            )
        ),
        "/skellycam/camera/group/all/pause_unpause": state_change(
            get("Toggle capture of every group camera", {"200": true, **errors(401, 503)}, tag="cameras")
        ),
        "/skellycam/camera/group/close/all": state_change(
            operation("delete", "Stop and release every group camera", {"200": true, **errors(401, 503)}, tag="cameras")
        ),
        "/api/{camera}/recordings": get(
            "24/7 recordings of a camera by day and hour, with events and gaps",
            {
                "200": json_response({"type": "array", "items": ref("RecordingDay")}, "newest day first"),
                **errors(400, 404, 503),
            },
            [camera],
            tag="recordings",
        ),
        "/api/{camera}/recordings/{start}/{end}.mp4": get(
            "The recorded footage between two epoch times, joined without re-encoding",
            {**ranged, **errors(400, 404, 416, 503, 502)},
            [camera, _epoch("start", 1700000000), _epoch("end", 1700000060)],
            tag="recordings",
        ),
        "/skellycam/camera/group/all/record/start": state_change(
            post(
                "Start a manual recording of every active camera",
                {"200": json_response({"type": "boolean"}, "true"), **errors(400, 401, 409, 503)},
                ref("RecordStart"),
                tag="recording",
            )
        ),
        "/skellycam/camera/group/all/record/stop": state_change(
            get(
                "Stop the manual recording: files finished, timestamps and statistics written",
                {"200": json_response({"type": "boolean"}, "true"), **errors(401, 409, 503)},
                tag="recording",
            )
        ),
        "/skellycam/playback/recordings": get(
            "Recording folders available for playback",
            {"200": json_response({"type": "array", "items": ref("RecordingFolder")}, "one per folder"), **errors(503)},
            tag="playback",
        ),
        "/skellycam/playback/load": state_change(
            post(
                "Load a recording folder for playback",
                {"200": json_response(ref("LoadedRecording"), "the videos found"), **errors(400, 404, 503)},
                {
                    "type": "object",
                    "required": ["recording_path"],
                    "properties": {"recording_path": {"type": "string", "minLength": 1}},
                },
                tag="playback",
            )
        ),
        "/skellycam/playback/video/{video_id}": get(
            "Stream a loaded video (range requests for seeking)",
            {**ranged, **errors(404, 416, 503)},
            [video_id],
            tag="playback",
        ),
        "/skellycam/playback/timestamps": get(
            "Frame timestamps (ms) of every loaded video that has a timestamp CSV",
            {"200": json_response({"type": "object", "required": ["timestamps"]}, "by video id"), **errors(409, 503)},
            tag="playback",
        ),
        "/skellycam/playback/timestamps/{video_id}": get(
            "Metadata of one loaded video's timestamp CSV",
            {
                "200": json_response({"type": "object"}, "path, columns, frame count, first/last, fps"),
                **errors(404, 409, 503),
            },
            [video_id],
            tag="playback",
        ),
    }
