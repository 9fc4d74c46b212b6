"""The web UI: one page at ``/`` and its static files at ``/ui/<name>``, shipped inside the package.

Plain ES modules and CSS, no build step and no CDN, so a checkout or a wheel serves the same
files. Only the names present in ``static/`` when the app is built are served: nothing else of
the file system is reachable through ``/ui/``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, send_file
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from frigate_like.api.openapi import errors
from frigate_like.api.params import PathModel
from frigate_like.errors import NotFound
from frigate_like.files import resolve_inside

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = "index.html"
PAGE = {"description": "the web UI's page", "content": {"text/html": {"schema": {"type": "string"}}}}


class AssetPath(PathModel):
    name: str = Field(description="a file name of the UI", json_schema_extra={"example": "app.js"})


def web_blueprint(static_dir: Path = STATIC_DIR) -> APIBlueprint:
    bp = APIBlueprint("web", __name__, abp_tags=[Tag(name="web")])
    assets = frozenset(p.name for p in static_dir.iterdir() if p.is_file())

    def serve(name: str) -> Response:
        if name not in assets:
            raise NotFound(f"no such file: {name!r}")
        # max_age=0 + ETag: the browser revalidates, so an upgraded daemon never runs stale scripts
        return send_file(resolve_inside(static_dir, name), max_age=0)

    @bp.get("/", responses={200: PAGE})
    def index() -> Response:
        """The web UI"""
        return serve(INDEX)

    @bp.get("/ui/<name>", responses={200: {"description": "the file"}, **errors(404)})
    def asset(path: AssetPath) -> Response:
        """A file of the web UI (JavaScript module, style sheet)"""
        return serve(path.name)

    return bp
