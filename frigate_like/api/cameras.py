"""Camera-management endpoints (``/skellycam/camera/...``): device discovery and camera groups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from flask import Response, jsonify, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import AfterValidator, ConfigDict, Field

from frigate_like.api.access import changes_state, only_reads
from frigate_like.api.openapi import errors
from frigate_like.api.openapi_models import Devices, Done, Group, Microphones
from frigate_like.api.params import BodyProblem, Bool, Int, JsonBody, QueryModel, invalid
from frigate_like.api.service import ApiServices
from frigate_like.devices import V4L2_BACKEND_ID, DeviceDiscovery
from frigate_like.devices.alsa import microphones_document
from frigate_like.errors import Unavailable

if TYPE_CHECKING:  # types only: the API never builds these
    from frigate_like.groups import GroupManager

_ANY_BACKEND = 0  # OpenCV's CAP_ANY: on Linux that is V4L2 too


def _backend(value: int) -> int:
    if value not in (_ANY_BACKEND, V4L2_BACKEND_ID):
        invalid("backend", f": only {V4L2_BACKEND_ID} (V4L2) is available here, got {{raw}}", value)
    return value


class DetectQuery(QueryModel):
    filter_virtual: Bool = Field(True, description="leave out virtual devices")
    backend_id: Annotated[Int, AfterValidator(_backend)] | None = Field(
        None, description=f"OpenCV backend id: {V4L2_BACKEND_ID} (V4L2)", json_schema_extra={"enum": [0, 200]}
    )


class GroupApply(JsonBody):
    """The seed's group: camera configs by camera id; sent with or without a JSON content type."""

    model_config = ConfigDict(extra="allow")
    not_an_object = "expected a JSON body with camera_configs"
    checks_strings = False  # groups/models.py validates the configs, sources with params.checked_text

    camera_configs: Any = Field(
        description="camera configs by camera id (the seed's)", json_schema_extra={"type": "object"}
    )

    @classmethod
    def without_object(cls, problem: BodyProblem) -> dict[str, Any]:
        body = request.get_json(force=True, silent=True)  # the seed's clients may send no content type
        return body if isinstance(body, dict) else super().without_object(problem)


def cameras_blueprint(services: ApiServices) -> APIBlueprint:
    bp = APIBlueprint("cameras", __name__, url_prefix="/skellycam/camera", abp_tags=[Tag(name="cameras")])
    devices: DeviceDiscovery = services.devices or DeviceDiscovery()

    def groups() -> GroupManager:
        if services.groups is None:
            raise Unavailable("camera groups are not available in this process")
        return services.groups

    @bp.post("/detect", responses={200: Devices, **errors(400)})
    @only_reads
    def detect(query: DetectQuery) -> Response:
        """Local capture devices (V4L2)"""
        return jsonify({"cameras": [device.to_dict() for device in devices.cameras(query.filter_virtual)]})

    @bp.get("/microphone/detect", responses={200: Microphones})
    def microphones() -> Response:
        """ALSA capture devices"""
        return jsonify(microphones_document(devices.microphones()))

    @bp.post("/group/apply", responses={200: Group, **errors(400, 409, 503)})
    def apply_group(body: GroupApply) -> Response:
        """Create or update a camera group"""
        return jsonify(groups().apply(body.model_dump()))

    @bp.get("/group/all/pause_unpause", responses={200: Done, **errors(503)})
    @changes_state
    def pause_unpause() -> Response:
        """Toggle capture of every group camera"""
        groups().toggle_pause()
        return jsonify(True)

    @bp.delete("/group/close/all", responses={200: Done, **errors(503)})
    def close_all() -> Response:
        """Stop and release every group camera"""
        groups().close_all()
        return jsonify(True)

    return bp
