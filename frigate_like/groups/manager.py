"""Camera groups at run time: apply (create or update in place), pause/unpause, close all, restore at start.

Each used camera of a group becomes a full NVR camera through the :class:`CameraRegistry`,
the same path the YAML cameras take. The YAML cameras form the group ``"config"``
(``cameras.CONFIG_SOURCE``): pause/unpause and close act on every camera alike; a closed
YAML camera comes back when the daemon restarts. A request is checked whole before
anything changes (400/409 name the field). A request whose camera ids overlap one running
group is that group's new wanted state: cameras that left it or were switched off stop,
cameras whose resulting ``CameraConfig`` changed are updated (restart), unchanged ones keep
running untouched, new ones start. Otherwise a new group is made. Groups are saved after
every change and restarted by :meth:`restore`.

Pause keeps every ffmpeg running (devices stay open, streams connected) and the capture
drops the frames: see ``video.capture``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from frigate_like.cameras.registry import CONFIG_SOURCE, Camera
from frigate_like.config import CameraConfig, FrigateConfig
from frigate_like.devices import DeviceDiscovery
from frigate_like.devices.v4l2 import set_exposure
from frigate_like.errors import BadRequest, Conflict, FrigateLikeError
from frigate_like.groups.models import GroupCameraConfig, parse_apply_request
from frigate_like.groups.probe import detect_fps
from frigate_like.groups.sources import check_source
from frigate_like.groups.store import GroupKeeper
from frigate_like.groups.translate import source_kind, to_camera_config
from frigate_like.redact import redact_text, redact_value

logger = logging.getLogger(__name__)


class CameraSink(Protocol):
    """Where group cameras go: the ``CameraRegistry`` on a single node, the cluster's placement
    (``cluster.placement.PlacedCameras``) on a cluster node."""

    def names(self, source: str | None = None) -> list[str]: ...
    def get(self, name: str) -> Camera: ...
    def add(self, config: CameraConfig, source: str, *, paused: bool = False) -> object: ...
    def update(self, config: CameraConfig) -> object: ...
    def set_paused(self, name: str, paused: bool) -> object: ...
    def remove(self, name: str) -> object: ...


@dataclass
class Group:
    id: str
    configs: dict[str, GroupCameraConfig]
    running: dict[str, str] = field(default_factory=dict)  # camera id → NVR camera name
    errors: dict[str, str] = field(default_factory=dict)  # camera id → why it is not running


class GroupManager:
    """The groups of one daemon; every method is safe to call from any thread."""

    def __init__(
        self,
        registry: CameraSink,
        cfg: FrigateConfig,
        store: GroupKeeper,
        devices: DeviceDiscovery,
        *,
        free_slots: Callable[[], int],
        ffprobe_bin: str | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._registry, self._cfg, self._store, self._devices = registry, cfg, store, devices
        self._free_slots = free_slots  # cameras that may still be added (spare detector channels)
        self._ffprobe = ffprobe_bin
        self.on_change = on_change
        self.groups: dict[str, Group] = {}
        self.paused = False
        self._lock = threading.RLock()

    # -- API ------------------------------------------------------------------------------------
    def apply(self, body: Any) -> dict[str, Any]:
        """Creates or updates a group; returns ``{group_id, camera_configs}``."""
        request = parse_apply_request(body)
        with self._lock:
            ids = set(request.camera_configs)
            matches = [g for g in self.groups.values() if ids & set(g.configs)]
            if len(matches) > 1:
                raise Conflict(f"camera ids {sorted(ids)} belong to groups {[g.id for g in matches]}: apply one group")
            group = matches[0] if matches else Group(uuid.uuid4().hex[-6:], {})
            _unmask_sources(request.camera_configs, group.configs)
            wanted = self._build_all(group, request.camera_configs)
            self._converge(group, request.camera_configs, wanted)
            self.groups[group.id] = group
            self._saved()
            logger.info("camera group %s applied: %s", group.id, ", ".join(sorted(group.running.values())) or "-")
            # shown like everywhere else: sources redacted (sent back as they are, they stay unchanged)
            return {
                "group_id": group.id,
                "camera_configs": redact_value({cid: c.model_dump(mode="json") for cid, c in group.configs.items()}),
            }

    def toggle_pause(self) -> bool:
        """Pauses every camera (YAML and group ones), or unpauses them all; returns the new state."""
        with self._lock:
            self.paused = not self.paused
            for name in self._registry.names():
                self._registry.set_paused(name, self.paused)
            logger.info("cameras %s", "paused" if self.paused else "unpaused")
        self._changed()
        return self.paused

    def close_all(self) -> None:
        """Stops and releases every camera (YAML ones too, until the daemon restarts) and forgets the groups."""
        with self._lock:
            for name in self._registry.names():
                self._registry.remove(name)
            closed = len(self.groups)
            self.groups.clear()
            self.paused = False
            self._saved()
        logger.info("closed %d camera group(s)", closed)

    def restore(self) -> None:
        """Starts the saved groups (start-up); a camera that cannot start is logged and left stopped."""
        with self._lock:
            for group_id, configs in self._store.load().items():
                group = Group(group_id, dict(configs))
                for cid, config in configs.items():
                    if not config.use_this_camera:
                        continue
                    try:
                        cam = self._build(cid, config, group)
                        self._registry.add(cam, group_id, paused=self.paused)
                        group.running[cid] = cam.name
                        self._set_controls(config)
                    except FrigateLikeError as exc:
                        group.errors[cid] = str(exc)
                        logger.error("camera group %s: camera %s not started: %s", group_id, cid, exc)
                self.groups[group_id] = group
            if self.groups:
                logger.info("restored %d camera group(s)", len(self.groups))
        self._changed()

    def sync(self) -> bool:
        """Takes up the groups another node added, changed or removed (cluster mode: the store is the
        database's table, polled); returns whether anything changed. A camera that cannot be built here
        is left out with its error, as at a restore."""
        saved = self._store.load()
        changed = False
        with self._lock:
            for group_id in [g for g in self.groups if g not in saved]:
                for name in self.groups.pop(group_id).running.values():
                    self._registry.remove(name)
                changed = True
            for group_id, configs in saved.items():
                group = self.groups.get(group_id)
                if group is not None and group.configs == configs:
                    continue
                group = group or Group(group_id, {})
                wanted: dict[str, CameraConfig] = {}
                errors: dict[str, str] = {}
                for cid, config in configs.items():
                    if not config.use_this_camera:
                        continue
                    try:
                        wanted[cid] = self._build(cid, config, group)
                    except FrigateLikeError as exc:
                        errors[cid] = str(exc)
                        logger.error("camera group %s: camera %s not taken up: %s", group_id, cid, exc)
                self._converge(group, dict(configs), wanted)
                group.errors.update(errors)
                self.groups[group_id] = group
                changed = True
                logger.info("camera group %s taken up from another node", group_id)
        if changed:
            self._changed()
        return changed

    def state(self) -> dict[str, Any]:
        """Groups, their cameras and whether they run, for the WebSocket's state messages.

        The YAML cameras are the group ``"config"`` (no ``camera_configs``: the config file is theirs).
        """
        with self._lock:
            groups: dict[str, Any] = {
                group.id: {
                    "camera_configs": {cid: c.model_dump(mode="json") for cid, c in group.configs.items()},
                    "cameras": {
                        cid: {"name": group.running.get(cid), "running": cid in group.running,
                              "error": group.errors.get(cid)}
                        for cid in group.configs
                    },  # fmt: skip
                }
                for group in self.groups.values()
            }
            yaml_cameras = self._registry.names(CONFIG_SOURCE)
            if yaml_cameras:
                groups[CONFIG_SOURCE] = {
                    "camera_configs": {},
                    "cameras": {name: {"name": name, "running": True, "error": None} for name in yaml_cameras},
                }
            return {"paused": self.paused, "groups": groups}

    # -- steps ----------------------------------------------------------------------------------
    def _build_all(self, group: Group, configs: dict[str, GroupCameraConfig]) -> dict[str, CameraConfig]:
        """The NVR camera of every used camera id, or the first problem (nothing changed yet)."""
        names = [c.camera_name for c in configs.values() if c.use_this_camera]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise BadRequest(f"camera_configs: camera_name {twice[0]!r} is used by more than one camera")
        starting = sum(1 for cid, c in configs.items() if c.use_this_camera and cid not in group.running)
        stopping = sum(1 for cid in group.running if not configs.get(cid, _UNUSED).use_this_camera)
        if starting - stopping > self._free_slots():
            raise Conflict(f"camera_configs: no room for {starting} more camera(s); close groups first")
        return {cid: self._build(cid, c, group) for cid, c in configs.items() if c.use_this_camera}

    def _build(self, cid: str, config: GroupCameraConfig, group: Group) -> CameraConfig:
        key = f"camera_configs.{cid}"
        if config.camera_name in set(self._registry.names()) - set(group.running.values()):
            raise Conflict(f"{key}.camera_name: a camera named {config.camera_name!r} already exists")
        kind = source_kind(config)
        if kind == "device":
            present = sorted(d.index for d in self._devices.cameras(filter_virtual=False))
            if config.camera_index not in present:
                found = ", ".join(map(str, present)) or "none"
                raise BadRequest(f"{key}.camera_index: no capture device {config.camera_index} (found: {found})")
        elif config.source is not None:
            check_source(f"{key}.source", config.source, self._cfg)
        try:
            return to_camera_config(self._cfg, config, detect_fps(config, self._ffprobe))
        except ValueError as exc:  # pydantic's ValidationError is one
            raise BadRequest(f"{key}: {exc}") from None

    def _converge(self, group: Group, configs: dict[str, GroupCameraConfig], wanted: dict[str, CameraConfig]) -> None:
        # Stops first (cameras gone, switched off or renamed), so names and slots are free.
        for cid, name in list(group.running.items()):
            cam = wanted.get(cid)
            if cam is None or cam.name != name:
                self._registry.remove(name)
                del group.running[cid]
        group.configs, group.errors = dict(configs), {}
        for cid, cam in wanted.items():
            if cid not in group.running:
                self._registry.add(cam, group.id, paused=self.paused)
                group.running[cid] = cam.name
            elif self._registry.get(cam.name).config != cam:
                try:
                    self._registry.update(cam)
                except FrigateLikeError as exc:  # the camera was stopped: say why, like a camera that cannot start
                    del group.running[cid]
                    group.errors[cid] = str(exc)
                    logger.error("camera group %s: camera %s stopped: %s", group.id, cid, exc)
                    continue
            self._set_controls(configs[cid])

    def _set_controls(self, config: GroupCameraConfig) -> None:
        if source_kind(config) != "device":
            return
        manual = config.exposure_mode == "MANUAL"
        if not set_exposure(Path(config.device_path), manual, config.exposure if manual else None):
            logger.warning("camera %s: exposure controls not available on %s", config.camera_name, config.device_path)

    def _saved(self) -> None:
        self._store.save({g.id: g.configs for g in self.groups.values()})
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:
                logger.exception("camera group change listener failed")


_UNUSED = GroupCameraConfig(use_this_camera=False)


def _unmask_sources(configs: dict[str, GroupCameraConfig], current: dict[str, GroupCameraConfig]) -> None:
    """A source sent back as it was shown (redacted) means "unchanged": the stored one is kept."""
    for cid, config in configs.items():
        before = current.get(cid)
        if before is not None and before.source and config.source == redact_text(before.source):
            config.source = before.source
