"""The HTTP API: an app factory that wires blueprints to the running services."""

from __future__ import annotations

from flask import Flask

from frigate_like.api.errors import register_error_handlers
from frigate_like.api.service import ApiServices


def create_app(services: ApiServices) -> Flask:
    from frigate_like.api.cameras import cameras_blueprint
    from frigate_like.api.events import events_blueprint
    from frigate_like.api.lifecycle import lifecycle_blueprint
    from frigate_like.api.system import system_blueprint

    app = Flask("frigate_like")
    app.config["SERVICES"] = services
    app.json.sort_keys = False  # type: ignore[attr-defined]
    register_error_handlers(app)
    app.register_blueprint(system_blueprint(services))
    app.register_blueprint(events_blueprint(services))
    app.register_blueprint(lifecycle_blueprint(services))
    app.register_blueprint(cameras_blueprint(services))
    return app


__all__ = ["ApiServices", "create_app"]
