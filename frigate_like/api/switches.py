"""The detect/clips/snapshots switches over HTTP, through the same ``Switches`` object MQTT commands use.

``GET /api/switches`` reads every camera's; ``POST /api/<camera>/switches`` with a JSON object
such as ``{"detect": false}`` sets some. In a cluster both reach the cameras other nodes run
(media/locate.py). The POST is guarded by ``api/access.py`` like every other change, and it must be sent
as ``Content-Type: application/json``: a cross-site form cannot send that without a CORS preflight,
which this server never grants.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import ConfigDict, Field, StrictBool, model_validator
from pydantic.json_schema import JsonDict

from frigate_like.api.openapi import errors
from frigate_like.api.openapi_models import AllSwitchStates, SwitchStates
from frigate_like.api.params import BodyProblem, JsonBody, PathModel
from frigate_like.api.service import ApiServices, required
from frigate_like.comms.switches import Switches
from frigate_like.comms.topics import SWITCHES, Switch
from frigate_like.errors import BadRequest, NotFound


def _states(switches: Switches) -> dict[str, dict[str, bool]]:
    states: dict[str, dict[str, bool]] = {}
    for camera, switch, on in switches.states():
        states.setdefault(camera, {})[switch] = on
    return states


def _switches_schema(schema: JsonDict) -> None:
    """Each switch a boolean (never null: an absent one stays as it is), at least one, nothing else."""
    schema["properties"] = {switch: {"type": "boolean"} for switch in SWITCHES}
    schema.update(minProperties=1, additionalProperties=False, example={"detect": False})


class SwitchChanges(JsonBody):
    """Some of the switches, each true or false; nothing else."""

    model_config = ConfigDict(json_schema_extra=_switches_schema)
    not_an_object = f"expected a JSON object with some of {', '.join(SWITCHES)} set to true or false"
    checks_strings = False  # only booleans are taken

    detect: StrictBool | None = None
    clips: StrictBool | None = None
    snapshots: StrictBool | None = None

    @classmethod
    def without_object(cls, problem: BodyProblem) -> dict[str, Any]:
        if not request.is_json:
            raise BadRequest("send the switches as JSON (Content-Type: application/json)")
        return super().without_object(problem)

    @model_validator(mode="before")
    @classmethod
    def _known_and_some(cls, data: Any) -> Any:
        if not isinstance(data, dict):  # JsonBody's own check says what is wrong
            return data
        if not data:
            raise BadRequest(cls.not_an_object)
        for switch in SWITCHES:
            if switch in data and not isinstance(data[switch], bool):
                raise BadRequest(f"{switch} must be true or false, got {data[switch]!r}")
        unknown = sorted(set(data) - set(SWITCHES))
        if unknown:
            raise BadRequest(f"unknown switch {unknown[0]!r}; known: {', '.join(SWITCHES)}")
        return data

    def changes(self) -> dict[Switch, bool]:
        return {switch: on for switch in SWITCHES if (on := getattr(self, switch)) is not None}


class CameraPath(PathModel):
    camera_name: str = Field(description="a camera")


def switches_blueprint(services: ApiServices) -> APIBlueprint:
    bp = APIBlueprint("switches", __name__, abp_tags=[Tag(name="live")])

    def switches() -> Switches:
        return required(services.switches, "the switches")

    @bp.get("/api/switches", responses={200: AllSwitchStates, **errors(503)})
    def read_all() -> Response:
        """Every camera's detect/clips/snapshots switches"""
        states = _states(switches())
        for theirs in services.locator.answers_elsewhere():  # a cluster: the cameras other nodes run too
            if isinstance(theirs, dict):
                states = {**theirs, **states}
        return jsonify(states)

    @bp.post("/api/<camera_name>/switches", responses={200: SwitchStates, **errors(400, 404, 503, 502)})
    def set_some(path: CameraPath, body: SwitchChanges) -> Response:
        """Set a camera's switches, as the MQTT <camera>/<switch>/set commands do"""
        # a write: api/access.py guards it like every other change; a camera another node runs: the change
        # goes to that node (media/locate.py)
        camera_name, changes = path.camera_name, body.changes()
        return services.locator.serve(
            lambda: apply(camera_name, changes), lambda: services.locator.camera_owner(camera_name)
        )

    def apply(camera_name: str, changes: dict[Switch, bool]) -> Response:
        if camera_name not in _states(switches()):
            raise NotFound(f"camera {camera_name!r} not found")
        for switch, on in changes.items():
            switches().set(camera_name, switch, on)
        now = _states(switches()).get(camera_name)
        if now is None:  # a group change removed it meanwhile
            raise NotFound(f"camera {camera_name!r} was removed")
        return jsonify(now)

    return bp
