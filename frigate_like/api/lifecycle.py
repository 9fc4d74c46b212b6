"""The daemon's own endpoints: ``/health`` and ``/shutdown`` (a state change: see api/access.py)."""

from __future__ import annotations

import json

from flask import Response, jsonify
from flask_openapi3 import APIBlueprint, Tag

from frigate_like.api.access import changes_state
from frigate_like.api.openapi import errors
from frigate_like.api.openapi_models import HealthCheck, ShutdownStarted
from frigate_like.api.service import ApiServices
from frigate_like.errors import Unavailable

HEALTHY = "Hello👋"


def lifecycle_blueprint(services: ApiServices) -> APIBlueprint:
    bp = APIBlueprint("lifecycle", __name__, abp_tags=[Tag(name="system")])

    @bp.get("/health", responses={200: HealthCheck})
    def health() -> Response:
        """Health check"""
        # a JSON string, written as UTF-8 rather than \\u escapes: curl shows the wave
        return Response(json.dumps(HEALTHY, ensure_ascii=False), mimetype="application/json")

    @bp.get("/shutdown", responses={200: ShutdownStarted, **errors(503)})
    @changes_state
    def shutdown() -> Response:
        """Clean shutdown (a state change: the token or loopback)"""
        if services.shutdown is None:
            raise Unavailable("this process cannot be shut down over HTTP")
        response = jsonify({"status": "shutdown_initiated", "message": "Server shutting down. Goodbye!"})
        # once the answer is out: the shutdown stops the HTTP server first
        response.call_on_close(services.shutdown)
        return response

    return bp
