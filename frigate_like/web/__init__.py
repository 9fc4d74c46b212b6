"""The web UI: one page at ``/`` and its static files at ``/ui/<name>``, shipped inside the package.

Plain ES modules and CSS, no build step and no CDN, so a checkout or a wheel serves the same
files. Only the names present in ``static/`` when the app is built are served: nothing else of
the file system is reachable through ``/ui/``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_file

from frigate_like.errors import NotFound
from frigate_like.files import resolve_inside

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = "index.html"


def web_blueprint(static_dir: Path = STATIC_DIR) -> Blueprint:
    bp = Blueprint("web", __name__)
    assets = frozenset(p.name for p in static_dir.iterdir() if p.is_file())

    def serve(name: str) -> Response:
        if name not in assets:
            raise NotFound(f"no such file: {name!r}")
        # max_age=0 + ETag: the browser revalidates, so an upgraded daemon never runs stale scripts
        return send_file(resolve_inside(static_dir, name), max_age=0)

    @bp.get("/")
    def index() -> Response:
        return serve(INDEX)

    @bp.get("/ui/<name>")
    def asset(name: str) -> Response:
        return serve(name)

    return bp
