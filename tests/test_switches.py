"""Run-time switches: ON/OFF parsing, commands, states restored from the broker, published states."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from frigate_like.cameras.subscribers import SwitchesSubscriber
from frigate_like.comms.switches import Switches, parse_switch_payload
from frigate_like.metrics import CameraMetrics
from tests.registry_support import PlainRuntimes, registry_with
from tests.track_support import load_camera


class Recorder:
    """A Publisher that keeps what it is given."""

    def __init__(self) -> None:
        self.published: list[tuple[str, Any, bool]] = []

    def publish(self, topic: str, payload: Any, *, retain: bool = False, backlog: bool = True) -> None:
        self.published.append((topic, payload, retain))


@pytest.mark.parametrize(
    ("payload", "expected"),
    [(b"ON", True), (b"OFF", False), ("on", True), (b" Off\n", False), (b"", None), (b"1", None), (b"\xff", None)],
)
def test_parse_switch_payload(payload: bytes | str, expected: bool | None) -> None:
    assert parse_switch_payload(payload) is expected


def _switches(tmp_path: Path, shared_dir: Path, clips_input: bool) -> tuple[Switches, Recorder, CameraMetrics]:
    roles = ["detect", "clips"] if clips_input else ["detect"]
    _, cam = load_camera(
        tmp_path,
        shared_dir,
        camera={
            "ffmpeg": {"inputs": [{"path": "rtsp://127.0.0.1/stream", "roles": roles}]},
            "clips": {"enabled": clips_input},
            "snapshots": {"enabled": True},
        },
    )
    runtimes, recorder = PlainRuntimes(), Recorder()
    switches = Switches(recorder)
    registry_with([SwitchesSubscriber(switches, runtimes)], [cam])
    added = [topic for topic, _, _ in recorder.published]
    assert added == ["cam/detect/state", "cam/clips/state", "cam/snapshots/state"]
    recorder.published.clear()  # the states published as the camera was added
    return switches, recorder, runtimes.metrics("cam")


def test_commands_switch_and_publish_retained_states(tmp_path: Path, shared_dir: Path) -> None:
    switches, recorder, metrics = _switches(tmp_path, shared_dir, clips_input=True)
    assert [(c, s, on) for c, s, on in switches.states()] == [
        ("cam", "detect", True),
        ("cam", "clips", True),
        ("cam", "snapshots", True),
    ]
    switches.handle("cam/detect/set", b"OFF")
    assert not metrics.detect_enabled.value and not switches.detect_enabled("cam")
    switches.handle("cam/clips/set", b"off")
    switches.handle("cam/snapshots/set", b"OFF")
    assert not switches.clips_enabled("cam") and not switches.snapshots_enabled("cam")
    switches.handle("cam/detect/set", b"ON")
    assert metrics.detect_enabled.value
    assert recorder.published == [
        ("cam/detect/state", "OFF", True),
        ("cam/clips/state", "OFF", True),
        ("cam/snapshots/state", "OFF", True),
        ("cam/detect/state", "ON", True),
    ]


def test_junk_is_ignored(tmp_path: Path, shared_dir: Path) -> None:
    switches, recorder, _ = _switches(tmp_path, shared_dir, clips_input=True)
    switches.handle("cam/detect/set", b"maybe")
    switches.handle("other/detect/set", b"OFF")
    switches.handle("cam/person", b"1")
    assert recorder.published == [] and switches.detect_enabled("cam")


def test_restored_state_applies_unless_a_command_came_first(tmp_path: Path, shared_dir: Path) -> None:
    switches, recorder, _ = _switches(tmp_path, shared_dir, clips_input=True)
    switches.handle("cam/detect/state", b"OFF")  # read back from the broker at start
    assert not switches.detect_enabled("cam")
    switches.handle("cam/clips/set", b"OFF")
    switches.handle("cam/clips/state", b"ON")  # an older value than the command: ignored
    assert not switches.clips_enabled("cam")
    assert recorder.published[-1] == ("cam/clips/state", "OFF", True)


def test_clips_cannot_be_switched_on_without_a_clips_input(tmp_path: Path, shared_dir: Path) -> None:
    switches, recorder, _ = _switches(tmp_path, shared_dir, clips_input=False)
    switches.handle("cam/clips/set", b"ON")
    assert not switches.clips_enabled("cam")
    assert recorder.published == [("cam/clips/state", "OFF", True)]
