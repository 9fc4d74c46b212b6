"""24/7 recording endpoints: a camera's footage by day and hour, and an mp4 export of any span."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, jsonify, request, send_file
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from frigate_like.api.access import may_change_state
from frigate_like.api.openapi import binary, errors
from frigate_like.api.openapi_models import RecordingDays
from frigate_like.api.params import EpochPath, EpochQuery, PathModel, QueryModel
from frigate_like.api.service import ApiServices, required

if TYPE_CHECKING:  # types only: the API never builds these
    from frigate_like.record.nvr import Recordings

MP4 = binary("video/mp4", "the video")


class CameraPath(PathModel):
    camera: str = Field(description="a camera of the config")


class SpanPath(CameraPath):
    start: EpochPath = Field(description="epoch seconds", json_schema_extra={"example": 1700000000})
    end: EpochPath = Field(description="epoch seconds", json_schema_extra={"example": 1700000060})


class TimelineQuery(QueryModel):
    after: EpochQuery | None = Field(None, description="only footage after this epoch time")
    before: EpochQuery | None = Field(None, description="only footage before this epoch time")


def recordings_blueprint(services: ApiServices) -> APIBlueprint:
    bp = APIBlueprint("recordings", __name__, abp_tags=[Tag(name="recordings")])

    def recordings() -> Recordings:
        return required(services.recordings, "recordings")

    @bp.get("/api/<camera>/recordings", responses={200: RecordingDays, **errors(400, 404, 503)})
    def timeline(path: CameraPath, query: TimelineQuery) -> Response:
        """24/7 recordings of a camera by day and hour, with events and gaps"""
        return jsonify(recordings().timeline(path.camera, after=query.after, before=query.before))

    @bp.get(
        "/api/<camera>/recordings/<start>/<end>.mp4",
        responses={200: MP4, 206: binary("video/mp4", "the requested byte range"), **errors(400, 404, 416, 503, 502)},
    )
    def export(path: SpanPath) -> Response:
        """The recorded footage between two epoch times, joined without re-encoding"""
        span = (path.camera, path.start, path.end)
        # the file is named by the path as sent (the seconds as the client wrote them)
        sent = request.view_args or {}
        name = f"{path.camera}-{sent.get('start')}-{sent.get('end')}.mp4"
        # footage another node of the cluster recorded is cut there (media/locate.py)
        return services.locator.serve(lambda: cut(span, name), lambda: services.locator.export_owner(*span))

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
