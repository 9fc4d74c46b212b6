"""Home Assistant's Frigate integration v1.1.2, replayed against the running daemon.

Each request it makes and each key it reads (see ../shared/ha-integration-v1.md and its source,
custom_components/frigate/ at tag v1.1.2), over real HTTP and MQTT: config flow and set-up,
stats sensors, object-count and motion sensors, switches, cameras with their stream source,
the media browser for clips, snapshots and recordings, and the notification proxy paths, also
while an event is in progress. Real footage, a real Mosquitto (fresh topic prefix) and a real
nginx-rtmp; the parsing the integration does (``end_time - start_time``, ``strptime`` of
folder names, base64 thumbnails) is done here on what the daemon answers.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import jinja2
import numpy as np
import pytest
import requests

from tests.broker import Received, Subscriber, send, unique_prefix
from tests.integration.daemon import SHARED, Daemon, demo_config
from tests.integration.test_yaml_and_group_cameras import group_body
from tests.nginx_support import rtmp_conf, running_nginx
from tests.ports import free_port

RECORD_ARGS = "-f segment -segment_time 5 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c:v copy -c:a aac"
ZONE = "porch"
HA_TIMEOUT = 10  # s, the integration's own request timeout


@dataclass
class Home:
    daemon: Daemon
    base: str
    prefix: str
    sub: Subscriber
    rtmp_port: int


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    tmp = tmp_path_factory.mktemp("ha")
    prefix = unique_prefix("ha-v1")
    rtmp_port, stat_port = free_port(), free_port()
    cfg = demo_config(tmp, loop=True)
    cfg["mqtt"] = {"enabled": True, "host": "127.0.0.1", "port": 1883, "topic_prefix": prefix, "client_id": prefix}
    cfg["rtmp"] = {"url": f"rtmp://127.0.0.1:{rtmp_port}/live", "stat_url": f"http://127.0.0.1:{stat_port}/stat"}
    cfg["camera_groups"] = {"file_roots": [str(SHARED / "media")]}  # where group cameras may play files from
    cam = cfg["cameras"]["demo"]
    cam["ffmpeg"]["inputs"][0]["roles"] = ["detect", "clips", "record", "rtmp"]
    cam["ffmpeg"]["output_args"] = {"record": RECORD_ARGS}
    cam["record"] = {"enabled": True}
    cam["zones"] = {ZONE: {"coordinates": "0,0,768,0,768,432,0,432"}}
    # footage of an earlier release, in its YYYY-MM-DD/HH layout: moved at start-up, then browsable
    old = tmp / "media" / "recordings" / "2021-08-10" / "14" / "demo" / "03.00.mp4"
    old.parent.mkdir(parents=True)
    shutil.copyfile(SHARED / "media" / "one-by-one-person-detection.mp4", old)
    daemon = Daemon(tmp, cfg)
    with (
        Subscriber(prefix) as sub,
        running_nginx(tmp / "nginx", rtmp_conf(rtmp_port, stat_port), [rtmp_port, stat_port]),
    ):
        daemon.start()
        try:
            yield Home(daemon, f"http://127.0.0.1:{daemon.port}", prefix, sub, rtmp_port)
        finally:
            code, _ = daemon.terminate()
            assert code == 0, daemon.log()[-3000:]
            assert "Traceback" not in daemon.log(), daemon.log()[-3000:]


# -- the integration's HTTP client (api.py): GET, raise_for_status, aiohttp's json() -------------
def get_json(home: Home, path: str, **params: Any) -> Any:
    response = requests.get(f"{home.base}/{path}", params=params or None, timeout=HA_TIMEOUT)
    response.raise_for_status()
    # aiohttp's response.json() refuses any other content type
    assert response.headers["Content-Type"].split(";")[0] == "application/json", (path, response.headers)
    return response.json()


def get_bytes(home: Home, path: str, content_type: str, **params: Any) -> bytes:
    """What the integration's proxy views (views.py) and camera entity fetch."""
    response = requests.get(f"{home.base}/{path}", params=params or None, timeout=HA_TIMEOUT)
    response.raise_for_status()
    assert response.headers["Content-Type"].split(";")[0] == content_type, (path, response.headers)
    return response.content


def jpeg(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a JPEG"
    return image


def browse_title(event: dict[str, Any]) -> str:
    """media_source.py's title of an event: fails on a missing end_time, as the integration does."""
    start = dt.datetime.fromtimestamp(event["start_time"])
    duration = int(event["end_time"] - event["start_time"])
    return f"{start:%Y-%m-%d %H:%M:%S} [{duration}s, {event['label'].capitalize()} {int(event['top_score'] * 100)}%]"


def in_progress(home: Home) -> dict[str, Any] | None:
    rows = get_json(home, "api/events", include_in_progress=1, include_thumbnails=0)
    return next((e for e in rows if e["end_time"] is None), None)


# -- config flow and set-up (config_flow.py, __init__.py) ----------------------------------------
def test_config_flow_and_setup(home: Home) -> None:
    assert isinstance(get_json(home, "api/stats"), dict)  # the config flow's connection check
    version = requests.get(f"{home.base}/api/version", timeout=HA_TIMEOUT)
    version.raise_for_status()
    assert version.text.strip() and version.headers["Content-Type"].startswith("text/plain")
    config = get_json(home, "api/config")
    assert config["mqtt"]["topic_prefix"] == home.prefix
    assert config["mqtt"]["client_id"] == home.prefix  # the media source's instance id
    demo = config["cameras"]["demo"]
    assert demo["objects"]["track"] == ["person"] and list(demo["zones"]) == [ZONE]
    assert demo["frame_shape"] == [432, 768]
    assert demo["ffmpeg_cmds"][0]["roles"] == ["detect", "clips", "record", "rtmp"]
    assert isinstance(demo["rtmp"]["enabled"], bool)


# -- sensors (sensor.py): every stats key but detection_fps, detectors and service is a camera ----
def test_stats_sensors(home: Home) -> None:
    home.daemon.wait_for(lambda: get_json(home, "api/stats")["demo"]["camera_fps"] > 0, 60, what="camera fps")
    stats = get_json(home, "api/stats")
    cameras = set(get_json(home, "api/config")["cameras"])
    assert isinstance(stats["detection_fps"], int | float)
    speeds = [d["inference_speed"] for d in stats["detectors"].values()]
    assert speeds and all(isinstance(speed, int | float) for speed in speeds)
    for key, value in stats.items():
        if key in ("detection_fps", "detectors", "service"):
            continue
        assert key in cameras, f"{key!r} would become a camera's FPS sensors"
        for fps in ("camera", "detection", "process", "skipped"):
            assert isinstance(value[f"{fps}_fps"], int | float), (key, fps)


# -- camera entities (camera.py): still image, stream source --------------------------------------
def test_camera_still_image_and_stream_source(home: Home) -> None:
    assert jpeg(get_bytes(home, "api/demo/latest.jpg", "image/jpeg", h=277)).shape[0] == 277
    camera = get_json(home, "api/config")["cameras"]["demo"]
    home.daemon.wait_for(
        lambda: get_json(home, "api/config")["cameras"]["demo"]["rtmp"]["enabled"], 60, what="the stream offered"
    )
    # the option "RTMP URL template", rendered with the camera's config dict as the integration does
    # (without it the integration uses rtmp://<host>/live/<camera>, i.e. port 1935)
    url = jinja2.Template(f"rtmp://127.0.0.1:{home.rtmp_port}/live/{{{{ name }}}}").render(**camera)
    assert url == f"rtmp://127.0.0.1:{home.rtmp_port}/live/demo"
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-rw_timeout", "10000000", "-show_entries", "stream=codec_type,width,height",
         "-of", "json", url],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    video = [s for s in json.loads(probe.stdout)["streams"] if s["codec_type"] == "video"]
    assert [(s["width"], s["height"]) for s in video] == [(768, 432)]


# -- MQTT entities: availability, counts, motion, snapshots, switches -----------------------------
def test_mqtt_sensors_snapshots_and_switches(home: Home) -> None:
    sub = home.sub
    sub.wait_topic("available", "online", timeout=30)
    # object count sensors: an integer; the motion binary sensor is on while it is above 0
    for topic in ("demo/person", f"{ZONE}/person"):
        seen = sub.wait_for(lambda ms, t=topic: [int(m.text) for m in ms if m.topic == t and int(m.text) > 0], 120,
                            f"{topic} above 0")  # fmt: skip
        assert all(isinstance(n, int) for n in seen)
    snapshot = sub.wait_topic("demo/person/snapshot", timeout=60)
    assert jpeg(snapshot.payload).shape[0] == 270  # cameras.demo.mqtt.height
    for switch in ("detect", "clips", "snapshots"):
        assert sub.wait_topic(f"demo/{switch}/state", "ON").text == "ON"
        after = len(sub.snapshot())
        send(f"{home.prefix}/demo/{switch}/set", "OFF")
        sub.wait_topic(f"demo/{switch}/state", "OFF", after=after)
        assert get_json(home, "api/config")["cameras"]["demo"][switch]["enabled"] is False
        after = len(sub.snapshot())
        send(f"{home.prefix}/demo/{switch}/set", "ON")
        sub.wait_topic(f"demo/{switch}/state", "ON", after=after)
        assert get_json(home, "api/config")["cameras"]["demo"][switch]["enabled"] is True


# -- media browser and notifications while an event is in progress --------------------------------
def _browse_events(home: Home, kind: str) -> list[dict[str, Any]]:
    """The clips or snapshots folder of the media browser: the summary, then the event list."""
    summary = get_json(home, "api/events/summary", **{kind: 1})
    for row in summary:
        dt.datetime.strptime(row["day"], "%Y-%m-%d")
        assert isinstance(row["count"], int) and isinstance(row["zones"], list)
        assert {"camera", "label"} <= set(row)
    total = sum(row["count"] for row in summary)
    events = get_json(home, "api/events", **{kind: 1}, limit=50)
    events += get_json(home, "api/events", **{kind: 1}, camera="demo", label="person", zone=ZONE, limit=10000)
    for event in events:
        browse_title(event)
        jpeg(base64.b64decode(event["thumbnail"]))
    assert len({e["id"] for e in events}) <= total
    return events


def test_media_browser_and_notifications_while_an_event_is_in_progress(home: Home) -> None:
    live = home.daemon.wait_for(lambda: in_progress(home), 120, what="an event in progress")
    for kind in ("has_clip", "has_snapshot"):
        listed = _browse_events(home, kind)
        assert live["id"] not in {e["id"] for e in listed}
    # the notification proxy's paths work at once, while the event goes on
    event_id = live["id"]
    jpeg(get_bytes(home, f"api/events/{event_id}/thumbnail.jpg", "image/jpeg"))
    android = jpeg(get_bytes(home, f"api/events/{event_id}/thumbnail.jpg", "image/jpeg", format="android"))
    assert android.shape[1] == 2 * android.shape[0]
    jpeg(get_bytes(home, f"api/events/{event_id}/snapshot.jpg", "image/jpeg"))


def test_media_browser_clips_and_snapshots_after_an_event_ends(home: Home) -> None:
    def ended_with_clip() -> list[dict[str, Any]]:
        return [e for e in _browse_events(home, "has_clip") if e["end_time"] is not None]

    event = home.daemon.wait_for(ended_with_clip, 240, interval=2, what="an ended event with a clip")[0]
    name = f"demo-{event['id']}"
    clip = get_bytes(home, f"clips/{name}.mp4", "video/mp4")  # media source and notification clip.mp4
    assert clip[4:8] == b"ftyp"
    ranged = requests.get(f"{home.base}/clips/{name}.mp4", headers={"Range": "bytes=0-99"}, timeout=HA_TIMEOUT)
    assert ranged.status_code == 206 and len(ranged.content) == 100
    jpeg(get_bytes(home, f"clips/{name}.jpg", "image/jpeg"))
    assert any(e["id"] == event["id"] for e in _browse_events(home, "has_snapshot"))


# -- recordings browser (media_source.py: RecordingIdentifier) -------------------------------------
def test_recordings_browser(home: Home) -> None:
    months = get_json(home, "recordings/")
    for entry in months:
        dt.datetime.strptime(entry["name"], "%Y-%m")
    assert "2021-08" in {e["name"] for e in months}  # the earlier layout's footage, moved
    now = dt.datetime.now(dt.UTC)

    def segments() -> list[dict[str, Any]]:
        hour = f"recordings/{now:%Y-%m}/{now:%d}/{now:%H}/demo"
        try:
            return [e for e in get_json(home, hour) if e["name"].endswith(".mp4")]
        except requests.HTTPError:
            return []

    files = home.daemon.wait_for(segments, 90, interval=2, what="a recorded segment")
    for level, pattern in ((f"{now:%Y-%m}", "%d"), (f"{now:%Y-%m}/{now:%d}", "%H")):
        for entry in get_json(home, f"recordings/{level}"):
            dt.datetime.strptime(entry["name"], pattern)
    assert "demo" in {e["name"] for e in get_json(home, f"recordings/{now:%Y-%m}/{now:%d}/{now:%H}")}
    for entry in files:
        dt.datetime.strptime(f"{now:%H}.{entry['name'].removesuffix('.mp4')}", "%H.%M.%S")
        assert entry["type"] == "file" and entry["size"] > 0
    data = get_bytes(home, f"recordings/{now:%Y-%m}/{now:%d}/{now:%H}/demo/{files[0]['name']}", "video/mp4")
    assert data[4:8] == b"ftyp"
    old = get_json(home, "recordings/2021-08/10/14/demo")
    assert [e["name"] for e in old] == ["03.00.mp4"]


# -- a camera a camera group adds at run time gets the same entities as a YAML one -----------------
def test_a_group_camera_added_at_run_time_gets_the_same_entities(home: Home) -> None:
    sub = home.sub
    after = len(sub.snapshot())
    body = group_body()
    body["camera_configs"]["000"]["record"] = False
    applied = requests.post(f"{home.base}/skellycam/camera/group/apply", json=body, timeout=60)
    assert applied.status_code == 200, applied.text
    # set-up reads /api/config: the group camera in Frigate 0.8.4's shape, no stream to offer
    lobby = get_json(home, "api/config")["cameras"]["lobby"]
    assert lobby["frame_shape"] == [432, 768] and lobby["ffmpeg_cmds"][0]["roles"][0] == "detect"
    assert [lobby[s]["enabled"] for s in ("detect", "snapshots", "rtmp")] == [True, False, False]
    # its MQTT entities: count sensor from 0, switches, events
    sub.wait_topic("lobby/person", "0", after=after)
    sub.wait_topic("lobby/detect/state", "ON", after=after)

    def lobby_events(messages: list[Received]) -> list[Received]:
        events = [m for m in messages[after:] if m.topic == "events"]
        return [m for m in events if json.loads(m.payload)["after"]["camera"] == "lobby"]

    sub.wait_for(lobby_events, 120, "an event of the group camera")
    sub.wait_topic("lobby/person", "1", timeout=60, after=after)
    mark = len(sub.snapshot())
    send(f"{home.prefix}/lobby/detect/set", "OFF")
    sub.wait_topic("lobby/detect/state", "OFF", after=mark)
    assert get_json(home, "api/config")["cameras"]["lobby"]["detect"]["enabled"] is False
