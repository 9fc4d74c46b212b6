"""The RTMP server's state as the daemon reads it: a real nginx with libnginx-mod-rtmp and real ffmpeg."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from frigate_like.video.rtmp import RtmpStatus, published_streams, server_listening, stream_key
from tests.nginx_support import rtmp_conf, running_nginx
from tests.ports import free_port


def test_stream_key() -> None:
    assert stream_key("rtmp://127.0.0.1:1935/live/back") == ("live", "back")
    assert stream_key("rtmp://host/app/inner/front") == ("app/inner", "front")


def test_status_follows_the_stat_page_of_a_real_nginx(tmp_path: Path, shared_dir: Path) -> None:
    rtmp_port, stat_port = free_port(), free_port()
    url = f"rtmp://127.0.0.1:{rtmp_port}/live/back"
    assert not server_listening(url)
    status = RtmpStatus(f"http://127.0.0.1:{stat_port}/stat", clock=lambda: time.monotonic() * 1000)  # no caching
    assert not status.is_published(url)  # no server: nothing is live
    with running_nginx(tmp_path / "nginx", rtmp_conf(rtmp_port, stat_port), [rtmp_port, stat_port]):
        assert server_listening(url)
        assert not status.is_published(url)
        publisher = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
             "-i", str(shared_dir / "media" / "car-detection.mp4"), "-c", "copy", "-f", "flv", url],
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while not status.is_published(url) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert status.is_published(url)
            assert not status.is_published(f"rtmp://127.0.0.1:{rtmp_port}/live/front")
        finally:
            publisher.terminate()
            publisher.wait(10)
        deadline = time.monotonic() + 20
        while status.is_published(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not status.is_published(url)
    assert not status.is_published(url)


def test_published_streams_needs_a_publisher() -> None:
    page = b"""<rtmp><server><application><name>live</name><live>
      <stream><name>back</name><nclients>1</nclients><publishing/><active/></stream>
      <stream><name>front</name><nclients>1</nclients></stream>
    </live></application></server></rtmp>"""
    assert published_streams(page) == {("live", "back")}


def test_stat_page_is_reused_for_two_seconds() -> None:
    now = [0.0]
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return (
            b"<rtmp><server><application><name>live</name><live><stream><name>a</name><publishing/></stream>"
            b"</live></application></server></rtmp>"
        )

    status = RtmpStatus("http://stat", fetch=fetch, clock=lambda: now[0])
    assert status.is_published("rtmp://h/live/a") and status.is_published("rtmp://h/live/a")
    assert len(fetched) == 1
    now[0] = 2.5
    assert not status.is_published("rtmp://h/live/b") and len(fetched) == 2
    assert not RtmpStatus(None, fetch=fetch).is_published("rtmp://h/live/a")  # no stat page: nothing offered
