"""Run-time detect/clips/snapshots switches per camera, set by ``<camera>/<switch>/set`` commands.

``detect`` lives in the camera's shared ``CameraMetrics.detect_enabled`` (the camera
process reads it every frame); ``clips`` and ``snapshots`` are read by the
``EventProcessor`` through its ``switches`` argument when an event starts. Every change
is published as the retained ``<camera>/<switch>/state``; the retained states read back
at start (``restore``) win over the config unless a command came first.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from frigate_like.comms import topics
from frigate_like.comms.publisher import Publisher
from frigate_like.comms.topics import Switch

logger = logging.getLogger(__name__)

ON = "ON"
OFF = "OFF"


class SharedFlag(Protocol):
    """A ``multiprocessing.Value`` of a bool-like type."""

    value: Any


def parse_switch_payload(payload: bytes | str) -> bool | None:
    """``True`` for ``ON``, ``False`` for ``OFF`` (any case, spaces ignored), ``None`` for anything else."""
    text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload
    text = text.strip().upper()
    if text == ON:
        return True
    if text == OFF:
        return False
    return None


def state_payload(on: bool) -> str:
    return ON if on else OFF


class Switches:
    """The switches of every camera; thread-safe (commands arrive on the MQTT thread)."""

    def __init__(self, publisher: Publisher | None = None, *, cluster: bool = False) -> None:
        """``cluster``: other nodes run the cameras this one does not; their commands and states are theirs."""
        # per camera, added by the registry's SwitchesSubscriber
        self._detect: dict[str, SharedFlag] = {}
        self._clips: dict[str, bool] = {}
        self._snapshots: dict[str, bool] = {}
        # clips are cut from the clips role's segments: without such an input there is nothing to switch on
        self._has_clips_input: dict[str, bool] = {}
        self._publisher = publisher
        self._commanded: set[tuple[str, Switch]] = set()
        self._lock = threading.Lock()
        self._cluster = cluster
        # cluster: the last state the broker showed of each camera run elsewhere, taken when it moves here
        self._elsewhere: dict[tuple[str, Switch], bool] = {}

    def add_camera(self, cam: Any, detect_flag: SharedFlag) -> None:
        """A camera added (YAML or camera group) starts with its config's switches."""
        with self._lock:
            self._detect[cam.name] = detect_flag
            self._clips[cam.name] = bool(cam.clips.enabled)
            self._snapshots[cam.name] = bool(cam.snapshots.enabled)
            self._has_clips_input[cam.name] = cam.input_for("clips") is not None
            for switch in topics.SWITCHES:  # a camera moved here keeps what its last node had
                on = self._elsewhere.pop((cam.name, switch), None)
                if on is not None:
                    self._store(cam.name, switch, on)

    def remove_camera(self, name: str) -> None:
        """A camera gone: its switches are forgotten (a camera added again starts from its config)."""
        with self._lock:
            for switches in (self._detect, self._clips, self._snapshots, self._has_clips_input):
                switches.pop(name, None)
            self._commanded = {key for key in self._commanded if key[0] != name}

    def publish_camera_states(self, camera: str) -> None:
        """Publishes one camera's switch states (retained)."""
        for switch in topics.SWITCHES:
            self._publish(camera, switch, self.get(camera, switch))

    # -- read by the camera process (through the shared flag) and the event processor ----------
    def detect_enabled(self, camera: str) -> bool:
        return bool(self._detect[camera].value)

    def clips_enabled(self, camera: str) -> bool:
        return self._clips[camera]

    def snapshots_enabled(self, camera: str) -> bool:
        return self._snapshots[camera]

    def get(self, camera: str, switch: Switch) -> bool:
        if switch == "detect":
            return self.detect_enabled(camera)
        return self._clips[camera] if switch == "clips" else self._snapshots[camera]

    def states(self) -> list[tuple[str, Switch, bool]]:
        """Every camera's switches, read at once (cameras come and go on other threads)."""
        with self._lock:
            return [(camera, switch, self.get(camera, switch)) for camera in self._clips for switch in topics.SWITCHES]

    # -- changes --------------------------------------------------------------------------------
    def set(self, camera: str, switch: Switch, on: bool, *, restore: bool = False) -> bool:
        """Sets one switch and publishes its state; returns whether the value changed.

        ``restore`` marks a value read back from the broker at start: it is ignored for a
        switch that a command has set since this daemon started.
        """
        with self._lock:
            if camera not in self._clips:  # under the lock: a camera may be removed meanwhile
                logger.warning("switch %s for unknown camera %r ignored", switch, camera)
                return False
            if restore and (camera, switch) in self._commanded:
                return False
            if not restore:
                self._commanded.add((camera, switch))
            before = self._store(camera, switch, on)
            on = self.get(camera, switch)
        if restore and before == on and self._cluster:
            return False  # the broker holds this value (our own state coming back): nothing to send
        if before != on:
            how = "restored from the broker" if restore else "by command"
            logger.info("%s: %s switched %s (%s)", camera, switch, state_payload(on), how)
        self._publish(camera, switch, on)
        return before != on

    def _store(self, camera: str, switch: Switch, on: bool) -> bool:
        """Under the lock: sets one switch of a camera run here; returns the value it had."""
        if switch == "clips" and on and not self._has_clips_input[camera]:
            logger.warning("%s: clips cannot be switched on: no input has the clips role", camera)
            on = False
        before = self.get(camera, switch)
        if switch == "detect":
            self._detect[camera].value = on
        elif switch == "clips":
            self._clips[camera] = on
        else:
            self._snapshots[camera] = on
        return before

    def _elsewhere_message(self, parsed: topics.SwitchTopic, on: bool) -> bool:
        """Cluster: a command or state of a camera another node runs: its state remembered, nothing done."""
        with self._lock:
            if not self._cluster or parsed.camera in self._clips:
                return False
            if parsed.kind == "state":
                self._elsewhere[(parsed.camera, parsed.switch)] = on
            return True

    def handle(self, topic: str, payload: bytes) -> None:
        """A ``Receiver``: applies ``<camera>/<switch>/set`` commands and restored ``/state`` values."""
        parsed = topics.parse_switch_topic(topic)
        if parsed is None:
            return
        on = parse_switch_payload(payload)
        if on is None:
            logger.warning("%s: expected ON or OFF, got %r; ignored", topic, payload[:40])
            return
        if self._elsewhere_message(parsed, on):
            return
        self.set(parsed.camera, parsed.switch, on, restore=parsed.kind == "state")

    def _publish(self, camera: str, switch: Switch, on: bool) -> None:
        if self._publisher is not None:
            self._publisher.publish(topics.switch_state(camera, switch), state_payload(on), retain=True)
