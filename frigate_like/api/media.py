"""Live pictures: the MJPEG debug stream, latest.jpg and a label's best.jpg (of a camera another node runs:
from that node, media/locate.py)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from frigate_like.api.bridge import client_gone_event
from frigate_like.api.openapi import binary, errors
from frigate_like.api.params import Flag, HeightQuery, Int, PathModel, ViewQuery, flag
from frigate_like.api.service import ApiServices, required
from frigate_like.events.mjpeg import BOUNDARY

MJPEG_DEFAULT_FPS = 3
MJPEG_MAX_FPS = 30
MJPEG_DEFAULT_HEIGHT = 360
NO_STORE = {"Cache-Control": "no-store"}  # live pictures change every frame
JPEG = binary("image/jpeg", "a JPEG picture")
MJPEG = {
    "description": "an endless multipart stream of JPEG frames",
    "content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {"schema": {"type": "string"}}},
}
LIVE_MP4 = binary(
    "video/mp4",
    "an endless fragmented MP4 (init segment, then a fragment per frame) of the camera's own video, copied "
    'without re-encoding; Content-Type carries the codec (video/mp4; codecs="avc1.640028")',
)


class CameraPath(PathModel):
    camera_name: str = Field(description="a camera of the config")


class LabelPath(CameraPath):
    label: str = Field(description="a tracked label")


class MjpegQuery(ViewQuery):
    fps: Int = Field(MJPEG_DEFAULT_FPS, ge=1, le=MJPEG_MAX_FPS, description="frames per second")


class BestQuery(HeightQuery):
    crop: Flag = flag(False, "crop to the object")


def jpeg_response(jpeg: bytes) -> Response:
    return Response(jpeg, mimetype="image/jpeg", headers=NO_STORE)


def media_blueprint(services: ApiServices) -> APIBlueprint:
    bp = APIBlueprint("media", __name__, abp_tags=[Tag(name="live")])

    @bp.get(
        "/api/<camera_name>",
        responses={200: MJPEG, **errors(400, 404, 503, 502)},
        description="Each frame is drawn and encoded once per option set and shared by every viewer of that set. "
        f"503 when too many viewers are connected. h: default {MJPEG_DEFAULT_HEIGHT}.",
    )
    def mjpeg(path: CameraPath, query: MjpegQuery) -> Response:
        """MJPEG debug stream"""
        camera_name, options = path.camera_name, query.view_options(MJPEG_DEFAULT_HEIGHT)
        # the server bridge sets this event when the client hangs up or the server stops; taken here,
        # in the request's context, since the stream is iterated later on a worker thread
        gone = client_gone_event()
        disconnected: Callable[[], bool] = (lambda: gone.is_set()) if gone is not None else (lambda: False)

        def local() -> Response:
            stream = services.need_live().open_stream(camera_name, options, float(query.fps), disconnected)
            return Response(stream, content_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}", headers=NO_STORE)

        # a camera another node runs: its stream relayed from there (media/locate.py)
        return services.locator.serve(local, lambda: services.locator.camera_owner(camera_name))

    @bp.get(
        "/api/<camera_name>/live.mp4",
        responses={200: LIVE_MP4, **errors(404, 503)},
        description="The stream of the input with the record role (else rtmp, else detect), from the restream "
        "when it runs. It starts at the last key frame, which the daemon keeps in memory, so a player starts at "
        "once; every viewer shares one ffmpeg. Video only. 503 while the camera has sent no key frame.",
    )
    def live_mp4(path: CameraPath) -> Response:
        """Live video at camera quality"""
        camera_name = path.camera_name
        gone = client_gone_event()
        disconnected: Callable[[], bool] = (lambda: gone.is_set()) if gone is not None else (lambda: False)

        def local() -> Response:
            content_type, body = required(services.live_video, "live video").open(camera_name, disconnected)
            # streamed for as long as the client reads; no length, no ranges, never cached
            return Response(body, content_type=content_type, headers=NO_STORE, direct_passthrough=True)

        # a camera another node runs: its stream relayed from there (media/locate.py)
        return services.locator.serve(local, lambda: services.locator.camera_owner(camera_name))

    @bp.get(
        "/api/<camera_name>/latest.jpg",
        responses={200: JPEG, **errors(400, 404, 503, 502)},
        description="503 until the camera has delivered its first frame. h: default the detect resolution.",
    )
    def latest(path: CameraPath, query: ViewQuery) -> Response:
        """The latest processed frame"""
        camera_name, options = path.camera_name, query.view_options(None)
        return services.locator.serve(
            lambda: jpeg_response(services.need_live().latest_jpeg(camera_name, options)),
            lambda: services.locator.camera_owner(camera_name),
        )

    @bp.get(
        "/api/<camera_name>/<label>/best.jpg",
        responses={200: JPEG, **errors(400, 404, 502)},
        description="The best frame of a live object of that label, else of the last one that ended (after a "
        "restart: the last saved snapshot, resized, crop not applied). h: default full size.",
    )
    def best(path: LabelPath, query: BestQuery) -> Response:
        """The best picture of a label"""
        camera_name, label, height = path.camera_name, path.label, query.height_or(None)
        return services.locator.serve(
            lambda: jpeg_response(services.need_media().best_jpeg(camera_name, label, height, query.crop)),
            lambda: services.locator.camera_owner(camera_name),
        )

    return bp
