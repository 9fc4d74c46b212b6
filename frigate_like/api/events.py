"""Event endpoints: /api/events with Frigate 0.8's filters, summary, one event, its thumbnail and snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from flask import Response, jsonify, send_file
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BeforeValidator, Field

from frigate_like.api.openapi import binary, errors
from frigate_like.api.openapi_models import Event, EventList, Summary
from frigate_like.api.params import EpochQuery, Flag, HeightQuery, Int, PathModel, QueryModel, QueryText, flag, invalid
from frigate_like.api.service import ApiServices
from frigate_like.errors import NotFound
from frigate_like.events.media import SnapshotRequest

MAX_LIMIT = 10_000
THUMBNAIL_FORMATS = ("ios", "android")
JPEG = binary("image/jpeg", "a JPEG picture")


class ProgressQuery(QueryModel):
    has_snapshot: Flag | None = Field(None, description="only events with (1) or without (0) a snapshot")
    has_clip: Flag | None = Field(None, description="only events with (1) or without (0) a clip")
    include_in_progress: Flag = flag(
        False, "1 also lists events still in progress (end_time null); by default only ended ones, as Frigate 0.8"
    )


class EventsQuery(ProgressQuery):
    before: EpochQuery | None = Field(None, description="only events that started before this epoch time")
    after: EpochQuery | None = Field(None, description="only events that started after this epoch time")
    camera: QueryText | None = Field(None, description="camera name")
    label: QueryText | None = Field(None, description="label name")
    zone: QueryText | None = Field(None, description="only events that entered this zone")
    limit: Int = Field(100, ge=1, le=MAX_LIMIT, description="at most this many")
    include_thumbnails: Flag = flag(True, "include base64 thumbnails")


class EventPath(PathModel):
    event_id: str = Field(description="an event id", json_schema_extra={"example": "1607123955.475377-mxklsc"})


def _thumbnail_format(raw: object) -> object:
    if raw not in THUMBNAIL_FORMATS:
        invalid("format", f"must be one of {', '.join(THUMBNAIL_FORMATS)}, got {{raw}}", raw)
    return raw


class ThumbnailQuery(QueryModel):
    format: Annotated[Literal["ios", "android"], BeforeValidator(_thumbnail_format)] = Field(
        "ios", description="android: padded to a 2:1 aspect"
    )


class SnapshotQuery(HeightQuery):
    bbox: Flag | None = Field(None, description="draw the box (default: the camera's snapshots.bounding_box)")
    timestamp: Flag | None = Field(None, description="print the time (default: the camera's snapshots.timestamp)")
    crop: Flag | None = Field(None, description="crop to the object (default: the camera's snapshots.crop)")


def events_blueprint(services: ApiServices) -> APIBlueprint:
    bp = APIBlueprint("events", __name__, abp_tags=[Tag(name="events")])

    @bp.get(
        "/api/events",
        responses={200: EventList, **errors(400, 503)},
        description="Ended events only, as Frigate 0.8 (Home Assistant computes end_time - start_time); "
        "include_in_progress=1 adds running ones with end_time null.",
    )
    def list_events(query: EventsQuery) -> Response:
        """Events, newest first"""
        rows = services.need_events().list_events(
            before=query.before,
            after=query.after,
            camera=query.camera,
            label=query.label,
            zone=query.zone,
            limit=query.limit,
            has_snapshot=query.has_snapshot,
            has_clip=query.has_clip,
            include_thumbnails=query.include_thumbnails,
            include_in_progress=query.include_in_progress,
        )
        return jsonify(rows)

    @bp.get(
        "/api/events/summary",
        responses={200: Summary, **errors(400, 503)},
        description="Counts of ended events grouped by camera, label, local day, zones, has_clip and has_snapshot.",
    )
    def summary(query: ProgressQuery) -> Response:
        """Event counts"""
        rows = services.need_events().events_summary(
            include_in_progress=query.include_in_progress, has_clip=query.has_clip, has_snapshot=query.has_snapshot
        )
        return jsonify(rows)

    @bp.get("/api/events/<event_id>", responses={200: Event, **errors(404, 503)})
    def one_event(path: EventPath) -> Response:
        """One event"""
        event = services.need_events().get_event(path.event_id)
        if event is None:
            raise NotFound(f"event {path.event_id!r} not found")
        return jsonify(event)

    @bp.get(
        "/api/events/<event_id>/thumbnail.jpg",
        responses={200: JPEG, **errors(400, 404, 503, 502)},
        description="Works while the event is in progress (from the live object's best frame) and after.",
    )
    def thumbnail(path: EventPath, query: ThumbnailQuery) -> Response:
        """An event's thumbnail"""
        event_id = path.event_id

        def local() -> Response:
            jpeg = services.need_media().thumbnail_jpeg(event_id, android=query.format == "android")
            return Response(jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})

        # in progress on another node: its picture is in that node's memory
        return services.locator.serve(local, lambda: services.locator.event_owner(event_id))

    @bp.get(
        "/api/events/<event_id>/snapshot.jpg",
        responses={200: JPEG, **errors(400, 404, 503, 502)},
        description="While the event is in progress the best frame is drawn with these parameters; once it ended "
        "the saved snapshot is returned unchanged. h: default the camera's snapshots.height, else full size.",
    )
    def snapshot(path: EventPath, query: SnapshotQuery) -> Response:
        """An event's snapshot"""
        event_id = path.event_id
        wanted = SnapshotRequest(
            height=query.height_or(None), bbox=query.bbox, timestamp=query.timestamp, crop=query.crop
        )

        def local() -> Response:
            picture = services.need_media().snapshot(event_id, wanted)
            if isinstance(picture, Path):
                return send_file(picture, mimetype="image/jpeg", conditional=True, max_age=0)
            return Response(picture, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})

        return services.locator.serve(local, lambda: services.locator.event_owner(event_id))

    return bp
