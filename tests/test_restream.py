"""The restream's parts on their own: mounts, fMP4 cutting, the live fan-out, and the server's start-up failures."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from frigate_like.cameras import Camera
from frigate_like.config import CameraConfig, config_from_dict
from frigate_like.health import health_problems
from frigate_like.restream import fmp4
from frigate_like.restream.live import LIVE_MOVFLAGS, LiveStreams, Mp4Feed, live_command
from frigate_like.restream.routes import base_url, live_input, mounts, routes
from frigate_like.restream.server import RestreamServer
from frigate_like.supervise import Supervisor

FPS, GOP = 10, 5


SHARED = Path(__file__).resolve().parents[2] / "shared"


def camera(inputs: list[dict[str, object]]) -> CameraConfig:
    model = {"path": str(SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite"),
             "labelmap_path": str(SHARED / "models" / "coco_labelmap.txt")}  # fmt: skip
    cfg = config_from_dict({"model": model, "cameras": {"front": {"ffmpeg": {"inputs": inputs}, "width": 640,
                                                                   "height": 360}}})  # fmt: skip
    return cfg.cameras["front"]


def test_the_live_input_is_the_record_one_and_only_rtsp_inputs_get_mounts() -> None:
    cam = camera([
        {"path": "rtsp://cam/sub", "roles": ["detect"]},
        {"path": "rtsp://u:p@cam/main", "roles": ["record", "clips"]},
        {"path": "http://cam/mjpeg", "roles": ["rtmp"]},
    ])  # fmt: skip
    live = live_input(cam)
    assert live is not None and live.path == "rtsp://u:p@cam/main"
    found = {m.path: m.source for m in mounts(cam)}
    assert found == {"/front": "rtsp://u:p@cam/main", "/front/0": "rtsp://cam/sub"}
    assert routes(cam, base_url(8554, ("reader", "a b/c"))) == {
        "rtsp://u:p@cam/main": "rtsp://reader:a%20b%2Fc@127.0.0.1:8554/front",
        "rtsp://cam/sub": "rtsp://reader:a%20b%2Fc@127.0.0.1:8554/front/0",
    }
    assert mounts(camera([{"path": "/media/front.mp4", "roles": ["detect"]}])) == []


@pytest.fixture(scope="module")
def fmp4_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Three seconds of H.264 (a key frame every GOP frames) as the live feed's ffmpeg writes it."""
    out = subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc=size=320x240:rate={FPS}",
            "-t", "3", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "high", "-g", str(GOP),
            "-sc_threshold", "0", "-f", "mp4", "-movflags", LIVE_MOVFLAGS, "pipe:1",
        ],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    return out.stdout


def test_fragments_are_cut_on_box_boundaries_whatever_the_chunks_and_key_frames_found(fmp4_bytes: bytes) -> None:
    reader = fmp4.BoxReader()
    found: list[fmp4.Box] = []
    for start in range(0, len(fmp4_bytes), 1000):  # chunks that tear boxes apart
        found += reader.feed(fmp4_bytes[start : start + 1000])
    kinds = [b.kind for b in found]
    assert kinds[:2] == [b"ftyp", b"moov"] and kinds.count(b"moof") == kinds.count(b"mdat") == 3 * FPS
    moov = found[1]
    assert fmp4.codec_string(moov) is not None and fmp4.codec_string(moov).startswith("avc1.64")  # type: ignore[union-attr]
    flags = fmp4.default_sample_flags(moov)
    keys = [fmp4.is_key_fragment(b, flags) for b in found if b.kind == b"moof"]
    assert keys == [i % GOP == 0 for i in range(3 * FPS)]


class FakeFeed(Mp4Feed):
    """A feed whose "ffmpeg" is the test: fragments appended by hand."""

    def __init__(self) -> None:
        super().__init__("front", ["true"], lambda: None)


def test_a_viewer_starts_at_the_last_key_frame_and_one_that_stops_reading_holds_nobody_up() -> None:
    feed = FakeFeed()
    feed._new_run(b"INIT", "avc1.640028")
    feed._append(b"p-before-any-key", key=False)  # nothing to start from: dropped
    for fragment, key in ((b"K1", True), (b"p1", False), (b"K2", True), (b"p2", False)):
        feed._append(fragment, key)
    assert feed.wait_ready(0.1) == "avc1.640028"
    stop = threading.Event()
    slow, fast = feed.chunks(stop, lambda: False), feed.chunks(stop, lambda: False)
    assert next(slow) == b"INITK2p2"  # init + the GOP so far, at once
    assert next(fast) == b"INITK2p2"
    got: list[bytes] = []
    expected = b"p3K3p4K4p5"

    def read_fast() -> None:  # what came since its last write, gathered: a key frame on the way skips nothing
        while b"".join(got) != expected and len(b"".join(got)) < len(expected):
            got.append(next(fast))

    reader = threading.Thread(target=read_fast)
    reader.start()
    for fragment, key in ((b"p3", False), (b"K3", True), (b"p4", False), (b"K4", True), (b"p5", False)):
        feed._append(fragment, key)  # the slow viewer reads none of them
        time.sleep(0.05)
    reader.join(5)
    assert b"".join(got) == expected
    assert next(slow) == b"K4p5"  # fell more than a GOP behind: on from the latest key frame, not from p3
    feed._new_run(b"INIT2", "avc1.640028")  # ffmpeg started again
    feed._append(b"q", key=False)
    feed._append(b"K5", key=True)
    assert next(slow) == b"INIT2K5"
    stop.set()


def test_a_device_has_no_live_feed_and_a_file_is_read_with_its_input_args(tmp_path: Path) -> None:
    assert live_command("ffmpeg", camera([{"path": "/dev/video0", "roles": ["detect"]}]), None) is None
    fifo = tmp_path / "cam.ts"
    os.mkfifo(fifo)  # a second reader would take part of the capture's bytes
    assert live_command("ffmpeg", camera([{"path": str(fifo), "roles": ["detect"]}]), None) is None
    cam = camera([{"path": "/media/front.mp4", "roles": ["detect"], "input_args": "-re -stream_loop -1"}])
    built = live_command("ffmpeg", cam, None)
    assert built is not None
    args, url = built
    assert url == "/media/front.mp4" and args[args.index("-i") - 3 : args.index("-i") + 2] == [
        "-re", "-stream_loop", "-1", "-i", "/media/front.mp4",
    ]  # fmt: skip


def feed_ffmpegs(feed: Mp4Feed) -> list[int]:
    """Pids of the feed's running ffmpeg (children of this process reading its file)."""
    proc = feed._proc
    return [proc.pid] if proc is not None and proc.poll() is None else []


def test_a_file_s_feed_runs_only_while_viewers_ask_and_a_while_after(tmp_path: Path) -> None:
    video = tmp_path / "front.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc=size=320x240:rate={FPS}",
         "-t", "4", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", str(GOP), str(video)],
        check=True, timeout=60,
    )  # fmt: skip
    built = live_command("ffmpeg", camera([{"path": str(video), "roles": ["detect"],
                                             "input_args": "-re -stream_loop -1"}]), None)  # fmt: skip
    assert built is not None
    feed = Mp4Feed("front", built[0], lambda: None, on_demand=True, linger=1.0)
    runner = threading.Thread(target=feed.run, daemon=True)
    runner.start()
    try:
        time.sleep(1.5)
        assert feed_ffmpegs(feed) == [] and not feed.streaming  # nobody asked: no ffmpeg at all
        stop = threading.Event()
        started = time.monotonic()
        assert feed.wait_ready(feed.start_wait).startswith("avc1")  # type: ignore[union-attr]
        print(f"first key frame of an on-demand feed after {time.monotonic() - started:.2f} s")
        feed.count_viewer(1)
        first = feed_ffmpegs(feed)
        assert len(first) == 1
        chunks = feed.chunks(stop, lambda: False)
        assert next(chunks)[4:8] == b"ftyp"  # the init segment first
        time.sleep(2.0)  # well past the linger: a viewer keeps it running
        assert feed_ffmpegs(feed) == first
        feed.count_viewer(-1)  # the viewer left
        time.sleep(0.3)
        assert feed_ffmpegs(feed) == first, "stopped within the linger"
        deadline = time.monotonic() + 10
        while feed_ffmpegs(feed) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert feed_ffmpegs(feed) == [] and not feed.streaming, "an unwatched feed kept its ffmpeg"
        # the next viewer starts a new run, from its own init segment and key frame
        assert feed.wait_ready(feed.start_wait).startswith("avc1")  # type: ignore[union-attr]
        second = feed_ffmpegs(feed)
        assert len(second) == 1 and second != first
        stop.set()
    finally:
        feed.stop()
        runner.join(10)
    assert not runner.is_alive()


def test_only_a_camera_on_the_network_keeps_its_feed_running_without_viewers() -> None:
    spawned: dict[str, Callable[[], object]] = {}
    streams = LiveStreams("ffmpeg", lambda name, body, _stopped: spawned.setdefault(name, body), None, lambda _c: None)
    streams.camera_added(Camera(camera([{"path": "rtsp://cam/main", "roles": ["detect"]}]), "config"))
    network_feed = streams._feeds["front"]
    streams.camera_removed(Camera(camera([{"path": "rtsp://cam/main", "roles": ["detect"]}]), "config"))
    streams.camera_added(Camera(camera([{"path": "/media/front.mp4", "roles": ["detect"]}]), "config"))
    assert not network_feed.on_demand and streams._feeds["front"].on_demand
    assert set(spawned) == {"live-front"}
    streams.close()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_port_in_use_is_one_warning_and_a_health_entry_not_a_failure(
    busy_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor = Supervisor(threading.Event())
    server = RestreamServer("127.0.0.1", busy_port, None, supervisor.health("restream"))
    with caplog.at_level(logging.WARNING, logger="frigate_like.restream.server"):
        started = server.start()
    if "not installed" in caplog.text:
        pytest.skip("no GStreamer RTSP server here (scripts/test.sh installs it)")
    assert not started and not server.running
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and f"cannot listen on 127.0.0.1:{busy_port}" in warnings[0], warnings
    entry = supervisor.stats()["restream"]
    assert not entry["ok"] and "cannot listen" in entry["error"]
    cam = camera([{"path": "rtsp://cam/main", "roles": ["detect"]}])
    assert server.routes(cam) == {}  # every camera read directly
    stats = {"service": {"health": {"restream": {**entry, "failing_since": 0.0}}}}
    assert health_problems(stats, now=1e9) == []  # the container stays healthy


def test_without_gstreamer_the_restream_is_off_with_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor = Supervisor(threading.Event())
    server = RestreamServer("127.0.0.1", 1, None, supervisor.health("restream"), python=str(tmp_path / "no-python"))
    with caplog.at_level(logging.WARNING):
        assert not server.start()
    assert "not found" in supervisor.stats()["restream"]["error"]
    assert sum(1 for r in caplog.records if "RTSP restream off" in r.getMessage()) == 1


def test_the_relay_sends_each_packet_as_it_comes_never_waiting_on_the_clock(tmp_path: Path) -> None:
    """The relay's RTP sinks must not sync to the clock: a relayed camera's buffer times are its own (B-frames run
    ahead of arrival) and a synced sink held them and everything behind, so readers got their first frames in
    bursts (resume 2.1 s instead of 1.1 s, BENCHMARKS.md). GStreamer's basesink logs each clock wait at LOG level
    ("wait_clock: ... time ..., base_time ..."), and "sync disabled" for each buffer it passes unsynced."""
    from frigate_like.restream.server import SERVER_SCRIPT, SYSTEM_PYTHON
    from tests.integration.daemon import free_port
    from tests.integration.rtsp_camera import PERSON, rtsp_server

    camera_port, relay_port, log = free_port(), free_port(), tmp_path / "relay.log"
    env = {**os.environ, "GST_DEBUG": "basesink:6", "GST_DEBUG_NO_COLOR": "1"}
    with rtsp_server(camera_port, PERSON), log.open("w") as stderr:
        relay = subprocess.Popen(
            [SYSTEM_PYTHON, str(SERVER_SCRIPT), "127.0.0.1", str(relay_port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env,
        )  # fmt: skip
        assert relay.stdin is not None and relay.stdout is not None
        try:
            assert '"ready"' in relay.stdout.readline()
            relay.stdin.write(f'{{"op": "add", "mount": "/cam", "url": "rtsp://127.0.0.1:{camera_port}/cam"}}\n')
            relay.stdin.flush()
            time.sleep(0.3)  # the command is read before the reader asks
            read = subprocess.run(
                ["ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp",
                 "-i", f"rtsp://127.0.0.1:{relay_port}/cam", "-t", "3", "-c", "copy", "-f", "null", "-"],
                capture_output=True, timeout=60,
            )  # fmt: skip
            assert read.returncode == 0, read.stderr[-500:]
        finally:
            relay.kill()
            relay.wait()
            relay.stdin.close()
            relay.stdout.close()
    lines = log.read_text(errors="replace").splitlines()
    unsynced = [line for line in lines if "sync disabled" in line]
    waits = [line for line in lines if "gst_base_sink_wait_clock" in line and "base_time" in line]
    assert len(unsynced) > 20, f"the relay's sinks passed {len(unsynced)} buffers unsynced"
    assert not waits, f"a relay sink waited on the clock: {waits[:3]}"
