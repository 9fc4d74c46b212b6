"""OpenAPI paths of the recording, manual-recording and playback API (SkellyCam's shapes, NVR recordings)."""

from __future__ import annotations

from typing import Any

from frigate_like.api.openapi_parts import Schema, binary, errors, get, json_response, path, post, ref

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

SKELLYCAM_SCHEMAS: dict[str, Schema] = {
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
    return {
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
            {**ranged, **errors(400, 404, 416, 503)},
            [camera, _epoch("start", 1700000000), _epoch("end", 1700000060)],
            tag="recordings",
        ),
        "/skellycam/camera/group/all/record/start": post(
            "Start a manual recording of every active camera",
            {"200": json_response({"type": "boolean"}, "true"), **errors(400, 401, 409, 503)},
            ref("RecordStart"),
            tag="recording",
        ),
        "/skellycam/camera/group/all/record/stop": get(
            "Stop the manual recording: files finished, timestamps and statistics written",
            {"200": json_response({"type": "boolean"}, "true"), **errors(401, 409, 503)},
            tag="recording",
        ),
        "/skellycam/playback/recordings": get(
            "Recording folders available for playback",
            {"200": json_response({"type": "array", "items": ref("RecordingFolder")}, "one per folder"), **errors(503)},
            tag="playback",
        ),
        "/skellycam/playback/load": post(
            "Load a recording folder for playback",
            {"200": json_response(ref("LoadedRecording"), "the videos found"), **errors(400, 404, 503)},
            {
                "type": "object",
                "required": ["recording_path"],
                "properties": {"recording_path": {"type": "string", "minLength": 1}},
            },
            tag="playback",
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
