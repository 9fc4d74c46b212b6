"""Service endpoints: /api/, /api/version, /api/stats, /api/config, /api/cluster, /metrics (Prometheus)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from frigate_like import __version__
from frigate_like.api.service import ApiServices, required
from frigate_like.prometheus import CONTENT_TYPE


def system_blueprint(services: ApiServices) -> Blueprint:
    bp = Blueprint("system", __name__)

    @bp.get("/api/")
    def alive() -> Response:
        return Response("frigate-like is running. Alive and healthy!", mimetype="text/plain")

    @bp.get("/api/version")
    def version() -> Response:
        # Home Assistant's integration reads this as plain text.
        return Response(__version__, mimetype="text/plain")

    @bp.get("/api/stats")
    def stats() -> Response:
        return jsonify(services.stats())

    @bp.get("/metrics")
    def metrics() -> Response:
        # a read like /api/stats: open, or with the token under http.auth: required (Prometheus sends a Bearer)
        body = required(services.metrics, "metrics")()
        return Response(body, content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    @bp.get("/api/config")
    def config() -> Response:
        return jsonify(services.public_config())

    @bp.get("/api/cluster")
    def cluster() -> Response:
        # a single node answers with itself: the cluster of one
        return jsonify({"nodes": required(services.cluster, "the cluster view")()})

    return bp
