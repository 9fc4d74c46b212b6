"""Event files: /clips/<camera>-<id>.mp4 and .jpg, with HTTP range requests so a <video> can seek; a clip
another node of the cluster wrote comes from there (media/locate.py)."""

from __future__ import annotations

from flask import Blueprint, Response, send_file

from frigate_like.api.service import ApiServices
from frigate_like.errors import NotFound


def clips_blueprint(services: ApiServices) -> Blueprint:
    bp = Blueprint("clips", __name__)

    @bp.get("/clips/<name>")
    def clip(name: str) -> Response:
        def local() -> Response:
            path = services.need_media().media_file(name)
            try:
                # conditional=True answers Range (206), If-Range, If-None-Match and If-Modified-Since
                return send_file(path, conditional=True, max_age=0)
            except OSError:  # removed (retention) between the check and the open
                raise NotFound(f"no such file: {name!r}") from None

        return services.locator.serve(local, lambda: services.locator.clip_owner(name))

    return bp
