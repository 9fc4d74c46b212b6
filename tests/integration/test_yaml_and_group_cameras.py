"""A YAML camera and a camera-group camera side by side in one daemon: every subsystem serves both alike.

Both play the real person footage; MQTT goes to the shared Mosquitto under a fresh topic
prefix. Each camera must get MQTT events, counts and snapshots, event rows, 24/7 and
manual recordings, pause, latest.jpg and WebSocket frames, and /api/stats and /api/config
entries. Before the camera registry the group camera missed MQTT and manual recordings,
and the YAML camera missed pause.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import requests
from websockets.sync.client import connect

from frigate_like.websocket import PATH
from tests.broker import Received, Subscriber, unique_prefix
from tests.integration.checks import db_events
from tests.integration.daemon import SHARED, Daemon, demo_config
from tests.test_websocket import receive

CAMERAS = ("demo", "lobby")  # the YAML camera, the group camera
SEGMENT_TIME = 10
RECORD_ARGS = (
    f"-f segment -segment_time {SEGMENT_TIME} -segment_format mp4 -reset_timestamps 1 -strftime 1 -c:v copy -c:a aac"
)


def side_by_side_config(tmp: Path, prefix: str) -> dict[str, Any]:
    cfg = demo_config(tmp, loop=True, fps=5)
    cfg["mqtt"] = {"enabled": True, "host": "127.0.0.1", "port": 1883, "topic_prefix": prefix, "client_id": prefix}
    cfg["ffmpeg"] = {"output_args": {"record": RECORD_ARGS}}  # group cameras take the defaults too
    cam = cfg["cameras"]["demo"]
    cam["ffmpeg"]["inputs"][0]["roles"] = ["detect", "clips", "record"]
    cam["record"] = {"enabled": True, "retain_days": 1}
    return cfg


def group_body() -> dict[str, Any]:
    lobby = {
        "camera_name": "lobby",
        "source": str(SHARED / "media" / "one-by-one-person-detection.mp4"),
        "loop": True,
        "framerate": 5,
        "resolution": {"width": 768, "height": 432},
        "record": True,
    }
    return {"camera_configs": {"000": lobby}}


def _every_camera(check: Callable[[str], bool]) -> Callable[[], bool]:
    return lambda: all(check(camera) for camera in CAMERAS)


def _new_events_of(messages: list[Received], camera: str) -> list[dict[str, Any]]:
    events = (json.loads(m.payload) for m in messages if m.topic == "events")
    return [e for e in events if e["type"] == "new" and e["after"]["camera"] == camera]


def _frames_per_camera(ws_url: str, seconds: float) -> Counter[str]:
    with connect(ws_url, max_size=None) as ws:
        frames, _texts = receive(ws, seconds)
    return Counter(header.camera for header in frames)


def test_a_yaml_camera_and_a_group_camera_get_the_same_services(tmp_path: Path) -> None:
    prefix = unique_prefix("side-by-side")
    daemon = Daemon(tmp_path, side_by_side_config(tmp_path, prefix))
    base = f"http://127.0.0.1:{daemon.port}"
    roots = Path(daemon.cfg["paths"]["media_dir"])
    with Subscriber(prefix) as sub:
        daemon.start()
        try:
            applied = requests.post(f"{base}/skellycam/camera/group/apply", json=group_body(), timeout=60)
            assert applied.status_code == 200, applied.text

            def fps(camera: str) -> float:
                return float(daemon.get_json("/api/stats").get(camera, {}).get("camera_fps", 0.0))

            daemon.wait_for(_every_camera(lambda c: fps(c) > 0), 60, what="frames of both cameras")
            assert set(CAMERAS) <= set(daemon.get_json("/api/config")["cameras"])
            assert daemon.shm_blocks(), "this daemon's rings and detector buffers are visible"

            # live view: latest.jpg and the WebSocket
            def latest_ok(camera: str) -> bool:
                response = requests.get(f"{base}/api/{camera}/latest.jpg", timeout=10)
                image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
                return response.status_code == 200 and image is not None and image.shape[:2] == (432, 768)

            daemon.wait_for(_every_camera(latest_ok), 30, what="latest.jpg of both cameras")
            frames = _frames_per_camera(f"ws://127.0.0.1:{daemon.port}{PATH}", 4.0)
            assert all(frames[camera] > 0 for camera in CAMERAS), frames

            # manual recording: both cameras are sources
            started = requests.post(
                f"{base}/skellycam/camera/group/all/record/start",
                json={"recording_name": "both", "recording_directory": str(roots)},
                timeout=60,
            )
            assert started.json() is True, started.text
            time.sleep(6)
            assert requests.get(f"{base}/skellycam/camera/group/all/record/stop", timeout=60).json() is True
            statistics = json.loads((roots / "both" / "timestamps" / "both_statistics.json").read_text())
            recorded = {entry["camera"]: entry["frames"] for entry in statistics["cameras"].values()}
            assert set(recorded) == set(CAMERAS) and all(n > 0 for n in recorded.values()), recorded

            # MQTT events, counts and snapshots of both (the person walks in within the first minute)
            sub.wait_for(lambda ms: all(_new_events_of(ms, c) for c in CAMERAS), 120, "a new event per camera")
            for camera in CAMERAS:
                sub.wait_topic(f"{camera}/person", "1", timeout=30)
                snapshot = sub.wait_topic(f"{camera}/person/snapshot", timeout=30)
                assert snapshot.payload[:2] == b"\xff\xd8", camera  # a JPEG
                assert sub.on(f"{camera}/detect/state")[-1].text == "ON"

            # pause and resume: every camera, YAML or group
            assert requests.get(f"{base}/skellycam/camera/group/all/pause_unpause", timeout=30).json() is True
            daemon.wait_for(_every_camera(lambda c: fps(c) == 0.0), 15, what="both paused")
            assert requests.get(f"{base}/skellycam/camera/group/all/pause_unpause", timeout=30).status_code == 200
            daemon.wait_for(_every_camera(lambda c: fps(c) > 0), 30, what="both resumed")

            # 24/7 recordings of both
            def recorded_seconds(camera: str) -> float:
                days = requests.get(f"{base}/api/{camera}/recordings", timeout=10).json()
                return sum(day["duration"] for day in days) if isinstance(days, list) else 0.0

            daemon.wait_for(_every_camera(lambda c: recorded_seconds(c) > 0), 60, what="24/7 recordings of both")
        finally:
            code, _took = daemon.terminate()
    assert code == 0, daemon.log()[-3000:]
    cameras_with_events = {row["camera"] for row in db_events(daemon.db_path)}
    assert set(CAMERAS) <= cameras_with_events
    assert daemon.shm_blocks() == set(), "shared memory left behind"
    assert "Traceback" not in daemon.log(), daemon.log()[-3000:]
