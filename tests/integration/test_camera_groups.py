"""The real daemon: a camera group of two file cameras at run time, the live WebSocket, pause, close, /shutdown."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import requests
from websockets.sync.client import ClientConnection, connect

from frigate_like.websocket import PATH, FrameHeader, unpack_frame
from tests.integration.daemon import SHARED, Daemon, demo_config
from tests.test_websocket import stalled_client, unread_bytes


def _latest_shape(base: str, camera: str) -> tuple[int, ...] | None:
    """The shape of the camera's latest.jpg at full size (h equal to the detect height is not asked)."""
    response = requests.get(f"{base}/api/{camera}/latest.jpg", timeout=10)
    if response.status_code != 200:
        return None
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else tuple(image.shape)

GROUP_CAMERAS = ("person", "car")


def group_body(media: Path, car_size: tuple[int, int]) -> dict[str, Any]:
    def camera(name: str, video: str, size: tuple[int, int]) -> dict[str, Any]:
        return {
            "camera_name": name,
            "source": str(media / video),
            "loop": True,
            "framerate": 10,
            "resolution": {"width": size[0], "height": size[1]},
        }

    return {
        "camera_configs": {
            # the person camera also records 24/7: a group camera is a full NVR camera
            "000": {**camera("person", "one-by-one-person-detection.mp4", (640, 360)), "record": True},
            "001": camera("car", "car-detection.mp4", car_size),
        }
    }


class Live:
    """A WebSocket client that sorts what it receives."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[tuple[FrameHeader, tuple[int, ...]]] = []
        self.texts: list[dict[str, Any]] = []

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.ws.recv(timeout=left)
            except TimeoutError:
                return
            if isinstance(message, bytes):
                header, jpeg = unpack_frame(message)
                shape = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape
                self.frames.append((header, shape))
            else:
                self.texts.append(json.loads(message))

    def until(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            self.pump(0.5)

    def counts(self) -> Counter[str]:
        return Counter(header.camera for header, _ in self.frames)


def camera_fps(daemon: Daemon) -> dict[str, float]:
    stats = daemon.get_json("/api/stats")
    return {name: float(stats[name]["camera_fps"]) for name in GROUP_CAMERAS if name in stats}


def test_a_camera_group_at_run_time_with_the_live_websocket(tmp_path: Path) -> None:
    media = tmp_path / "footage"  # links: the test's path is then in every ffmpeg's argv
    media.mkdir()
    for name in ("one-by-one-person-detection.mp4", "car-detection.mp4"):
        (media / name).symlink_to(SHARED / "media" / name)
    daemon = Daemon(tmp_path, demo_config(tmp_path, loop=True, fps=5))
    base = f"http://127.0.0.1:{daemon.port}"
    daemon.start()
    try:
        applied = requests.post(f"{base}/skellycam/camera/group/apply", json=group_body(media, (384, 216)), timeout=60)
        assert applied.status_code == 200, applied.text
        group_id = applied.json()["group_id"]
        assert set(applied.json()["camera_configs"]) == {"000", "001"}
        daemon.wait_for(lambda: set(GROUP_CAMERAS) <= set(daemon.get_json("/api/stats")), 10, what="stats entries")
        assert daemon.get_json("/api/config")["cameras"]["car"]["width"] == 384
        daemon.wait_for(lambda: all(v > 0 for v in camera_fps(daemon).values()), 30, what="group frames")

        with connect(f"ws://127.0.0.1:{daemon.port}{PATH}", max_size=None) as ws:
            live = Live(ws)
            live.until(lambda: all(live.counts()[c] >= 10 for c in GROUP_CAMERAS), 30, "10 frames per camera")
            assert live.texts[0]["type"] == "state" and group_id in live.texts[0]["groups"]
            assert {shape for h, shape in live.frames if h.camera == "car"} == {(216, 384, 3)}
            assert _latest_shape(base, "car") == (216, 384, 3)  # a group camera is a full NVR camera

            # a new resolution for one camera: only that one restarts, and its frames get the new size
            changed = requests.post(
                f"{base}/skellycam/camera/group/apply", json=group_body(media, (320, 180)), timeout=60
            )
            assert changed.json()["group_id"] == group_id
            live.until(lambda: any(s == (180, 320, 3) for h, s in live.frames if h.camera == "car"), 30, "new size")
            deadline = time.monotonic() + 15
            while _latest_shape(base, "car") != (180, 320, 3) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert _latest_shape(base, "car") == (180, 320, 3)  # latest.jpg follows the new resolution
            logs = [t for t in live.texts if t["type"] == "log"]
            registry_logs = [t["message"] for t in logs if t["logger"] == "frigate_like.cameras.registry"]
            assert any("camera car updated" in message for message in registry_logs)
            assert all({"level", "logger", "message", "time"} <= set(t) for t in logs)
            states = [t for t in live.texts if t["type"] == "state"]
            assert states[-1]["cameras"]["car"]["width"] == 320 and states[-1]["paused"] is False

            # a second client that never reads lowers neither this client's rate nor camera_fps
            live.frames.clear()
            live.pump(4.0)
            alone, fps_alone = live.counts(), camera_fps(daemon)
            with stalled_client(f"ws://127.0.0.1:{daemon.port}{PATH}") as stalled:
                live.pump(3.0)  # its buffers fill and its sender blocks meanwhile
                assert unread_bytes(stalled) > 0
                live.frames.clear()
                live.pump(4.0)
                together, fps_together = live.counts(), camera_fps(daemon)
            for camera in GROUP_CAMERAS:
                assert together[camera] >= 0.6 * alone[camera], (camera, alone, together)
                assert fps_together[camera] >= 0.6 * fps_alone[camera], (camera, fps_alone, fps_together)

        pause = requests.get(f"{base}/skellycam/camera/group/all/pause_unpause", timeout=30)
        assert pause.json() is True
        daemon.wait_for(lambda: all(v == 0.0 for v in camera_fps(daemon).values()), 10, what="paused")
        daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["camera_fps"] == 0.0, 10, what="YAML paused")
        requests.get(f"{base}/skellycam/camera/group/all/pause_unpause", timeout=30)
        daemon.wait_for(lambda: all(v > 0 for v in camera_fps(daemon).values()), 30, what="unpaused")
        daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["camera_fps"] > 0, 30, what="YAML unpaused")

        closed = requests.delete(f"{base}/skellycam/camera/group/close/all", timeout=60)
        assert closed.json() is True
        assert not {"demo", *GROUP_CAMERAS} & set(daemon.get_json("/api/stats"))  # YAML cameras close too
        assert not (tmp_path / "config.groups.json").exists()
        assert len(daemon.child_processes_alive(str(media))) == 0  # their ffmpegs are gone

        # the record ffmpeg closed its segment as the camera stopped: it lands in the recordings
        def recorded() -> float:
            days = requests.get(f"{base}/api/person/recordings", timeout=10).json()
            return sum(day["duration"] for day in days) if isinstance(days, list) else 0.0

        assert daemon.wait_for(recorded, 30, what="the group camera's recording") > 5.0

        bye = requests.get(f"{base}/shutdown", timeout=30)
        assert bye.json() == {"status": "shutdown_initiated", "message": "Server shutting down. Goodbye!"}
        code = daemon.wait_exit(30)
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.terminate()
    assert code == 0, daemon.log()[-3000:]
    assert daemon.child_processes_alive(str(tmp_path)) == []
    assert "Traceback" not in daemon.log(), daemon.log()[-3000:]


def test_saved_groups_come_back_after_a_restart(tmp_path: Path) -> None:
    media = tmp_path / "footage"
    media.mkdir()
    for name in ("one-by-one-person-detection.mp4", "car-detection.mp4"):
        (media / name).symlink_to(SHARED / "media" / name)
    daemon = Daemon(tmp_path, demo_config(tmp_path, loop=True, fps=5))
    body = group_body(media, (384, 216))
    saved = {"version": 1, "groups": {"abc123": body}}
    (tmp_path / "config.groups.json").write_text(json.dumps(saved))
    daemon.start()
    try:
        stats = daemon.get_json("/api/stats")
        assert set(GROUP_CAMERAS) <= set(stats)
        assert daemon.get_json("/api/config")["cameras"]["person"]["width"] == 640
    finally:
        code, _ = daemon.terminate()
    assert code == 0
    assert json.loads((tmp_path / "config.groups.json").read_text())["groups"]["abc123"]  # a stop keeps them
