"""The camera registry: one path for every camera, delivered in order, undone when a subscriber fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from frigate_like.cameras import CONFIG_SOURCE, Camera, CameraRegistry, RestartOnUpdate
from frigate_like.config import CameraConfig, FrigateConfig, config_from_dict
from frigate_like.errors import Conflict, NotFound


@pytest.fixture
def cfg(model_path: Path, labelmap_path: Path) -> FrigateConfig:
    def camera(width: int) -> dict[str, object]:
        return {"ffmpeg": {"inputs": [{"path": "rtsp://cam/x", "roles": ["detect"]}]}, "width": width, "height": 360}

    return config_from_dict(
        {
            "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
            "cameras": {"yard": camera(640), "gate": camera(480)},
        }
    )


class Log:
    """A subscriber that writes what reaches it into a shared log, under its own tag."""

    def __init__(self, tag: str, log: list[tuple[str, str, str]], fail_on_add: str | None = None) -> None:
        self.tag, self.log, self.fail_on_add = tag, log, fail_on_add

    def camera_added(self, camera: Camera) -> None:
        if camera.name == self.fail_on_add:
            raise OSError("no room")
        self.log.append((self.tag, "added", camera.name))

    def camera_updated(self, old: Camera, new: Camera) -> None:
        self.log.append((self.tag, "updated", f"{old.config.width}->{new.config.width}"))

    def camera_paused(self, camera: Camera) -> None:
        self.log.append((self.tag, "paused", camera.name))

    def camera_resumed(self, camera: Camera) -> None:
        self.log.append((self.tag, "resumed", camera.name))

    def camera_removed(self, camera: Camera) -> None:
        self.log.append((self.tag, "removed", camera.name))


def ring_then_process(
    cfg: FrigateConfig, process: type[Log] = Log
) -> tuple[CameraRegistry, list[tuple[str, str, str]]]:
    """A registry with two subscribers, "ring" then "process", sharing one log; "yard" added."""
    log: list[tuple[str, str, str]] = []
    registry = CameraRegistry()
    registry.subscribe(Log("ring", log))
    registry.subscribe(process("process", log))
    registry.add(cfg.cameras["yard"], CONFIG_SOURCE)
    return registry, log


def test_added_in_subscription_order_removed_in_reverse(cfg: FrigateConfig) -> None:
    registry, log = ring_then_process(cfg)
    registry.remove("yard")
    assert log == [
        ("ring", "added", "yard"), ("process", "added", "yard"),
        ("process", "removed", "yard"), ("ring", "removed", "yard"),
    ]  # fmt: skip
    assert registry.names() == []


def test_a_late_subscriber_hears_of_the_running_cameras(cfg: FrigateConfig) -> None:
    log: list[tuple[str, str, str]] = []
    registry = CameraRegistry()
    registry.add(cfg.cameras["yard"], CONFIG_SOURCE)
    registry.add(cfg.cameras["gate"], "abc123")
    registry.subscribe(Log("late", log))
    assert log == [("late", "added", "yard"), ("late", "added", "gate")]
    assert registry.names(CONFIG_SOURCE) == ["yard"] and registry.names("abc123") == ["gate"]


def test_a_failing_subscriber_undoes_the_add(cfg: FrigateConfig) -> None:
    log: list[tuple[str, str, str]] = []
    registry = CameraRegistry()
    registry.subscribe(Log("ring", log))
    registry.subscribe(Log("stats", log, fail_on_add="yard"))
    registry.subscribe(Log("process", log))
    with pytest.raises(OSError, match="no room"):
        registry.add(cfg.cameras["yard"], CONFIG_SOURCE)
    assert log == [("ring", "added", "yard"), ("ring", "removed", "yard")]
    assert "yard" not in registry.configs


def test_update_pause_and_the_configs_view(cfg: FrigateConfig) -> None:
    log: list[tuple[str, str, str]] = []
    registry = CameraRegistry()
    configs = registry.configs
    registry.subscribe(Log("s", log))
    registry.add(cfg.cameras["yard"], CONFIG_SOURCE)
    wider = cfg.cameras["yard"].model_copy(update={"width": 800})
    updated = registry.update(wider)
    assert updated.source == CONFIG_SOURCE and configs["yard"].width == 800
    assert cfg.cameras["yard"].width == 640  # the config the camera came from is not touched
    assert registry.set_paused("yard", True).paused and registry.get("yard").paused
    registry.set_paused("yard", True)  # no change: nobody is told
    registry.set_paused("yard", False)
    assert [entry[1:] for entry in log] == [
        ("added", "yard"), ("updated", "640->800"), ("paused", "yard"), ("resumed", "yard"),
    ]  # fmt: skip
    assert dict(configs) == {"yard": wider} and len(configs) == 1


def test_names_are_unique_and_unknown_names_are_not_found(cfg: FrigateConfig) -> None:
    registry = CameraRegistry()
    registry.add(cfg.cameras["yard"], CONFIG_SOURCE)
    with pytest.raises(Conflict, match="already runs"):
        registry.add(cfg.cameras["yard"], "abc123")
    for call in (lambda: registry.remove("nope"), lambda: registry.set_paused("nope", True)):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(NotFound):
        registry.update(cfg.cameras["gate"])


class Restarting(RestartOnUpdate):
    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def camera_added(self, camera: Camera) -> None:
        self.seen.append(("added", camera.config.width))

    def camera_removed(self, camera: Camera) -> None:
        self.seen.append(("removed", camera.config.width))


def test_restart_on_update_is_remove_then_add(cfg: FrigateConfig) -> None:
    registry = CameraRegistry()
    subscriber = Restarting()
    registry.subscribe(subscriber)
    registry.add(cfg.cameras["gate"], "abc123")
    registry.set_paused("gate", True)  # ignored by this base
    cam: CameraConfig = cfg.cameras["gate"].model_copy(update={"width": 320})
    registry.update(cam)
    assert subscriber.seen == [("added", 480), ("removed", 480), ("added", 320)]


def test_subscribers_see_the_camera_set_as_it_is_after_the_change(cfg: FrigateConfig) -> None:
    registry = CameraRegistry()
    seen: list[list[str]] = []

    class Names(RestartOnUpdate):
        def camera_added(self, camera: Camera) -> None:
            seen.append(sorted(registry.configs))

        def camera_removed(self, camera: Camera) -> None:
            seen.append(sorted(registry.configs))

    registry.subscribe(Names())
    registry.add(cfg.cameras["yard"], CONFIG_SOURCE)
    registry.add(cfg.cameras["gate"], "abc123")
    registry.remove("yard")
    assert seen == [["yard"], ["gate", "yard"], ["gate"]]


class FailingUpdate(Log):
    def camera_updated(self, old: Camera, new: Camera) -> None:
        raise Conflict("no room for the new frame buffer")


def test_a_failed_update_stops_the_camera_everywhere(cfg: FrigateConfig) -> None:
    registry, log = ring_then_process(cfg, FailingUpdate)
    with pytest.raises(Conflict, match="no room"):
        registry.update(cfg.cameras["yard"].model_copy(update={"width": 800}))
    assert log[-3:] == [("ring", "updated", "640->800"), ("process", "removed", "yard"), ("ring", "removed", "yard")]
    assert registry.names() == []
