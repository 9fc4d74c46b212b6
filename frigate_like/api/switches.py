"""The detect/clips/snapshots switches over HTTP, through the same ``Switches`` object MQTT commands use.

``GET /api/switches`` reads every camera's; ``POST /api/<camera>/switches`` with a JSON object
such as ``{"detect": false}`` sets some. In a cluster both reach the cameras other nodes run
(media/locate.py). The POST is guarded by ``api/access.py`` like every other change, and it must be sent
as ``Content-Type: application/json``: a cross-site form cannot send that without a CORS preflight,
which this server never grants.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from frigate_like.api.service import ApiServices, required
from frigate_like.comms.switches import Switches
from frigate_like.comms.topics import SWITCHES, Switch
from frigate_like.errors import BadRequest, NotFound


def _states(switches: Switches) -> dict[str, dict[str, bool]]:
    states: dict[str, dict[str, bool]] = {}
    for camera, switch, on in switches.states():
        states.setdefault(camera, {})[switch] = on
    return states


def _changes(body: Any) -> dict[Switch, bool]:
    if not isinstance(body, dict) or not body:
        raise BadRequest(f"expected a JSON object with some of {', '.join(SWITCHES)} set to true or false")
    changes: dict[Switch, bool] = {}
    for switch in SWITCHES:
        if switch in body:
            if not isinstance(body[switch], bool):
                raise BadRequest(f"{switch} must be true or false, got {body[switch]!r}")
            changes[switch] = body[switch]
    unknown = sorted(set(body) - set(SWITCHES))
    if unknown:
        raise BadRequest(f"unknown switch {unknown[0]!r}; known: {', '.join(SWITCHES)}")
    return changes


def switches_blueprint(services: ApiServices) -> Blueprint:
    bp = Blueprint("switches", __name__)

    def switches() -> Switches:
        return required(services.switches, "the switches")

    @bp.get("/api/switches")
    def read_all() -> Response:
        states = _states(switches())
        for theirs in services.locator.answers_elsewhere():  # a cluster: the cameras other nodes run too
            if isinstance(theirs, dict):
                states = {**theirs, **states}
        return jsonify(states)

    @bp.post("/api/<camera_name>/switches")  # a write: api/access.py guards it like every other change
    def set_some(camera_name: str) -> Response:
        if not request.is_json:
            raise BadRequest("send the switches as JSON (Content-Type: application/json)")
        changes = _changes(request.get_json(silent=True))
        # a camera another node runs: the change goes to that node (media/locate.py)
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
