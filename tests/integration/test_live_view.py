"""Live video at camera quality and the RTSP restream, on a 1280×720 camera served over RTSP.

The camera is the test's own GStreamer RTSP server (tests/rtsp_server.py) counting its clients: with
detect (640×360 at 5 fps), clips, record, two live.mp4 viewers and an RTSP viewer of the restream
running, it must see one session. ``live.mp4`` and the restream must be the camera's own stream:
1280×720 at its 15 fps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from frigate_like.restream.routes import RESTREAM_USER
from tests.integration.browser import Page, chromium_browser
from tests.integration.checks import descendants
from tests.integration.daemon import Daemon, demo_config, free_port
from tests.integration.rtsp_camera import rtsp_server

SOURCE_FPS = 15
TOKEN = "live-view-test-token"


def make_source(path: Path, seconds: int = 120) -> Path:
    """A 1280×720 15 fps H.264 file with a key frame every second, as a camera sends."""
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
            "-i", f"testsrc=size=1280x720:rate={SOURCE_FPS}", "-t", str(seconds),
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-g", str(SOURCE_FPS), "-keyint_min", str(SOURCE_FPS), "-sc_threshold", "0", str(path),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    return path


def probe(url: str, seconds: float = 4.0, extra: tuple[str, ...] = ()) -> tuple[int, int, float]:
    """(width, height, frames per second) of ``url``'s video, the rate measured from ``seconds`` of packets."""
    out = subprocess.run(
        [
            "ffprobe", "-v", "error", *extra, "-select_streams", "v:0", "-read_intervals", f"%+{seconds}",
            "-show_entries", "stream=width,height:packet=pts_time", "-of", "json", url,
        ],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    doc = json.loads(out.stdout)
    stream = doc["streams"][0]
    times = sorted(float(p["pts_time"]) for p in doc["packets"] if p.get("pts_time") not in (None, "N/A"))
    assert len(times) > 10, f"only {len(times)} packets from {url}"
    return int(stream["width"]), int(stream["height"]), (len(times) - 1) / (times[-1] - times[0])


class Viewer(threading.Thread):
    """Reads live.mp4 for as long as it runs: when its first fragment came, and how many bytes."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.asked = time.monotonic()
        self.first_fragment: float | None = None
        self.content_type = ""
        self.bytes = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with urllib.request.urlopen(self.url, timeout=30) as response:  # a camera outage sends nothing meanwhile
            self.content_type = response.headers["Content-Type"]
            seen = b""
            while not self.stop.is_set():
                chunk = response.read1(65536)
                if not chunk:
                    return
                self.bytes += len(chunk)
                if self.first_fragment is None:
                    seen += chunk
                    if b"mdat" in seen:  # init segment and the key frame's fragment: a picture can be shown
                        self.first_fragment = time.monotonic()


def camera_config(tmp_path: Path, camera_port: int, token: str | None = TOKEN) -> dict[str, Any]:
    cfg = demo_config(tmp_path, fps=5)
    if token:
        cfg["http"]["api_token"] = token  # the restream then asks for credentials; reads stay open
    cam = cfg["cameras"]["demo"]
    cam["width"], cam["height"] = 640, 360
    cam["ffmpeg"]["inputs"] = [
        {"path": f"rtsp://127.0.0.1:{camera_port}/cam", "roles": ["detect", "clips", "record"],
         "input_args": "-rtsp_transport tcp"}
    ]  # fmt: skip
    cam["record"] = {"enabled": True, "retain_days": 1}
    return cfg


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def latest_frame(daemon: Daemon) -> bytes | None:
    """The demo camera's latest.jpg; None while it has no frame yet (503)."""
    try:
        return daemon.get("/api/demo/latest.jpg")
    except urllib.error.HTTPError as exc:
        if exc.code == 503:
            return None
        raise


def sessions(count_file: Path) -> tuple[int, int]:
    now, most = count_file.read_text().split()
    return int(now), int(most)


def test_live_mp4_and_the_restream_are_the_camera_s_own_stream_from_one_camera_session(tmp_path: Path) -> None:
    source = make_source(tmp_path / "camera.mp4")
    camera_port, count_file = free_port(), tmp_path / "camera-sessions"
    cfg = camera_config(tmp_path, camera_port)
    restream_port = cfg["restream"]["rtsp_port"]
    daemon = Daemon(tmp_path, cfg)
    base = f"http://{daemon.host}:{daemon.port}"
    viewers: list[Viewer] = []
    with rtsp_server(camera_port, source, count_file):
        daemon.start()
        try:
            stats = daemon.wait_for(
                lambda: (s := daemon.get_json("/api/stats")["demo"])["camera_fps"] > 0 and s, 60, what="frames"
            )
            assert stats["restream"] is True, daemon.log()[-3000:]
            # the live feed has its key frame by now: a viewer gets it at once
            daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["live_streaming"], 20, what="the live feed")
            # the input's one ffmpeg (detect and segments) and the live feed
            assert daemon.get_json("/api/stats")["demo"]["restream_clients"] >= 2
            # the readers log in with a secret of their own: the API token is in no command line (/proc is public)
            readers = [cmdline(pid) for pid in descendants(daemon.proc.pid)]  # type: ignore[union-attr]
            relayed = [args for args in readers if f":{restream_port}/demo".encode() in args]
            assert len(relayed) == 2 and all(b"frigate-like-reader:" in args for args in relayed), relayed
            assert not [args for args in readers if TOKEN.encode() in args]
            for _ in range(2):
                viewer = Viewer(f"{base}/api/demo/live.mp4")
                viewer.start()
                viewers.append(viewer)
            for viewer in viewers:
                daemon.wait_for(lambda v=viewer: v.first_fragment is not None, 10, 0.05, what="a first fragment")
                assert viewer.first_fragment is not None
                first = viewer.first_fragment - viewer.asked
                print(f"live.mp4: first frame after {first:.2f} s ({viewer.content_type})")
                assert first < 1.5, f"first frame after {first:.2f} s"
                assert viewer.content_type.startswith('video/mp4; codecs="avc1.'), viewer.content_type

            width, height, fps = probe(f"{base}/api/demo/live.mp4")
            print(f"live.mp4: {width}x{height} at {fps:.2f} fps")
            assert (width, height) == (1280, 720)
            assert fps == pytest.approx(SOURCE_FPS, rel=0.1)

            log_before = len(daemon.log())
            restream = f"rtsp://127.0.0.1:{restream_port}/demo"
            refused = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", restream],
                                     capture_output=True, timeout=30)  # fmt: skip
            assert refused.returncode != 0 and b"401" in refused.stderr, refused.stderr[-500:]
            authed = f"rtsp://{RESTREAM_USER}:{TOKEN}@127.0.0.1:{restream_port}/demo"
            width, height, fps = probe(authed, extra=("-rtsp_transport", "tcp"))
            print(f"restream: {width}x{height} at {fps:.2f} fps")
            assert (width, height) == (1280, 720)
            assert fps == pytest.approx(SOURCE_FPS, rel=0.1)

            time.sleep(6)  # a record and a clips segment in the cache meanwhile, still on one session
            stats = daemon.get_json("/api/stats")["demo"]
            print("stats:", {k: v for k, v in stats.items() if k.startswith(("live", "restream"))})
            assert stats["live_viewers"] == 2
            assert stats["live_bytes_out"] > 0 and stats["restream_bytes_out"] > 0
            # bytes out is what each reader of the restream took: about its clients times the camera's bitrate
            clients, sent, t0 = stats["restream_clients"], stats["restream_bytes_out"], time.monotonic()
            time.sleep(4)
            sent = daemon.get_json("/api/stats")["demo"]["restream_bytes_out"] - sent
            expected = clients * source.stat().st_size / 120 * (time.monotonic() - t0)  # make_source's 120 s file
            assert 0.5 * expected < sent < 2 * expected, f"{sent} bytes out, ~{expected:.0f} expected"
            assert stats["camera_fps"] > 0  # detect at 640x360 goes on (its rate depends on the shared CPU)
            for role in ("clips", "record"):
                assert list((tmp_path / "cache" / "demo" / role).glob("*.mp4")), f"no {role} segment"
            # a client joining (PLAY with a Range) did not seek the shared stream under the daemon's readers
            assert "Non-monotonous DTS" not in daemon.log()[log_before:]
            now, most = sessions(count_file)
            assert (now, most) == (1, 1), f"the camera saw {now} sessions now, {most} at most"
        finally:
            for viewer in viewers:
                viewer.stop.set()
            code, _ = daemon.terminate()
    assert code == 0
    for viewer in viewers:
        viewer.join(10)
        assert viewer.bytes > 100_000


def test_the_web_ui_plays_one_camera_at_its_own_size_and_the_time_advances(tmp_path: Path) -> None:
    source = make_source(tmp_path / "camera.mp4", seconds=60)
    camera_port = free_port()
    cfg = camera_config(tmp_path, camera_port, token=None)
    daemon = Daemon(tmp_path, cfg)
    with rtsp_server(camera_port, source):
        daemon.start()
        try:
            daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["live_streaming"], 60, what="the live feed")
            with chromium_browser(tmp_path) as browser:
                page = Page(browser, f"http://127.0.0.1:{daemon.port}/#/camera/demo")
                video = "document.querySelector('video.live-video')"
                page.wait_for(f"{video} && {video}.videoWidth > 0", 20, "the video's first frame")
                size = page.evaluate(f"[{video}.videoWidth, {video}.videoHeight, {video}.hidden]")
                assert size == [1280, 720, False], size  # the camera's own size, not the detect stream's 640x360
                assert page.evaluate("document.querySelector('img.stream').hidden")  # no JPEG fallback
                start = float(page.evaluate(f"{video}.currentTime"))
                page.wait_for(f"{video}.currentTime > {start} + 2", 20, "the time to advance")
                assert daemon.get_json("/api/stats")["demo"]["live_viewers"] == 1
                page.screenshot(tmp_path / "live-video.png")
        finally:
            code, _ = daemon.terminate()
    assert code == 0


def test_a_camera_that_drops_comes_back_as_one_session_and_live_viewers_go_on(tmp_path: Path) -> None:
    source = make_source(tmp_path / "camera.mp4", seconds=90)
    camera_port, count_file = free_port(), tmp_path / "camera-sessions"
    cfg = camera_config(tmp_path, camera_port, token=None)
    daemon = Daemon(tmp_path, cfg)
    viewer = Viewer(f"http://{daemon.host}:{daemon.port}/api/demo/live.mp4")
    with rtsp_server(camera_port, source, count_file):
        daemon.start()
        try:
            daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["live_streaming"], 60, what="the live feed")
            viewer.start()
            daemon.wait_for(lambda: viewer.first_fragment is not None, 10, what="live video")
        except BaseException:
            daemon.terminate()
            raise
    try:
        time.sleep(4)  # down: the restream drops its readers, the capture probes the camera
        received = viewer.bytes
        time.sleep(2)
        assert viewer.bytes == received, "live video while the camera is down?"
        assert viewer.is_alive(), "the viewer's response ended with the camera"
        with rtsp_server(camera_port, source, count_file):
            back = time.monotonic()
            daemon.wait_for(lambda: viewer.bytes > received + 50_000, 20, 0.1, what="live video again")
            print(f"live video again {time.monotonic() - back:.1f} s after the camera came back")
            daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["camera_fps"] > 0, 20, what="frames")
            time.sleep(3)
            now, most = sessions(count_file)
            assert (now, most) == (1, 1), f"after the return the camera saw {now} sessions now, {most} at most"
            assert daemon.get_json("/api/stats")["demo"]["live_viewers"] == 1
    finally:
        viewer.stop.set()
        code, _ = daemon.terminate()
    assert code == 0
    viewer.join(10)


def ffmpeg_inputs(daemon: Daemon) -> list[str]:
    """The ``-i`` URL of every ffmpeg the daemon runs now."""
    assert daemon.proc is not None
    urls = []
    for pid in descendants(daemon.proc.pid):
        args = cmdline(pid).split(b"\0")
        if args and args[0].endswith(b"ffmpeg") and b"-i" in args:
            urls.append(args[args.index(b"-i") + 1].decode())
    return urls


def test_a_camera_that_drops_resumes_detect_and_segments_through_the_restream(tmp_path: Path) -> None:
    """Resume through the restream: while the camera is down no reader runs or restarts; once it is back the
    capture starts the input's ffmpeg (detect and segments) on the restream (never on the camera), frames and
    a new segment come, and the camera sees one session again."""
    source = make_source(tmp_path / "camera.mp4", seconds=60)
    camera_port, count_file = free_port(), tmp_path / "camera-sessions"
    cfg = camera_config(tmp_path, camera_port, token=None)
    camera_url, restream_url = f"rtsp://127.0.0.1:{camera_port}/cam", f"rtsp://127.0.0.1:{cfg['restream']['rtsp_port']}/demo"
    daemon = Daemon(tmp_path, cfg)

    def stats() -> dict[str, Any]:
        return dict(daemon.get_json("/api/stats")["demo"])

    def readers_on_the_restream() -> bool:
        urls = ffmpeg_inputs(daemon)
        return urls.count(restream_url) == 2 and camera_url not in urls  # the input's ffmpeg, the live feed

    with rtsp_server(camera_port, source, count_file):
        daemon.start()
        try:
            daemon.wait_for(lambda: stats()["camera_fps"] > 0 and stats()["restream_clients"] >= 2, 60, what="frames")
            daemon.wait_for(readers_on_the_restream, 10, what="the input's ffmpeg and the live feed on the restream")
        except BaseException:
            daemon.terminate()
            raise
    try:
        daemon.wait_for(lambda: not ffmpeg_inputs(daemon), 10, 0.1, what="the readers to go with the camera")
        down_since, restarts = time.time(), stats()["reconnects_last_hour"]
        time.sleep(4)  # down: the capture probes the camera, no ffmpeg meanwhile
        assert not ffmpeg_inputs(daemon), "an ffmpeg runs while the camera is down"
        assert stats()["reconnects_last_hour"] == restarts, "ffmpegs started while the camera was down"
        stalled = daemon.get("/api/demo/latest.jpg")
        with rtsp_server(camera_port, source, count_file):
            back = time.monotonic()
            daemon.wait_for(lambda: daemon.get("/api/demo/latest.jpg") != stalled, 10, 0.05, what="frames again")
            print(f"frames again {time.monotonic() - back:.2f} s after the camera came back")
            daemon.wait_for(readers_on_the_restream, 10, what="the readers back on the restream")
            clips = tmp_path / "cache" / "demo" / "clips"
            daemon.wait_for(lambda: any(f.stat().st_mtime > down_since for f in clips.glob("*.mp4")), 20,
                            what="a clips segment written after the return")  # fmt: skip
            time.sleep(2)
            assert sessions(count_file) == (1, 1), "the camera saw more than one session after its return"
            assert stats()["camera_fps"] > 0
    finally:
        code, _ = daemon.terminate()
    assert code == 0


def test_an_hevc_camera_the_browser_cannot_play_falls_back_to_the_jpeg_stream(tmp_path: Path) -> None:
    source = tmp_path / "hevc.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=10",
         "-t", "20", "-pix_fmt", "yuv420p", "-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1",
         "-x265-params", "log-level=error:keyint=10", str(source)],
        check=True, timeout=120,
    )  # fmt: skip
    cfg = demo_config(tmp_path, loop=True, fps=5)
    cam = cfg["cameras"]["demo"]
    cam["width"], cam["height"] = 640, 360
    cam["ffmpeg"]["inputs"][0]["path"] = str(source)
    daemon = Daemon(tmp_path, cfg)
    daemon.start()
    try:
        # a file's live feed starts on the first request (restream/live.py): frames first, then ask
        daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["camera_fps"] > 0, 60, what="frames")
        with urllib.request.urlopen(f"http://{daemon.host}:{daemon.port}/api/demo/live.mp4", timeout=10) as response:
            assert response.headers["Content-Type"].startswith('video/mp4; codecs="hvc1.'), response.headers
        with chromium_browser(tmp_path) as browser:
            page = Page(browser, f"http://127.0.0.1:{daemon.port}/#/camera/demo")
            page.wait_for("document.querySelector('img.stream')?.naturalWidth > 0", 30, "the JPEG fallback")
            said = page.evaluate("document.querySelector('.camera-view section p').textContent")
            hevc = page.evaluate("MediaSource.isTypeSupported('video/mp4; codecs=\"hvc1.1.6.L93.B0\"')")
            print(f"this Chromium plays HEVC through MSE: {hevc}; the page says: {said}")
            if hevc:
                pytest.skip("this Chromium decodes HEVC: no fallback to show")
            assert page.evaluate("document.querySelector('video.live-video').hidden")
            assert "cannot play the camera's codec (hvc1." in said and "detect stream instead" in said, said
    finally:
        code, _ = daemon.terminate()
    assert code == 0


def test_a_restream_server_that_dies_is_started_again_and_the_readers_come_back(tmp_path: Path) -> None:
    camera_port, count_file = free_port(), tmp_path / "camera-sessions"
    cfg = camera_config(tmp_path, camera_port, token=None)
    daemon = Daemon(tmp_path, cfg)
    with rtsp_server(camera_port, make_source(tmp_path / "camera.mp4", seconds=60), count_file):
        daemon.start()
        try:
            def all_readers() -> bool:
                stats = daemon.get_json("/api/stats")["demo"]
                return bool(stats["live_streaming"] and stats["camera_fps"] > 0 and stats["restream_clients"] >= 2)

            # every reader on the relay before it dies: the camera process starts after the live feed
            daemon.wait_for(all_readers, 60, what="the live feed and the input's ffmpeg (detect, segments)")
            server = [pid for pid in descendants(daemon.proc.pid) if b"gst_server.py" in cmdline(pid)]  # type: ignore[union-attr]
            assert len(server) == 1
            latest = daemon.get("/api/demo/latest.jpg")
            os.kill(server[0], signal.SIGKILL)
            health = daemon.wait_for(
                lambda: (h := daemon.get_json("/api/stats")["service"]["health"]["restream"])["restarts"] and h, 10,
                what="the restream's health to count a restart",
            )  # fmt: skip
            assert "exited with code -9" in health["last_error"], health
            daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["restream_clients"] >= 2, 20,
                            what="the input's ffmpeg and the live feed back on the new server")  # fmt: skip
            daemon.wait_for(lambda: daemon.get_json("/api/stats")["service"]["health"]["restream"]["ok"], 10,
                            what="the restream's health ok again")  # fmt: skip
            daemon.wait_for(lambda: latest_frame(daemon) not in (None, latest), 20, what="frames again")
            assert sessions(count_file)[1] == 1, "two sessions to the camera at once"
        finally:
            code, _ = daemon.terminate()
    assert code == 0
