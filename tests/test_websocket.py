"""The live WebSocket: message formats, and the hub on a real server with a frame source that paces itself."""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
import socket
import struct
import termios
import time
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from typing import Any

import cv2
import numpy as np
import pytest
from flask import Flask
from websockets.sync.client import ClientConnection, connect

from frigate_like.api.server import HttpServer
from frigate_like.websocket import PATH, FrameHeader, LatestFrame, LiveHub, pack_frame, unpack_frame
from frigate_like.websocket.logs import WebSocketLogHandler
from frigate_like.websocket.protocol import Subscription, parse_request

FPS = 20.0
SIZES = {"front": (320, 240), "back": (160, 120)}


class PacedFrames:
    """Frame ``n`` of each camera is captured at ``t0 + n / FPS``: new frames with no thread of its own.

    Each frame is encoded once, whichever client asks; ``watched`` is what the hub holds now.
    """

    def __init__(self) -> None:
        self.t0 = time.time()
        noise = np.random.default_rng(7)  # noise: big JPEGs, so a client that never reads fills its buffers fast
        self.frames = {}
        for name, (w, h) in SIZES.items():
            ok, jpeg = cv2.imencode(".jpg", noise.integers(0, 255, (h, w, 3), dtype=np.uint8))
            assert ok
            self.frames[name] = bytes(jpeg)
        self.watched: frozenset[str] = frozenset()

    def camera_names(self) -> Iterable[str]:
        return list(SIZES)

    def watch(self, cameras: Collection[str]) -> None:
        self.watched = frozenset(cameras)

    def _number(self) -> int:
        return int((time.time() - self.t0) * FPS)

    def wait_for_frame(self, seen: int, timeout: float) -> int:
        if self._number() == seen:
            time.sleep(min(timeout, self.t0 + (seen + 1) / FPS - time.time()))
        return self._number()

    def latest_frame(self, camera: str, after: float) -> LatestFrame | None:
        assert camera in self.watched, "the hub asks only for the cameras it watches"
        number = self._number()
        capture_time = self.t0 + number / FPS
        if capture_time <= after:
            return None
        width, height = SIZES[camera]
        return LatestFrame(self.frames[camera], capture_time, number, width, height)


@pytest.fixture
def live() -> Iterator[tuple[str, LiveHub]]:
    hub = LiveHub(PacedFrames(), lambda: {"paused": False, "groups": {}})
    hub.start()
    server = HttpServer(Flask("bare"), "127.0.0.1", 0, websockets={PATH: hub.endpoint}, on_loop=hub.attach)
    server.start()
    hub.publish_state()
    yield f"ws://127.0.0.1:{server.port}{PATH}", hub
    server.stop()
    hub.stop()


def receive(ws: ClientConnection, seconds: float) -> tuple[list[FrameHeader], list[dict[str, Any]]]:
    """Frames (headers, JPEG checked) and text messages received within ``seconds``."""
    frames: list[FrameHeader] = []
    texts: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = ws.recv(timeout=left)
        except TimeoutError:
            break
        if isinstance(message, bytes):
            header, jpeg = unpack_frame(message)
            image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            assert image.shape == (header.height, header.width, 3)
            frames.append(header)
        else:
            texts.append(json.loads(message))
    return frames, texts


def test_frame_messages_round_trip_and_garbage_is_refused() -> None:
    header = FrameHeader("Camera-000", 2**40 + 3, 1_700_000_000.123456, 1280, 720)
    data = pack_frame(header, b"\xff\xd8jpeg")
    assert data[:4] == b"FLF1" and struct.unpack_from("<H", data, 4)[0] == 28 + len("Camera-000")
    assert unpack_frame(data) == (header, b"\xff\xd8jpeg")
    for bad in (b"", b"FLF1" + b"\0" * 30, b"XXXX" + data[4:]):
        with pytest.raises(ValueError):
            unpack_frame(bad)


def test_client_requests_update_their_subscription() -> None:
    start = Subscription()
    assert start.wants("any") and start.min_interval == 0.0 and start.log_level == logging.INFO
    got = parse_request('{"type": "subscribe", "cameras": ["a"], "max_fps": 4, "log_level": "warning"}', start)
    assert (got.cameras, got.min_interval, got.log_level) == (frozenset({"a"}), 0.25, logging.WARNING)
    assert parse_request('{"max_fps": null}', got).cameras == frozenset({"a"})  # left-out keys stay
    assert parse_request('{"log_level": null}', got).log_level > logging.CRITICAL
    for bad, field in [("[]", "subscribe"), ('{"cameras": "a"}', "cameras"), ('{"max_fps": -1}', "max_fps"),
                       ('{"log_level": "loud"}', "log_level"), ("{", "JSON")]:  # fmt: skip
        with pytest.raises(ValueError, match=field):
            parse_request(bad, start)


def test_a_client_gets_state_then_frames_of_every_camera_and_log_records(live: tuple[str, LiveHub]) -> None:
    url, hub = live
    with connect(url, max_size=None) as ws:
        first = json.loads(ws.recv(timeout=10))
        assert first == {"type": "state", "paused": False, "groups": {}}
        handler = WebSocketLogHandler(hub, logging.INFO)
        record = logging.LogRecord("frigate_like.test", logging.WARNING, __file__, 1, "hello %s", ("ws",), None)
        handler.handle(record)
        handler.handle(logging.LogRecord("frigate_like.test", logging.DEBUG, __file__, 1, "quiet", None, None))
        frames, texts = receive(ws, 2.0)
    counts = Counter(f.camera for f in frames)
    assert counts["front"] >= 10 and counts["back"] >= 10
    assert {(f.width, f.height) for f in frames if f.camera == "back"} == {SIZES["back"]}
    numbers = [f.frame_number for f in frames if f.camera == "front"]
    assert numbers == sorted(set(numbers))  # never the same frame twice, never an older one
    logs = [t for t in texts if t["type"] == "log"]
    assert [(t["level"], t["logger"], t["message"]) for t in logs] == [("WARNING", "frigate_like.test", "hello ws")]
    assert abs(logs[0]["time"] - time.time()) < 60


def test_a_client_may_ask_for_some_cameras_at_a_lower_rate(live: tuple[str, LiveHub]) -> None:
    url, _ = live
    with connect(url, max_size=None) as ws:
        ws.send(json.dumps({"type": "subscribe", "cameras": ["back"], "max_fps": 4}))
        receive(ws, 0.5)  # what was already on its way
        frames, _ = receive(ws, 2.0)
        ws.send("not json")
        _, texts = receive(ws, 0.5)
    assert {f.camera for f in frames} == {"back"}
    assert 2 <= len(frames) <= 4 * 2.0 + 2
    assert [t["type"] for t in texts if t["type"] == "error"] == ["error"]


def stalled_client(url: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads again."""
    host, port = url.removeprefix("ws://").split("/", 1)[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    return sock


def unread_bytes(sock: socket.socket) -> int:
    return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0])


def test_a_client_that_never_reads_does_not_slow_the_others(live: tuple[str, LiveHub]) -> None:
    url, hub = live
    with stalled_client(url) as stalled, connect(url, max_size=None) as ws:
        receive(ws, 3.0)  # meanwhile the stalled client's buffers fill up and its sender blocks
        assert unread_bytes(stalled) > 0
        encoded_before = dict(hub.encoded)
        frames, _ = receive(ws, 3.0)
        encoded = {camera: hub.encoded[camera] - encoded_before[camera] for camera in SIZES}
    for camera in SIZES:
        got = sum(1 for f in frames if f.camera == camera)
        # (nearly) every frame encoded in that window reached the reading client
        assert encoded[camera] >= 10 and got >= 0.8 * encoded[camera], (camera, got, encoded)


def test_the_hub_holds_encoders_only_while_a_client_wants_frames() -> None:
    source = PacedFrames()
    hub = LiveHub(source, lambda: {"paused": False, "groups": {}})
    hub.start()
    server = HttpServer(Flask("bare"), "127.0.0.1", 0, websockets={PATH: hub.endpoint}, on_loop=hub.attach)
    server.start()
    try:
        url = f"ws://127.0.0.1:{server.port}{PATH}"
        with connect(url, max_size=None) as ws:
            ws.send(json.dumps({"type": "subscribe", "cameras": ["back"]}))
            receive(ws, 1.0)
            assert source.watched == frozenset({"back"})
        deadline = time.monotonic() + 5
        while source.watched and time.monotonic() < deadline:
            time.sleep(0.05)
        assert source.watched == frozenset()  # nobody watches: no encoder is held
    finally:
        server.stop()
        hub.stop()
