"""The seed's playback endpoints: list recordings, load one, stream its videos (range requests), timestamps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, jsonify, send_file

from frigate_like.api.params import json_object, optional_str
from frigate_like.api.service import ApiServices, required
from frigate_like.errors import BadRequest

if TYPE_CHECKING:  # types only: the API never builds these
    from frigate_like.record.playback import PlaybackLibrary


def playback_blueprint(services: ApiServices) -> Blueprint:
    bp = Blueprint("playback", __name__, url_prefix="/skellycam/playback")

    def library() -> PlaybackLibrary:
        return required(services.playback, "playback")

    @bp.get("/recordings")
    def recordings() -> Response:
        return jsonify(library().recordings())

    @bp.post("/load")
    def load() -> Response:
        path = optional_str(json_object(), "recording_path", path=True)
        if path is None or not path.strip():
            raise BadRequest("recording_path (a folder) is required")
        return jsonify(library().load(path))

    @bp.get("/video/<video_id>")
    def video(video_id: str) -> Response:
        found = library().video(video_id)
        # conditional: Range → 206 Partial Content, so a browser <video> seeks without downloading it all
        return send_file(found.path, mimetype=found.mimetype, conditional=True)

    @bp.get("/timestamps")
    def timestamps() -> Response:
        return jsonify(library().timestamps())

    @bp.get("/timestamps/<video_id>")
    def timestamp_info(video_id: str) -> Response:
        return jsonify(library().timestamp_info(video_id))

    return bp
