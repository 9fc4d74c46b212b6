"""Live pictures: the MJPEG debug stream, latest.jpg and a label's best.jpg (of a camera another node runs:
from that node, media/locate.py)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, request

from frigate_like.api.bridge import client_gone_event
from frigate_like.api.params import flag_param, height_param, int_param, view_options
from frigate_like.api.service import ApiServices, required
from frigate_like.events.mjpeg import BOUNDARY

MJPEG_DEFAULT_FPS = 3
MJPEG_MAX_FPS = 30
MJPEG_DEFAULT_HEIGHT = 360
NO_STORE = {"Cache-Control": "no-store"}  # live pictures change every frame


def jpeg_response(jpeg: bytes) -> Response:
    return Response(jpeg, mimetype="image/jpeg", headers=NO_STORE)


def media_blueprint(services: ApiServices) -> Blueprint:
    bp = Blueprint("media", __name__)

    @bp.get("/api/<camera_name>")
    def mjpeg(camera_name: str) -> Response:
        args = request.args
        fps = int_param(args, "fps", MJPEG_DEFAULT_FPS, minimum=1, maximum=MJPEG_MAX_FPS)
        options = view_options(args, MJPEG_DEFAULT_HEIGHT)
        # the server bridge sets this event when the client hangs up or the server stops; taken here,
        # in the request's context, since the stream is iterated later on a worker thread
        gone = client_gone_event()
        disconnected: Callable[[], bool] = (lambda: gone.is_set()) if gone is not None else (lambda: False)

        def local() -> Response:
            stream = services.need_live().open_stream(
                camera_name, options, float(fps or MJPEG_DEFAULT_FPS), disconnected
            )
            return Response(stream, content_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}", headers=NO_STORE)

        # a camera another node runs: its stream relayed from there (media/locate.py)
        return services.locator.serve(local, lambda: services.locator.camera_owner(camera_name))

    @bp.get("/api/<camera_name>/live.mp4")
    def live_mp4(camera_name: str) -> Response:
        gone = client_gone_event()
        disconnected: Callable[[], bool] = (lambda: gone.is_set()) if gone is not None else (lambda: False)

        def local() -> Response:
            content_type, body = required(services.live_video, "live video").open(camera_name, disconnected)
            # streamed for as long as the client reads; no length, no ranges, never cached
            return Response(body, content_type=content_type, headers=NO_STORE, direct_passthrough=True)

        # a camera another node runs: its stream relayed from there (media/locate.py)
        return services.locator.serve(local, lambda: services.locator.camera_owner(camera_name))

    @bp.get("/api/<camera_name>/latest.jpg")
    def latest(camera_name: str) -> Response:
        options = view_options(request.args, None)
        return services.locator.serve(
            lambda: jpeg_response(services.need_live().latest_jpeg(camera_name, options)),
            lambda: services.locator.camera_owner(camera_name),
        )

    @bp.get("/api/<camera_name>/<label>/best.jpg")
    def best(camera_name: str, label: str) -> Response:
        args = request.args
        height, crop = height_param(args), bool(flag_param(args, "crop", False))
        return services.locator.serve(
            lambda: jpeg_response(services.need_media().best_jpeg(camera_name, label, height, crop)),
            lambda: services.locator.camera_owner(camera_name),
        )

    return bp
