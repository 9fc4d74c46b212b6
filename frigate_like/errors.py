"""The one exception root; each subclass tells the caller what to do about it."""

from __future__ import annotations


class FrigateLikeError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(FrigateLikeError):
    """The user's configuration is wrong: fix the file, do not retry.

    ``problems`` holds one line per mistake, each starting with its key path
    (``cameras.back.zones.steps.coordinates: a polygon needs at least 3 points``).
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class BadRequest(FrigateLikeError):
    """A request's parameters are invalid (HTTP 400)."""


class Unauthorized(FrigateLikeError):
    """A request lacks the credentials the endpoint needs (HTTP 401)."""


class Forbidden(FrigateLikeError):
    """The request is refused whatever its credentials: a foreign Host or Origin (HTTP 403)."""


class NotFound(FrigateLikeError):
    """The named camera, event, label or file does not exist (HTTP 404)."""


class Conflict(FrigateLikeError):
    """The request clashes with the current state (HTTP 409)."""


class PayloadTooLarge(FrigateLikeError):
    """The request body is over the configured limit (HTTP 413)."""


class UnsupportedMediaType(FrigateLikeError):
    """A state-changing request without a JSON body type and without a token (HTTP 415)."""


class Unavailable(FrigateLikeError):
    """A dependency is down for now (camera, detector, broker): retry later."""


class CameraUnavailable(Unavailable):
    """A camera's stream cannot be opened or stopped delivering frames."""


class DetectorUnavailable(Unavailable):
    """A detector cannot start (no Coral attached, model missing, ...)."""


class BadGateway(FrigateLikeError):
    """Another node of the cluster, which holds what was asked for, does not answer (HTTP 502)."""
