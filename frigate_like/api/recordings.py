"""24/7 recording endpoints: a camera's footage by day and hour, and an mp4 export of any span."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify, request, send_file

from frigate_like.api.access import may_change_state
from frigate_like.api.params import float_param
from frigate_like.api.service import ApiServices, required
from frigate_like.errors import BadRequest

if TYPE_CHECKING:  # types only: the API never builds these
    from frigate_like.record.nvr import Recordings


def _epoch(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be epoch seconds, got {raw!r}") from None
    if not math.isfinite(value):
        raise BadRequest(f"{name} must be a finite number, got {raw!r}")
    return value


def recordings_blueprint(services: ApiServices) -> Blueprint:
    bp = Blueprint("recordings", __name__)

    def recordings() -> Recordings:
        return required(services.recordings, "recordings")

    @bp.get("/api/<camera>/recordings")
    def timeline(camera: str) -> Response:
        after, before = float_param(request.args, "after"), float_param(request.args, "before")
        return jsonify(recordings().timeline(camera, after=after, before=before))

    @bp.get("/api/<camera>/recordings/<start>/<end>.mp4")
    def export(camera: str, start: str, end: str) -> Response:
        span = (camera, _epoch("start", start), _epoch("end", end))
        # footage another node of the cluster recorded is cut there (media/locate.py)
        return services.locator.serve(lambda: cut(span, f"{camera}-{start}-{end}.mp4"),
                                      lambda: services.locator.export_owner(*span))  # fmt: skip

    def cut(span: tuple[str, float, float], name: str) -> Response:
        if not may_change_state():  # a read anyone may make writes no file (record/export.py)
            return Response(
                recordings().stream_export(*span), mimetype="video/mp4",
                headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"},
            )  # fmt: skip
        path = recordings().export(*span)
        # conditional: ETag, Last-Modified and Range (206), so a browser <video> can seek in it
        return send_file(path, mimetype="video/mp4", conditional=True, download_name=name)

    return bp
