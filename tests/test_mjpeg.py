"""Shared live-view encoders: one encode per frame and option set, freed as soon as the last viewer goes."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from frigate_like.errors import Unavailable
from frigate_like.events.mjpeg import BOUNDARY, MjpegStream
from frigate_like.events.overlays import ViewOptions
from tests.live_support import LiveRig, person

FAST = 200.0  # fps: ticks come every 5 ms, so the tests never wait long


@pytest.fixture
def rig(tmp_path: Path, shared_dir: Path, person_video: Path) -> LiveRig:
    return LiveRig(tmp_path, shared_dir, person_video)


def _jpeg_of(part: bytes) -> np.ndarray:
    head, _, rest = part.partition(b"\r\n\r\n")
    assert head.startswith(f"--{BOUNDARY}\r\nContent-Type: image/jpeg".encode())
    length = int(head.rsplit(b"Content-Length: ", 1)[1])
    assert rest.endswith(b"\r\n") and len(rest) == length + 2
    image = cv2.imdecode(np.frombuffer(rest[:length], np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_two_viewers_share_one_encode_per_frame(rig: LiveRig) -> None:
    options = ViewOptions(height=216, bbox=True)
    rig.feed(100.0, (person(100.0),))
    first = rig.live.open_stream("cam", options, FAST)
    second = rig.live.open_stream("cam", options, FAST)
    try:
        (encoder,) = rig.live.encoders.active()
        assert encoder.viewers == 2
        a, b = next(first), next(second)
        assert a == b and _jpeg_of(a).shape == (216, 384, 3)
        assert encoder.encodes == 1 and rig.reads == 1  # one ring copy, one draw + encode

        rig.feed(100.2, (person(100.2),))
        assert next(second) == next(first)  # the same picture (same footage frame), encoded anew once
        assert encoder.encodes == 2 and rig.reads == 2
    finally:
        first.close()
        second.close()
    assert rig.live.encoders.active() == []


def test_other_options_get_their_own_encoder(rig: LiveRig) -> None:
    rig.feed(100.0, (person(100.0),))
    plain = rig.live.open_stream("cam", ViewOptions(height=216), FAST)
    boxed = rig.live.open_stream("cam", ViewOptions(height=216, bbox=True), FAST)
    try:
        assert next(plain) != next(boxed)
        assert sorted(e.encodes for e in rig.live.encoders.active()) == [1, 1]
        assert rig.reads == 1  # the frame copy is still shared by both option sets
    finally:
        plain.close()
        boxed.close()


def test_no_new_frame_no_new_part(rig: LiveRig) -> None:
    rig.feed(100.0)
    stream = rig.live.open_stream("cam", ViewOptions(height=108), FAST)
    try:
        next(stream)
        got: list[bytes] = []
        reader = threading.Thread(target=lambda: got.append(next(stream)), daemon=True)
        reader.start()
        reader.join(0.1)  # several ticks pass without a new frame: nothing is sent
        assert not got
        rig.feed(100.2)
        reader.join(5)
        assert got
        (encoder,) = rig.live.encoders.active()
        assert encoder.encodes == 2
    finally:
        stream.close()


def test_close_frees_the_encoder_at_once_even_unstarted(rig: LiveRig) -> None:
    rig.feed(100.0)
    stream = rig.live.open_stream("cam", ViewOptions(), FAST)
    assert rig.live.encoders.streams == 1
    stream.close()  # a WSGI server closes a body it never iterated (client gone before the first byte)
    assert rig.live.encoders.active() == [] and rig.live.encoders.streams == 0
    stream.close()  # twice is harmless
    assert rig.live.encoders.streams == 0


def test_disconnected_viewer_ends_its_stream(rig: LiveRig) -> None:
    rig.feed(100.0)
    gone = threading.Event()
    stream = rig.live.open_stream("cam", ViewOptions(), 1.0, disconnected=gone.is_set)
    next(stream)
    gone.set()
    with pytest.raises(StopIteration):
        next(stream)  # noticed within one disconnect poll, not at the next 1 fps tick's write
    stream.close()
    assert rig.live.encoders.active() == []


def test_viewer_limit_is_unavailable_and_frees_on_close(rig: LiveRig) -> None:
    rig.feed(100.0)
    streams = [rig.live.open_stream("cam", ViewOptions(height=h), FAST) for h in (100, 200, 300, 400)]
    with pytest.raises(Unavailable):
        rig.live.open_stream("cam", ViewOptions(), FAST)
    streams.pop().close()
    rig.live.open_stream("cam", ViewOptions(), FAST).close()
    for stream in streams:
        stream.close()
    assert rig.live.encoders.streams == 0


def test_latest_jpeg_reuses_a_running_streams_encode(rig: LiveRig) -> None:
    options = ViewOptions(height=216)
    rig.feed(100.0)
    stream = rig.live.open_stream("cam", options, FAST)
    try:
        part = next(stream)
        jpeg = rig.live.latest_jpeg("cam", options)
        assert part.endswith(jpeg + b"\r\n")
        (encoder,) = rig.live.encoders.active()
        assert encoder.encodes == 1 and encoder.viewers == 1
    finally:
        stream.close()
    rig.live.latest_jpeg("cam", options)  # without a stream: a transient encoder, dropped right after
    assert rig.live.encoders.active() == []


def test_stop_ends_streams_and_no_frame_is_read_after(rig: LiveRig) -> None:
    rig.feed(100.0)
    stream = rig.live.open_stream("cam", ViewOptions(), FAST)
    next(stream)
    rig.live.close()
    rig.feed(100.2)
    reads = rig.reads
    assert list(stream) == []
    stream.close()
    assert rig.reads == reads
    with pytest.raises(Unavailable):
        rig.live.open_stream("cam", ViewOptions(), FAST)


def test_stream_through_the_wsgi_app_releases_on_response_close(rig: LiveRig) -> None:
    from frigate_like.api import ApiServices, create_app

    rig.feed(100.0)
    app = create_app(
        ApiServices(config=rig.config, stats=dict, public_config=dict, events=None, live=rig.live, media=None)
    )
    with app.test_client() as client:
        response = client.get("/api/cam?fps=30&h=108&bbox=1", buffered=False)
        assert response.status_code == 200
        assert response.content_type == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        assert _jpeg_of(next(iter(response.response))).shape[0] == 108
        assert rig.live.encoders.streams == 1
        response.close()
        assert rig.live.encoders.streams == 0 and rig.live.encoders.active() == []

        held = [rig.live.open_stream("cam", ViewOptions(), FAST) for _ in range(rig.live.encoders.max_viewers)]
        full = client.get("/api/cam")
        assert full.status_code == 503 and "too many MJPEG viewers" in full.get_json()["detail"]
        for stream in held:
            stream.close()


def test_stream_object_is_a_closable_iterator(rig: LiveRig) -> None:
    rig.feed(100.0)
    stream = rig.live.open_stream("cam", ViewOptions(), FAST)
    assert isinstance(stream, MjpegStream) and iter(stream) is stream
    stream.close()


def test_hang_up_over_the_real_server_frees_the_viewer(rig: LiveRig) -> None:
    from frigate_like.api import ApiServices, create_app
    from frigate_like.api.server import HttpServer
    from tests.integration.daemon import free_port
    from tests.integration.http_support import first_jpeg

    rig.feed(100.0)
    app = create_app(
        ApiServices(config=rig.config, stats=dict, public_config=dict, events=None, live=rig.live, media=None)
    )
    port = free_port()
    server = HttpServer(app, "127.0.0.1", port)
    server.start()
    try:
        # 1 fps: the stream sleeps between frames; the hang-up must end it before the next write
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /api/cam?fps=1&h=108 HTTP/1.1\r\nHost: localhost\r\n\r\n")
            reader = sock.makefile("rb")
            while reader.readline() not in (b"\r\n", b""):
                pass  # response headers
            reader.readline()  # the chunk size line of chunked transfer encoding
            first_jpeg(reader)
            assert rig.live.encoders.streams == 1
            reader.close()
        deadline = time.monotonic() + 10
        while rig.live.encoders.streams and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rig.live.encoders.streams == 0 and rig.live.encoders.active() == []
    finally:
        server.stop()


def test_the_websocket_mjpeg_and_latest_jpeg_share_one_encode(rig: LiveRig) -> None:
    """One pipeline: the WebSocket's frame is the default-options MJPEG part and latest.jpg, encoded once."""
    rig.feed(100.0)
    stream = rig.live.open_stream("cam", ViewOptions(), FAST)
    try:
        rig.live.watch(["cam"])  # what the WebSocket's encoder thread does while a client wants "cam"
        (encoder,) = rig.live.encoders.active()
        assert encoder.viewers == 2
        part = next(stream)
        frame = rig.live.latest_frame("cam", after=0.0)
        assert frame is not None and part.endswith(frame.jpeg + b"\r\n")
        assert (frame.capture_time, frame.width, frame.height) == (100.0, 768, 432)
        assert rig.live.latest_jpeg("cam", ViewOptions()) == frame.jpeg
        assert rig.live.latest_frame("cam", after=100.0) is None  # nothing newer
        assert encoder.encodes == 1 and rig.reads == 1

        sequence = rig.live.wait_for_frame(0, timeout=0.0)
        update = rig.feed(100.2)
        rig.live.on_frame(update)  # the tracking thread's frame listener
        assert rig.live.wait_for_frame(sequence, timeout=5.0) == sequence + 1
        newer = rig.live.latest_frame("cam", after=100.0)
        assert newer is not None and newer.capture_time == 100.2
        assert next(stream).endswith(newer.jpeg + b"\r\n") and encoder.encodes == 2
    finally:
        stream.close()
    assert [e.viewers for e in rig.live.encoders.active()] == [1]  # the WebSocket's hold
    rig.live.watch(())  # no client wants frames any more: no encoder is left
    assert rig.live.encoders.active() == []


def test_h_equal_to_the_detect_height_shares_the_full_size_encoder(rig: LiveRig) -> None:
    rig.feed(100.0)
    full = rig.live.open_stream("cam", ViewOptions(), FAST)
    explicit = rig.live.open_stream("cam", ViewOptions(height=432), FAST)
    try:
        (encoder,) = rig.live.encoders.active()
        assert encoder.viewers == 2 and encoder.options == ViewOptions()
        assert next(full) == next(explicit) and encoder.encodes == 1
    finally:
        full.close()
        explicit.close()


def test_a_strangers_option_sets_cannot_multiply_the_encoding(rig: LiveRig) -> None:
    """Issue 19's attack: 16 streams of fps=30&h=<2160-i> with every overlay on."""
    rig.live.encoders.max_viewers = 32  # the rig's own cap is 4
    rig.feed(100.0, (person(100.0),))
    every_overlay = {"bbox": True, "timestamp": True, "zones": True, "mask": True, "motion": True, "regions": True}
    streams = [rig.live.open_stream("cam", ViewOptions(height=2160 - i, **every_overlay), 30.0) for i in range(16)]
    streams += [rig.live.open_stream("cam", ViewOptions(height=100 + 10 * i), 30.0) for i in range(8)]
    try:
        encoders = rig.live.encoders.active()
        assert len(encoders) <= 4  # MAX_OPTION_SETS: the others share the nearest running one
        assert sum(e.viewers for e in encoders) == len(streams)
        for stream in streams:
            image = _jpeg_of(next(stream))
            assert image.shape[0] <= rig.camera.height  # never upscaled past the detect size
        big = [e for e in encoders if e.options.height is None]
        assert len(big) == 1, "every h above the detect height is the full size, one encoder"
        assert all(s._period >= 1.0 / rig.camera.fps for s in streams)  # no more parts than the camera has frames
    finally:
        for stream in streams:
            stream.close()
    assert rig.live.encoders.active() == []


def test_a_frame_just_after_its_tick_is_sent_not_skipped(rig: LiveRig) -> None:
    """At the camera's own rate the frames come in phase with the viewer's ticks; with jitter, every other
    frame here lands just after its tick and the next one just before the following tick. Each must still
    be sent: the tick that missed its frame waits for it rather than leaving it to be overtaken."""
    fps, frames = 5.0, 10
    period = 1.0 / fps
    rig.feed(100.0)
    stream = rig.live.open_stream("cam", ViewOptions(height=108), fps)
    next(stream)  # the first frame at once
    sent: list[bytes] = []
    done = threading.Event()

    def viewer() -> None:
        while not done.is_set():
            part = next(stream)
            if not done.is_set():
                sent.append(part)

    reader = threading.Thread(target=viewer, daemon=True)
    reader.start()
    first_tick = (int(time.time() / period) + 2) * period
    for i in range(1, frames + 1):
        at = first_tick + i * period + (0.03 if i % 2 else -0.03)  # late, early, late, ...
        time.sleep(max(0.0, at - time.time()))
        rig.live.on_frame(rig.feed(100.0 + i * period))
    time.sleep(2 * period)  # the last frame's tick has passed
    done.set()
    rig.live.on_frame(rig.feed(200.0))  # the reader's last part: it sees ``done`` and returns
    reader.join(5)
    assert not reader.is_alive()
    stream.close()
    assert len(sent) == frames, f"{len(sent)} of {frames} frames sent"
