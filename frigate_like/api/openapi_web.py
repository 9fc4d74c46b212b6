"""OpenAPI paths of the web UI's files and the switches endpoint."""

from __future__ import annotations

from typing import Any

from frigate_like.api.openapi_parts import Schema, errors, get, json_response, operation, path, state_change
from frigate_like.comms.topics import SWITCHES

SWITCH_STATES: Schema = {
    "type": "object",
    "required": list(SWITCHES),
    "properties": {switch: {"type": "boolean"} for switch in SWITCHES},
}
SWITCH_CHANGES: Schema = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {switch: {"type": "boolean"} for switch in SWITCHES},
    "example": {"detect": False},
}


def web_paths(example_camera: str | None) -> dict[str, Any]:
    html = {"description": "the web UI's page", "content": {"text/html": {"schema": {"type": "string"}}}}
    return {
        "/": get("The web UI", {"200": html}, tag="web"),
        "/ui/{name}": get(
            "A file of the web UI (JavaScript module, style sheet)",
            {"200": {"description": "the file"}, **errors(404)},
            [path("name", "a file name of the UI", "app.js")],
            tag="web",
        ),
        "/api/switches": get(
            "Every camera's detect/clips/snapshots switches",
            {
                "200": json_response({"type": "object", "additionalProperties": SWITCH_STATES}, "per camera"),
                **errors(503),
            },
            tag="live",
        ),
        "/api/{camera_name}/switches": state_change(
            operation(
                "post",
                "Set a camera's switches, as the MQTT <camera>/<switch>/set commands do",
                {"200": json_response(SWITCH_STATES, "the camera's switches now"), **errors(400, 404, 503, 502)},
                [path("camera_name", "a camera", example_camera)],
                tag="live",
                body=SWITCH_CHANGES,
            )
        ),
    }
