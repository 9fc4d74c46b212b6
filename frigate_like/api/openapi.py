"""The OpenAPI 3 document of the HTTP API, written as data next to the views it describes.

Keep it in step with the blueprints: ``tests/test_openapi.py`` checks that every Flask route
is described here and that every path here is served, and the schemathesis run checks that
responses conform.
"""

from __future__ import annotations

from typing import Any

from frigate_like import __version__
from frigate_like.api.events import MAX_LIMIT, THUMBNAIL_FORMATS
from frigate_like.api.media import MJPEG_DEFAULT_FPS, MJPEG_DEFAULT_HEIGHT, MJPEG_MAX_FPS
from frigate_like.api.openapi_parts import SECURITY_SCHEMES, Schema, state_change
from frigate_like.api.openapi_parts import binary as _binary
from frigate_like.api.openapi_parts import errors as _errors
from frigate_like.api.openapi_parts import get as _get
from frigate_like.api.openapi_parts import json_response as _json
from frigate_like.api.openapi_parts import path as _path
from frigate_like.api.openapi_parts import post as _post
from frigate_like.api.openapi_parts import query as _query
from frigate_like.api.openapi_parts import ref as _ref
from frigate_like.api.openapi_parts import text as _text
from frigate_like.api.openapi_skellycam import SKELLYCAM_SCHEMAS, skellycam_paths
from frigate_like.api.openapi_web import web_paths
from frigate_like.api.params import MAX_HEIGHT
from frigate_like.events.mjpeg import BOUNDARY

ERROR: Schema = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string"}},
}
NUMBER: Schema = {"type": "number"}
FLAG: Schema = {"type": "integer", "enum": [0, 1]}

EVENT: Schema = {
    "type": "object",
    "required": [
        "id",
        "label",
        "camera",
        "start_time",
        "end_time",
        "top_score",
        "false_positive",
        "zones",
        "has_clip",
        "has_snapshot",
        "clip_gaps",
    ],
    "properties": {
        "id": {"type": "string", "example": "1607123955.475377-mxklsc"},
        "label": {"type": "string"},
        "camera": {"type": "string"},
        "start_time": NUMBER,
        "end_time": {"type": "number", "nullable": True, "description": "null while the event is in progress"},
        "top_score": NUMBER,
        "false_positive": {"type": "boolean"},
        "zones": {"type": "array", "items": {"type": "string"}},
        "thumbnail": {"type": "string", "nullable": True, "description": "base64 JPEG (include_thumbnails=1)"},
        "has_clip": {"type": "boolean"},
        "has_snapshot": {"type": "boolean"},
        "clip_gaps": {
            "type": "array",
            "items": {"type": "array", "items": NUMBER, "minItems": 2, "maxItems": 2},
            "description": "[from, to] unix seconds of the clip's time range with no footage (a camera or its "
            "ffmpeg was down, a disk was full); empty when the clip is whole or there is none",
        },
    },
}
SUMMARY_ROW: Schema = {
    "type": "object",
    "required": ["camera", "label", "day", "zones", "count", "has_clip", "has_snapshot"],
    "properties": {
        "camera": {"type": "string"},
        "label": {"type": "string"},
        "day": {"type": "string", "description": "local day of start_time, YYYY-MM-DD", "example": "2021-01-31"},
        "zones": {"type": "array", "items": {"type": "string"}},
        "count": {"type": "integer", "minimum": 1},
        "has_clip": {"type": "boolean"},
        "has_snapshot": {"type": "boolean"},
    },
}
CAMERA_STATS: Schema = {
    "type": "object",
    "required": [
        "camera_fps",
        "detection_fps",
        "capture_pid",
        "pid",
        "process_fps",
        "skipped_fps",
        "reconnects_last_hour",
        "detection_enabled",
    ],
    "properties": {
        "camera_fps": {"type": "number", "description": "frames per second read from the camera"},
        "detection_fps": {"type": "number", "description": "detector runs per second for this camera"},
        "capture_pid": {"type": "integer", "nullable": True, "description": "the detect ffmpeg (null: none runs)"},
        "pid": {"type": "integer", "nullable": True, "description": "the camera's process"},
        "process_fps": {"type": "number", "description": "frames per second processed"},
        "skipped_fps": {"type": "number", "description": "frames per second dropped: processing fell behind"},
        "reconnects_last_hour": {"type": "integer", "minimum": 0},
        "detection_enabled": {"type": "boolean"},
        "paused": {"type": "boolean", "description": "NEW: paused (camera groups): no frames by design"},
        "storage_full": {"type": "boolean", "description": "its clips/record ffmpeg stopped on a full disk"},
        "stalled": {"type": "boolean", "description": "NEW: no frame for 5 s (not paused): the source sends nothing"},
    },
}
STORAGE: Schema = {
    "type": "object",
    "required": ["total", "used", "free", "mnt_type", "mount_type"],
    "properties": {
        "total": {"type": "number", "description": "MB"},
        "used": {"type": "number", "description": "MB"},
        "free": {"type": "number", "description": "MB"},
        "mnt_type": {"type": "string", "description": "file-system type from /proc/mounts"},
        "mount_type": {"type": "string", "description": "the same, under Frigate 0.8's name"},
    },
}
HEALTH: Schema = {
    "type": "object",
    "required": ["ok", "error", "last_error", "last_error_time", "restarts", "backlog"],
    "properties": {
        "ok": {"type": "boolean", "description": "doing its work now"},
        "error": {"type": "string", "nullable": True, "description": "why not, while not ok"},
        "last_error": {"type": "string", "nullable": True},
        "last_error_time": {"type": "number", "nullable": True, "description": "epoch s"},
        "restarts": {"type": "integer", "minimum": 0},
        "backlog": {"type": "integer", "nullable": True, "description": "work queued while failing"},
        "failing_since": {"type": "number", "nullable": True, "description": "epoch s it stopped being ok"},
    },
}
CLUSTER: Schema = {
    "type": "object",
    "properties": {
        "nodes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "description": "cluster.node_id"},
                    "url": {"type": "string", "description": "where other nodes and browsers reach its API"},
                    "alive": {"type": "boolean", "description": "fresh heartbeat and not stopped"},
                    "cameras": {"type": "array", "items": {"type": "string"}, "description": "the cameras it runs"},
                },
                "required": ["id", "url", "alive", "cameras"],
            },
        }
    },
    "required": ["nodes"],
}
STATS: Schema = {
    "type": "object",
    "description": "One entry per camera (CameraStats) plus the totals below.",
    "required": ["detection_fps", "detectors", "service"],
    "properties": {
        "detection_fps": {"type": "number", "description": "sum over the cameras"},
        "detectors": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["detection_start", "inference_speed", "pid"],
                "properties": {
                    "detection_start": {"type": "number", "description": "epoch s while an inference runs, else 0"},
                    "inference_speed": {"type": "number", "description": "ms, moving average"},
                    "pid": {"type": "integer", "nullable": True},
                    "runtime": {"type": "string", "nullable": True, "description": "e.g. cpu, openvino:GPU"},
                    "runtime_reason": {"type": "string", "nullable": True, "description": "why (type: auto)"},
                },
            },
        },
        "service": {
            "type": "object",
            "required": ["uptime", "version", "storage"],
            "properties": {
                "uptime": {"type": "integer", "description": "seconds"},
                "version": {"type": "string"},
                "storage": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Storage"}},
                "health": {
                    "type": "object",
                    "description": "per background subsystem (events writer, recordings, detectors...)",
                    "additionalProperties": {"$ref": "#/components/schemas/Health"},
                },
            },
        },
    },
    "additionalProperties": {"$ref": "#/components/schemas/CameraStats"},
}


def _height(default: str) -> Schema:
    return _query(
        "h",
        {"type": "integer", "minimum": 1, "maximum": MAX_HEIGHT},
        f"height in pixels (aspect kept); default: {default}",
    )


def _overlays() -> list[Schema]:
    return [
        _query("height", {"type": "integer", "minimum": 1, "maximum": MAX_HEIGHT}, "alias of h (h wins)"),
        _query("bbox", FLAG, "draw the tracked objects' boxes"),
        _query("timestamp", FLAG, "print the frame time in the upper left"),
        _query("zones", FLAG, "draw the zones (thick while an object is inside)"),
        _query("mask", FLAG, "black out the motion mask"),
        _query("motion", FLAG, "blue boxes where motion was found"),
        _query("regions", FLAG, "green boxes where the detector ran"),
    ]


def _event_filters() -> list[Schema]:
    text = {"type": "string", "maxLength": 200}
    return [
        _query("before", NUMBER, "only events that started before this epoch time"),
        _query("after", NUMBER, "only events that started after this epoch time"),
        _query("camera", text, "camera name"),
        _query("label", text, "label name"),
        _query("zone", text, "only events that entered this zone"),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100}, "at most this many"),
        _query("has_snapshot", FLAG, "only events with (1) or without (0) a snapshot"),
        _query("has_clip", FLAG, "only events with (1) or without (0) a clip"),
        _query("include_thumbnails", {**FLAG, "default": 1}, "include base64 thumbnails"),
        _include_in_progress(),
    ]


def _include_in_progress() -> Schema:
    return _query(
        "include_in_progress",
        {**FLAG, "default": 0},
        "1 also lists events still in progress (end_time null); by default only ended ones, as Frigate 0.8",
    )


AUTOINDEX_ENTRY: Schema = {
    "type": "object",
    "required": ["name", "type", "mtime"],
    "properties": {
        "name": {"type": "string"},
        "type": {"type": "string", "enum": ["directory", "file", "other"]},
        "mtime": {"type": "string", "example": "Tue, 10 Aug 2021 14:03:00 GMT"},
        "size": {"type": "integer", "description": "files only"},
    },
}


def _recording_files() -> dict[str, Any]:
    """``/recordings/``: the folder as Frigate 0.8's nginx served it (autoindex json, files with ranges)."""
    listing = _json({"type": "array", "items": AUTOINDEX_ENTRY}, "nginx autoindex_format json: folders first")
    return {
        "/recordings/": _get(
            "The recordings folder",
            {"200": listing, **_errors(404)},
            description="Folders YYYY-MM/DD/HH/<camera>/ hold MM.SS.mp4 segments (UTC), as in Frigate 0.8.",
            tag="recordings",
        ),
        "/recordings/{path}": _get(
            "A folder of recordings (path ending in /) or one segment file",
            {
                "200": {**listing, "content": {**listing["content"], **_binary("video/mp4", "")["content"]}},
                "206": _binary("video/mp4", "the requested byte range"),
                "301": {"description": "a folder asked without its trailing slash"},
                **_errors(404, 416, 502),
            },
            [_path("path", "a path below the recordings folder, e.g. 2021-08/10/14/back/03.00.mp4", None)],
            tag="recordings",
        ),
    }


def openapi_document(example_camera: str | None = None, example_label: str | None = None) -> dict[str, Any]:
    """The whole document; ``example_*`` give the interactive page working defaults."""
    camera = _path("camera_name", "a camera of the config", example_camera)
    event_id = _path("event_id", "an event id", "1607123955.475377-mxklsc")
    jpeg = _binary("image/jpeg", "a JPEG picture")
    paths: dict[str, Any] = {
        "/api/": _get("Alive message", {"200": _text("a plain-text alive message")}),
        "/api/version": _get("Version", {"200": _text("the version, plain text (Home Assistant reads it)")}),
        "/api/stats": _get("Runtime statistics", {"200": _json(_ref("Stats"), "per camera, detector and service")}),
        "/metrics": _get(
            "Prometheus metrics of this node",
            {"200": _text("the Prometheus text format: cameras, detectors, events, leases, database and MQTT health,"
                          " each labelled with the node"), **_errors(503)},
        ),  # fmt: skip
        "/api/config": _get(
            "The effective config", {"200": _json({"type": "object"}, "passwords and URL credentials masked")}
        ),
        "/api/cluster": _get(
            "The nodes of the cluster and the cameras each runs (a single node: itself)",
            {"200": _json(_ref("Cluster"), "every node that joined, alive or not"), **_errors(503)},
        ),
        "/api/openapi.json": _get("This document", {"200": _json({"type": "object"}, "OpenAPI 3")}),
        "/docs": _get(
            "Interactive API documentation",
            {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}},
        ),
        "/api/events": _get(
            "Events, newest first",
            {"200": _json({"type": "array", "items": _ref("Event")}, "events"), **_errors(400, 503)},
            _event_filters(),
            "Ended events only, as Frigate 0.8 (Home Assistant computes end_time - start_time);"
            " include_in_progress=1 adds running ones with end_time null.",
            tag="events",
        ),
        "/api/events/summary": _get(
            "Event counts",
            {"200": _json({"type": "array", "items": _ref("SummaryRow")}, "grouped counts"), **_errors(400, 503)},
            [
                _query("has_snapshot", FLAG, "only events with (1) or without (0) a snapshot"),
                _query("has_clip", FLAG, "only events with (1) or without (0) a clip"),
                _include_in_progress(),
            ],
            description="Counts of ended events grouped by camera, label, local day, zones, has_clip and has_snapshot.",
            tag="events",
        ),
        "/api/events/{event_id}": _get(
            "One event", {"200": _json(_ref("Event"), "the event"), **_errors(404, 503)}, [event_id], tag="events"
        ),
        "/api/events/{event_id}/thumbnail.jpg": _get(
            "An event's thumbnail",
            {"200": jpeg, **_errors(400, 404, 503, 502)},
            [
                event_id,
                _query(
                    "format",
                    {"type": "string", "enum": list(THUMBNAIL_FORMATS), "default": "ios"},
                    "android: padded to a 2:1 aspect",
                ),
            ],
            "Works while the event is in progress (from the live object's best frame) and after.",
            tag="events",
        ),
        "/api/events/{event_id}/snapshot.jpg": _get(
            "An event's snapshot",
            {"200": jpeg, **_errors(400, 404, 503, 502)},
            [
                event_id,
                _height("the camera's snapshots.height, else full size"),
                _query("bbox", FLAG, "draw the box (default: the camera's snapshots.bounding_box)"),
                _query("timestamp", FLAG, "print the time (default: the camera's snapshots.timestamp)"),
                _query("crop", FLAG, "crop to the object (default: the camera's snapshots.crop)"),
            ],
            "While the event is in progress the best frame is drawn with these parameters; once it ended the "
            "saved snapshot is returned unchanged.",
            tag="events",
        ),
        "/api/{camera_name}": _get(
            "MJPEG debug stream",
            {
                "200": {
                    "description": "an endless multipart stream of JPEG frames",
                    "content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {"schema": {"type": "string"}}},
                },
                **_errors(400, 404, 503, 502),
            },
            [
                camera,
                _query(
                    "fps",
                    {"type": "integer", "minimum": 1, "maximum": MJPEG_MAX_FPS, "default": MJPEG_DEFAULT_FPS},
                    "frames per second",
                ),
                _height(str(MJPEG_DEFAULT_HEIGHT)),
                *_overlays(),
            ],
            "Each frame is drawn and encoded once per option set and shared by every viewer of that set. "
            "503 when too many viewers are connected.",
            tag="live",
        ),
        "/api/{camera_name}/live.mp4": _get(
            "Live video at camera quality",
            {
                "200": {
                    "description": "an endless fragmented MP4 (init segment, then a fragment per frame) of the "
                    "camera's own video, copied without re-encoding; Content-Type carries the codec "
                    '(video/mp4; codecs="avc1.640028")',
                    "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}},
                },
                **_errors(404, 503),
            },
            [camera],
            "The stream of the input with the record role (else rtmp, else detect), from the restream when it "
            "runs. It starts at the last key frame, which the daemon keeps in memory, so a player starts at "
            "once; every viewer shares one ffmpeg. Video only. 503 while the camera has sent no key frame.",
            tag="live",
        ),
        "/api/{camera_name}/latest.jpg": _get(
            "The latest processed frame",
            {"200": jpeg, **_errors(400, 404, 503, 502)},
            [camera, _height("the detect resolution"), *_overlays()],
            "503 until the camera has delivered its first frame.",
            tag="live",
        ),
        "/api/{camera_name}/{label}/best.jpg": _get(
            "The best picture of a label",
            {"200": jpeg, **_errors(400, 404, 502)},
            [
                camera,
                _path("label", "a tracked label", example_label),
                _height("full size"),
                _query("crop", FLAG, "crop to the object"),
            ],
            "The best frame of a live object of that label, else of the last one that ended (after a restart: "
            "the last saved snapshot, resized, crop not applied).",
            tag="live",
        ),
    }
    paths.update(_recording_files())
    for suffix, media_type in (("mp4", "video/mp4"), ("jpg", "image/jpeg")):
        paths[f"/clips/{{camera}}-{{event_id}}.{suffix}"] = _get(
            f"An event's {'clip' if suffix == 'mp4' else 'snapshot file'}",
            {
                "200": _binary(media_type, "the whole file"),
                "206": _binary(media_type, "the requested byte range"),
                **_errors(404, 416, 502),
            },
            [
                _path("camera", "the event's camera", example_camera),
                event_id,
                {
                    "name": "Range",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "example": "bytes=0-1023",
                    "description": "a byte range (seeking in a <video>)",
                },
            ],
            tag="clips",
        )
    status = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}
    paths["/api/login"] = state_change(
        _post(
            "Log a browser in: sets the HttpOnly, SameSite=Strict cookie frigate_like_token, a session id (never the "
            "token) that expires after a week. Wrong tokens from one address: after 5, 429 with Retry-After, "
            "doubling up to 60 s",
            {"200": _json(status, "logged in"), **_errors(400, 401, 409, 429)},
            {"type": "object", "required": ["token"], "properties": {"token": {"type": "string", "minLength": 1}}},
        ),
        login=True,
    )
    paths["/api/login"]["post"]["requestBody"]["required"] = True  # no token, nothing to log in with
    paths["/api/logout"] = state_change(
        _post("Log a browser out: revokes the cookie's session and clears it", {"200": _json(status, "logged out")}),
        login=True,
    )
    paths.update(skellycam_paths(example_camera))
    paths.update(web_paths(example_camera))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "frigate-like HTTP API",
            "version": __version__,
            "description": 'Frigate 0.8\'s HTTP API. Errors are JSON {"detail": ...}. Reads are open unless '
            "http.auth is required; operations with a security requirement change state and need the token "
            "(or, when no token is configured, a loopback client), Content-Type: application/json unless the "
            "token came, and a same-origin or absent Origin. Every request's Host must name this server.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": SECURITY_SCHEMES,
            "schemas": {
                "Error": ERROR,
                "Event": EVENT,
                "SummaryRow": SUMMARY_ROW,
                "Stats": STATS,
                "CameraStats": CAMERA_STATS,
                "Storage": STORAGE,
                "Health": HEALTH,
                "Cluster": CLUSTER,
                **SKELLYCAM_SCHEMAS,
            },
        },
    }
