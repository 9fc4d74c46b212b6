"""Service endpoints: /api/, /api/version, /api/stats, /api/config, /api/cluster, /metrics (Prometheus)."""

from __future__ import annotations

from flask import Response, jsonify
from flask_openapi3 import APIBlueprint, Tag

from frigate_like import __version__
from frigate_like.api.openapi import errors, text
from frigate_like.api.openapi_models import AnyObject, Cluster, Stats
from frigate_like.api.service import ApiServices, required
from frigate_like.prometheus import CONTENT_TYPE


def system_blueprint(services: ApiServices) -> APIBlueprint:
    bp = APIBlueprint("system", __name__, abp_tags=[Tag(name="system")])

    @bp.get("/api/", responses={200: text("a plain-text alive message")})
    def alive() -> Response:
        """Alive message"""
        return Response("frigate-like is running. Alive and healthy!", mimetype="text/plain")

    @bp.get("/api/version", responses={200: text("the version, plain text (Home Assistant reads it)")})
    def version() -> Response:
        """Version"""
        # Home Assistant's integration reads this as plain text.
        return Response(__version__, mimetype="text/plain")

    @bp.get("/api/stats", responses={200: Stats})
    def stats() -> Response:
        """Runtime statistics: per camera, detector and service"""
        return jsonify(services.stats())

    @bp.get(
        "/metrics",
        responses={
            200: text("the Prometheus text format: cameras, detectors, events, leases, database and MQTT health, "
                      "each labelled with the node"),
            **errors(503),
        },
    )  # fmt: skip
    def metrics() -> Response:
        """Prometheus metrics of this node"""
        # a read like /api/stats: open, or with the token under http.auth: required (Prometheus sends a Bearer)
        body = required(services.metrics, "metrics")()
        return Response(body, content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    @bp.get("/api/config", responses={200: AnyObject})
    def config() -> Response:
        """The effective config (passwords and URL credentials masked)"""
        return jsonify(services.public_config())

    @bp.get("/api/cluster", responses={200: Cluster, **errors(503)})
    def cluster() -> Response:
        """The nodes of the cluster and the cameras each runs (a single node: itself)"""
        # a single node answers with itself: the cluster of one
        return jsonify({"nodes": required(services.cluster, "the cluster view")()})

    return bp
