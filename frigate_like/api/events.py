"""Event endpoints: /api/events with Frigate 0.8's filters, summary, one event."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from frigate_like.api.params import flag_param, float_param, int_param, str_param
from frigate_like.api.service import ApiServices
from frigate_like.errors import NotFound

MAX_LIMIT = 10_000


def events_blueprint(services: ApiServices) -> Blueprint:
    bp = Blueprint("events", __name__)

    @bp.get("/api/events")
    def list_events() -> Response:
        args = request.args
        rows = services.events.list_events(
            before=float_param(args, "before"),
            after=float_param(args, "after"),
            camera=str_param(args, "camera"),
            label=str_param(args, "label"),
            zone=str_param(args, "zone"),
            limit=int_param(args, "limit", 100, minimum=1, maximum=MAX_LIMIT),
            has_snapshot=flag_param(args, "has_snapshot"),
            has_clip=flag_param(args, "has_clip"),
        )
        if not flag_param(args, "include_thumbnails", True):
            for row in rows:
                row.pop("thumbnail", None)
        return jsonify(rows)

    @bp.get("/api/events/summary")
    def summary() -> Response:
        return jsonify(services.events.events_summary())

    @bp.get("/api/events/<event_id>")
    def one_event(event_id: str) -> Response:
        event = services.events.get_event(event_id)
        if event is None:
            raise NotFound(f"event {event_id!r} not found")
        return jsonify(event)

    return bp
