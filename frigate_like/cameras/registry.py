"""The one set of running cameras: every camera is added, updated, paused and removed here.

YAML cameras are added at start-up (source ``"config"``) and camera groups add theirs at
run time (source = the group id); both take the same path. Each subsystem that keeps
per-camera state is a :class:`CameraSubscriber` and owns that state; nobody else adds a
camera to anything.

Delivery order is the subscription order for ``added``, ``updated``, ``paused`` and
``resumed``, and the reverse for ``removed``: the frame ring is subscribed first and the
camera process last, so a process starts after everything that reads its frames exists
and stops before any of it goes away. One change is delivered at a time (a lock orders
them); a subscriber must not call back into the registry from a callback.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from frigate_like.config import CameraConfig
from frigate_like.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

CONFIG_SOURCE = "config"  # the source (group id) of the cameras of the YAML config


@dataclass(frozen=True)
class Camera:
    """A running camera: its resolved config (never changed: an update is a new ``Camera``)."""

    config: CameraConfig
    source: str  # "config" for YAML cameras, else the id of the camera group that added it
    paused: bool = False

    @property
    def name(self) -> str:
        return self.config.name


class CameraSubscriber(Protocol):
    """Keeps its own per-camera state in step with the registry.

    ``camera_updated`` gets the old and the new camera (same name, new config). A callback
    that raises in ``camera_added`` undoes the add: every subscriber that already saw it
    gets ``camera_removed`` and the registry re-raises.
    """

    def camera_added(self, camera: Camera) -> None: ...
    def camera_updated(self, old: Camera, new: Camera) -> None: ...
    def camera_paused(self, camera: Camera) -> None: ...
    def camera_resumed(self, camera: Camera) -> None: ...
    def camera_removed(self, camera: Camera) -> None: ...


class RestartOnUpdate(ABC):
    """A subscriber base: an update is the old camera removed then the new one added; pause ignored."""

    @abstractmethod
    def camera_added(self, camera: Camera) -> None: ...

    @abstractmethod
    def camera_removed(self, camera: Camera) -> None: ...

    def camera_updated(self, old: Camera, new: Camera) -> None:
        self.camera_removed(old)
        self.camera_added(new)

    def camera_paused(self, camera: Camera) -> None:
        return None  # a paused camera keeps its state: its process only drops frames

    def camera_resumed(self, camera: Camera) -> None:
        return None


class CameraConfigs(Mapping[str, CameraConfig]):
    """A read-only, always current view of the running cameras' configs (name → config)."""

    def __init__(self, registry: CameraRegistry) -> None:
        self._registry = registry

    def __getitem__(self, name: str) -> CameraConfig:
        return self._registry.snapshot()[name].config

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry.snapshot())

    def __len__(self) -> int:
        return len(self._registry.snapshot())


class CameraRegistry:
    """``{name: Camera}`` and its subscribers; every method is safe to call from any thread."""

    def __init__(self) -> None:
        self._cameras: dict[str, Camera] = {}  # replaced on every change, never changed in place
        self._subscribers: list[CameraSubscriber] = []
        self._lock = threading.RLock()
        self.configs = CameraConfigs(self)

    def subscribe(self, subscriber: CameraSubscriber) -> None:
        """Adds a subscriber; it is told about the cameras already running."""
        with self._lock:
            self._subscribers.append(subscriber)
            for camera in self._cameras.values():
                subscriber.camera_added(camera)

    # -- reads ----------------------------------------------------------------------------------
    def snapshot(self) -> Mapping[str, Camera]:
        """The cameras now (an immutable map: safe to iterate while cameras change)."""
        return self._cameras

    def get(self, name: str) -> Camera:
        camera = self._cameras.get(name)
        if camera is None:
            raise NotFound(f"no camera named {name!r}")
        return camera

    def names(self, source: str | None = None) -> list[str]:
        """Camera names, all or those of one source."""
        return [name for name, cam in self._cameras.items() if source is None or cam.source == source]

    # -- changes --------------------------------------------------------------------------------
    def add(self, config: CameraConfig, source: str, *, paused: bool = False) -> Camera:
        """Starts a camera; ``Conflict`` if the name is taken; a subscriber's error undoes the add."""
        camera = Camera(config, source, paused)
        with self._lock:
            if camera.name in self._cameras:
                raise Conflict(f"a camera named {camera.name!r} already runs")
            before = self._cameras
            self._cameras = {**before, camera.name: camera}  # subscribers see the camera as running
            told: list[CameraSubscriber] = []
            try:
                for subscriber in self._subscribers:
                    subscriber.camera_added(camera)
                    told.append(subscriber)
            except BaseException:
                self._cameras = before
                for subscriber in reversed(told):
                    self._safely(subscriber.camera_removed, camera)
                raise
        logger.info(
            "camera %s added (%s; %dx%d @ %d fps)", camera.name, source, config.width, config.height, config.fps
        )
        return camera

    def update(self, config: CameraConfig) -> Camera:
        """Gives a running camera a new config (same name, same source and pause state).

        When a subscriber cannot take the new config (e.g. no room for the new frame buffer),
        the camera is removed (every subscriber is told) and the error propagates.
        """
        with self._lock:
            old = self.get(config.name)
            new = replace(old, config=config)
            self._cameras = {**self._cameras, new.name: new}
            try:
                for subscriber in self._subscribers:
                    subscriber.camera_updated(old, new)
            except Exception:
                logger.exception("camera %s could not be updated; it is stopped", new.name)
                self.remove(new.name)
                raise
        logger.info("camera %s updated", new.name)
        return new

    def set_paused(self, name: str, paused: bool) -> Camera:
        """Pauses (ffmpeg keeps running, frames are dropped) or resumes a camera."""
        with self._lock:
            old = self.get(name)
            if old.paused == paused:
                return old
            new = replace(old, paused=paused)
            self._cameras = {**self._cameras, name: new}
            for subscriber in self._subscribers:
                self._safely(subscriber.camera_paused if paused else subscriber.camera_resumed, new)
        return new

    def remove(self, name: str) -> Camera:
        """Stops a camera; subscribers are told in reverse order (the process stops first)."""
        with self._lock:
            camera = self.get(name)
            self._cameras = {k: v for k, v in self._cameras.items() if k != name}
            for subscriber in reversed(self._subscribers):
                self._safely(subscriber.camera_removed, camera)
        logger.info("camera %s removed", name)
        return camera

    @staticmethod
    def _safely(callback: Callable[..., None], *cameras: Camera) -> None:
        """One faulty subscriber must not leave the others out of step."""
        try:
            callback(*cameras)
        except Exception:
            logger.exception("camera subscriber %r failed for %s", callback, cameras[-1].name)
