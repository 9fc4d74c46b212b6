"""Event files: /clips/<camera>-<id>.mp4 and .jpg, with HTTP range requests so a <video> can seek; a clip
another node of the cluster wrote comes from there (media/locate.py)."""

from __future__ import annotations

from flask import Response, send_file
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from frigate_like.api.openapi import errors
from frigate_like.api.params import PathModel
from frigate_like.api.service import ApiServices
from frigate_like.errors import NotFound


class ClipPath(PathModel):
    name: str = Field(description="<camera>-<event id>.mp4 (the clip) or .jpg (the snapshot file)",
                      json_schema_extra={"example": "front-1607123955.475377-mxklsc.mp4"})  # fmt: skip


FILE = {
    "description": "the whole file",
    "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in ("video/mp4", "image/jpeg")},
}


def clips_blueprint(services: ApiServices) -> APIBlueprint:
    bp = APIBlueprint("clips", __name__, abp_tags=[Tag(name="clips")])

    @bp.get(
        "/clips/<name>",
        responses={200: FILE, 206: {**FILE, "description": "the requested byte range"}, **errors(404, 416, 502)},
        description="Range requests (a byte range: seeking in a <video>) are answered with 206.",
    )
    def clip(path: ClipPath) -> Response:
        """An event's clip or snapshot file"""
        name = path.name

        def local() -> Response:
            file = services.need_media().media_file(name)
            try:
                # conditional=True answers Range (206), If-Range, If-None-Match and If-Modified-Since
                return send_file(file, conditional=True, max_age=0)
            except OSError:  # removed (retention) between the check and the open
                raise NotFound(f"no such file: {name!r}") from None

        return services.locator.serve(local, lambda: services.locator.clip_owner(name))

    return bp
