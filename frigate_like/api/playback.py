"""The seed's playback endpoints: list recordings, load one, stream its videos (range requests), timestamps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, jsonify, send_file
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from frigate_like.api.openapi import binary, errors
from frigate_like.api.openapi_models import AnyObject, LoadedRecording, RecordingFolders, Timestamps
from frigate_like.api.params import BodyPath, JsonBody, PathModel
from frigate_like.api.service import ApiServices, required
from frigate_like.errors import BadRequest

if TYPE_CHECKING:  # types only: the API never builds these
    from frigate_like.record.playback import PlaybackLibrary


class LoadBody(JsonBody):
    recording_path: BodyPath = Field(min_length=1, description="a recording folder inside the allowed roots")


class VideoPath(PathModel):
    video_id: str = Field(description="a video of the loaded recording")


def playback_blueprint(services: ApiServices) -> APIBlueprint:
    bp = APIBlueprint("playback", __name__, url_prefix="/skellycam/playback", abp_tags=[Tag(name="playback")])

    def library() -> PlaybackLibrary:
        return required(services.playback, "playback")

    @bp.get("/recordings", responses={200: RecordingFolders, **errors(503)})
    def recordings() -> Response:
        """Recording folders available for playback"""
        return jsonify(library().recordings())

    @bp.post("/load", responses={200: LoadedRecording, **errors(400, 404, 503)})
    def load(body: LoadBody) -> Response:
        """Load a recording folder for playback"""
        if not body.recording_path.strip():
            raise BadRequest("recording_path (a folder) is required")
        return jsonify(library().load(body.recording_path))

    @bp.get(
        "/video/<video_id>",
        responses={200: binary("video/mp4", "the video"), 206: binary("video/mp4", "the requested byte range"),
                   **errors(404, 416, 503)},
    )  # fmt: skip
    def video(path: VideoPath) -> Response:
        """Stream a loaded video (range requests for seeking)"""
        found = library().video(path.video_id)
        # conditional: Range → 206 Partial Content, so a browser <video> seeks without downloading it all
        return send_file(found.path, mimetype=found.mimetype, conditional=True)

    @bp.get("/timestamps", responses={200: Timestamps, **errors(409, 503)})
    def timestamps() -> Response:
        """Frame timestamps (ms) of every loaded video that has a timestamp CSV"""
        return jsonify(library().timestamps())

    @bp.get("/timestamps/<video_id>", responses={200: AnyObject, **errors(404, 409, 503)})
    def timestamp_info(path: VideoPath) -> Response:
        """Metadata of one loaded video's timestamp CSV: path, columns, frame count, first/last, fps"""
        return jsonify(library().timestamp_info(path.video_id))

    return bp
