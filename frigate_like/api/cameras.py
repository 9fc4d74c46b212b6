"""Camera-management endpoints (``/skellycam/camera/...``): device discovery and camera groups."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify, request

from frigate_like.api.access import changes_state, only_reads
from frigate_like.api.params import bool_param, int_param
from frigate_like.api.service import ApiServices
from frigate_like.devices import V4L2_BACKEND_ID, DeviceDiscovery
from frigate_like.devices.alsa import microphones_document
from frigate_like.errors import BadRequest, Unavailable

if TYPE_CHECKING:  # types only: the API never builds these
    from frigate_like.groups import GroupManager

_ANY_BACKEND = 0  # OpenCV's CAP_ANY: on Linux that is V4L2 too


def cameras_blueprint(services: ApiServices) -> Blueprint:
    bp = Blueprint("cameras", __name__, url_prefix="/skellycam/camera")
    devices: DeviceDiscovery = services.devices or DeviceDiscovery()

    def groups() -> GroupManager:
        if services.groups is None:
            raise Unavailable("camera groups are not available in this process")
        return services.groups

    @bp.post("/detect")
    @only_reads
    def detect() -> Response:
        filter_virtual = bool_param(request.args, "filter_virtual", True)
        backend_id = int_param(request.args, "backend_id")
        if backend_id not in (None, _ANY_BACKEND, V4L2_BACKEND_ID):
            raise BadRequest(f"backend_id: only {V4L2_BACKEND_ID} (V4L2) is available here, got {backend_id}")
        return jsonify({"cameras": [device.to_dict() for device in devices.cameras(filter_virtual)]})

    @bp.get("/microphone/detect")
    def microphones() -> Response:
        return jsonify(microphones_document(devices.microphones()))

    @bp.post("/group/apply")
    def apply_group() -> Response:
        body = request.get_json(force=True, silent=True)
        if body is None:
            raise BadRequest("expected a JSON body with camera_configs")
        return jsonify(groups().apply(body))

    @bp.get("/group/all/pause_unpause")
    @changes_state
    def pause_unpause() -> Response:
        groups().toggle_pause()
        return jsonify(True)

    @bp.delete("/group/close/all")
    def close_all() -> Response:
        groups().close_all()
        return jsonify(True)

    return bp
