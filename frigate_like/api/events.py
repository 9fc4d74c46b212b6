"""Event endpoints: /api/events with Frigate 0.8's filters, summary, one event, its thumbnail and snapshot."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, jsonify, request, send_file

from frigate_like.api.params import flag_param, float_param, height_param, int_param, str_param
from frigate_like.api.service import ApiServices
from frigate_like.errors import BadRequest, NotFound
from frigate_like.events.media import SnapshotRequest

MAX_LIMIT = 10_000
THUMBNAIL_FORMATS = ("ios", "android")


def events_blueprint(services: ApiServices) -> Blueprint:
    bp = Blueprint("events", __name__)

    @bp.get("/api/events")
    def list_events() -> Response:
        args = request.args
        rows = services.need_events().list_events(
            before=float_param(args, "before"),
            after=float_param(args, "after"),
            camera=str_param(args, "camera"),
            label=str_param(args, "label"),
            zone=str_param(args, "zone"),
            limit=int_param(args, "limit", 100, minimum=1, maximum=MAX_LIMIT),
            has_snapshot=flag_param(args, "has_snapshot"),
            has_clip=flag_param(args, "has_clip"),
            include_thumbnails=bool(flag_param(args, "include_thumbnails", True)),
            include_in_progress=bool(flag_param(args, "include_in_progress", False)),
        )
        return jsonify(rows)

    @bp.get("/api/events/summary")
    def summary() -> Response:
        args = request.args
        rows = services.need_events().events_summary(
            include_in_progress=bool(flag_param(args, "include_in_progress", False)),
            has_clip=flag_param(args, "has_clip"),
            has_snapshot=flag_param(args, "has_snapshot"),
        )
        return jsonify(rows)

    @bp.get("/api/events/<event_id>")
    def one_event(event_id: str) -> Response:
        event = services.need_events().get_event(event_id)
        if event is None:
            raise NotFound(f"event {event_id!r} not found")
        return jsonify(event)

    @bp.get("/api/events/<event_id>/thumbnail.jpg")
    def thumbnail(event_id: str) -> Response:
        kind = request.args.get("format") or "ios"
        if kind not in THUMBNAIL_FORMATS:
            raise BadRequest(f"format must be one of {', '.join(THUMBNAIL_FORMATS)}, got {kind!r}")

        def local() -> Response:
            jpeg = services.need_media().thumbnail_jpeg(event_id, android=kind == "android")
            return Response(jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})

        # in progress on another node: its picture is in that node's memory
        return services.locator.serve(local, lambda: services.locator.event_owner(event_id))

    @bp.get("/api/events/<event_id>/snapshot.jpg")
    def snapshot(event_id: str) -> Response:
        args = request.args
        wanted = SnapshotRequest(
            height=height_param(args),
            bbox=flag_param(args, "bbox"),
            timestamp=flag_param(args, "timestamp"),
            crop=flag_param(args, "crop"),
        )

        def local() -> Response:
            picture = services.need_media().snapshot(event_id, wanted)
            if isinstance(picture, Path):
                return send_file(picture, mimetype="image/jpeg", conditional=True, max_age=0)
            return Response(picture, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})

        return services.locator.serve(local, lambda: services.locator.event_owner(event_id))

    return bp
