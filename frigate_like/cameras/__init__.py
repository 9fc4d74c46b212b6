"""The camera registry: the one set of running cameras, and the subscribers that follow it."""

from frigate_like.cameras.registry import (
    CONFIG_SOURCE,
    Camera,
    CameraConfigs,
    CameraRegistry,
    CameraSubscriber,
    RestartOnUpdate,
)

__all__ = ["CONFIG_SOURCE", "Camera", "CameraConfigs", "CameraRegistry", "CameraSubscriber", "RestartOnUpdate"]
