"""The seed's record start/stop: every active camera into a named recording folder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, jsonify

from frigate_like.api.access import changes_state
from frigate_like.api.params import json_object, optional_str
from frigate_like.api.service import ApiServices, required
from frigate_like.errors import BadRequest

if TYPE_CHECKING:  # types only: the API never builds these
    from frigate_like.record.manual import ManualRecorder


def _int(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer, got {value!r}")
    return value


def manual_recording_blueprint(services: ApiServices) -> Blueprint:
    bp = Blueprint("manual_recording", __name__)

    def recorder() -> ManualRecorder:
        return required(services.manual, "manual recording")

    @bp.post("/skellycam/camera/group/all/record/start")
    def start() -> Response:
        body = json_object(optional=True)  # every field is optional, so no body is an empty object
        recorder().start(
            recording_name=optional_str(body, "recording_name", path=True),
            recording_directory=optional_str(body, "recording_directory", path=True),
            mic_device_index=_int(body, "mic_device_index", -1),
        )
        return jsonify(True)

    @bp.get("/skellycam/camera/group/all/record/stop")
    @changes_state
    def stop() -> Response:
        recorder().stop()
        return jsonify(True)

    return bp
