"""The HTTP API: an app factory that wires blueprints to the running services."""

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
    from frigate_like.api.playback import playback_blueprint
    from frigate_like.api.recording_files import recording_files_blueprint
    from frigate_like.api.recordings import recordings_blueprint
    from frigate_like.api.switches import switches_blueprint
    from frigate_like.api.system import system_blueprint
    from frigate_like.web import web_blueprint

    app = Flask("frigate_like", static_folder=None)  # every file served goes through files.resolve_inside
    app.config["SERVICES"] = services
    app.json = BoundedJSONProvider(app)
    app.json.sort_keys = False
    register_error_handlers(app)
    install_access(app, AccessPolicy.from_config(services.config.http if services.config is not None else None))
    app.register_blueprint(system_blueprint(services))
    app.register_blueprint(events_blueprint(services))
    app.register_blueprint(recordings_blueprint(services))
    app.register_blueprint(manual_recording_blueprint(services))
    app.register_blueprint(playback_blueprint(services))
    app.register_blueprint(media_blueprint(services))
    app.register_blueprint(clips_blueprint(services))
    app.register_blueprint(recording_files_blueprint(services))
    app.register_blueprint(docs_blueprint(services))
    app.register_blueprint(lifecycle_blueprint(services))
    app.register_blueprint(cameras_blueprint(services))
    app.register_blueprint(switches_blueprint(services))
    app.register_blueprint(web_blueprint())
    return app


__all__ = ["ApiServices", "create_app"]
