"""The HTTP API: an app factory that wires blueprints to the running services.

The app is flask-openapi3's ``OpenAPI`` (a Flask app): each route declares its parameters as pydantic models,
which validate requests and make the OpenAPI document (api/openapi.py, api/params.py).
"""

from __future__ import annotations

from flask import Flask

from frigate_like.api.access import AccessPolicy, install_access
from frigate_like.api.errors import register_error_handlers
from frigate_like.api.limits import BoundedJSONProvider
from frigate_like.api.service import ApiServices


def create_app(services: ApiServices) -> Flask:
    from frigate_like.api.cameras import cameras_blueprint
    from frigate_like.api.clips import clips_blueprint
    from frigate_like.api.docs import docs_blueprint
    from frigate_like.api.events import events_blueprint
    from frigate_like.api.lifecycle import lifecycle_blueprint
    from frigate_like.api.manual_recording import manual_recording_blueprint
    from frigate_like.api.media import media_blueprint
    from frigate_like.api.openapi import new_app
    from frigate_like.api.playback import playback_blueprint
    from frigate_like.api.recording_files import recording_files_blueprint
    from frigate_like.api.recordings import recordings_blueprint
    from frigate_like.api.switches import switches_blueprint
    from frigate_like.api.system import system_blueprint
    from frigate_like.web import web_blueprint

    app = new_app("frigate_like")
    app.config["SERVICES"] = services
    app.json = BoundedJSONProvider(app)
    app.json.sort_keys = False
    register_error_handlers(app)
    install_access(app, AccessPolicy.from_config(services.config.http if services.config is not None else None))
    for blueprint in (
        system_blueprint(services),
        events_blueprint(services),
        recordings_blueprint(services),
        manual_recording_blueprint(services),
        playback_blueprint(services),
        media_blueprint(services),
        clips_blueprint(services),
        recording_files_blueprint(services),
        docs_blueprint(services),
        lifecycle_blueprint(services),
        cameras_blueprint(services),
        switches_blueprint(services),
        web_blueprint(),
    ):
        app.register_api(blueprint)
    return app


__all__ = ["ApiServices", "create_app"]
