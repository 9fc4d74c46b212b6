"""The API's own description: /api/openapi.json and an interactive Swagger UI page at /docs (no CDN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from flask import Response, current_app, jsonify, send_file
from flask_openapi3 import APIBlueprint, OpenAPI, Tag
from pydantic import Field
from swagger_ui_bundle import swagger_ui_path

from frigate_like.api.openapi import Document, openapi_document, text
from frigate_like.api.openapi_models import AnyObject
from frigate_like.api.params import PathModel
from frigate_like.api.service import ApiServices
from frigate_like.errors import NotFound
from frigate_like.files import resolve_inside

# The only Swagger UI files the page loads; nothing else of the package folder is served.
ASSETS = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
        "favicon-16x16.png",
    }
)
# Links are relative to /docs so the page also works behind a reverse proxy's path prefix.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>frigate-like API</title>
  <link rel="stylesheet" type="text/css" href="docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js" charset="UTF-8"></script>
  <script src="docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
  <script>
    window.onload = function () {
      window.ui = SwaggerUIBundle({
        url: "api/openapi.json",
        dom_id: "#swagger-ui",
        deepLinking: true,
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
        layout: "StandaloneLayout"
      });
    };
  </script>
</body>
</html>
"""


def _examples(config: Any) -> tuple[str | None, str | None]:
    """A real camera and one of its labels, so "Try it out" works as it opens."""
    cameras = getattr(config, "cameras", None) or {}
    for name, cam in cameras.items():
        track = list(getattr(getattr(cam, "objects", None), "track", []) or [])
        return name, (track[0] if track else None)
    return None, None


class AssetPath(PathModel):
    asset: str = Field(description="a file of the Swagger UI page")


def docs_blueprint(services: ApiServices) -> APIBlueprint:
    bp = APIBlueprint("docs", __name__, abp_tags=[Tag(name="system")])
    examples = _examples(services.config)
    made: list[Document] = []  # the document, made on the first request: every route is declared by then

    @bp.get("/api/openapi.json", responses={200: AnyObject})
    def openapi() -> Response:
        """This document (OpenAPI 3)"""
        if not made:
            made.append(openapi_document(cast(OpenAPI, current_app), *examples))
        return jsonify(made[0])

    @bp.get("/docs", responses={200: text("HTML page", "text/html")})
    def page() -> Response:
        """Interactive API documentation"""
        return Response(PAGE, mimetype="text/html")

    @bp.get("/docs/<asset>", doc_ui=False)  # the page's own files: not part of the API
    def asset(path: AssetPath) -> Response:
        if path.asset not in ASSETS:
            raise NotFound(f"no such file: {path.asset!r}")
        return send_file(resolve_inside(Path(swagger_ui_path), path.asset), max_age=86400)

    return bp
