"""probe_source against real sockets on loopback: RTSP servers that answer, refuse, stay silent or hang up."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from frigate_like.video.probe import options_request, probe_source, source_address


class Listener:
    """A TCP server on a free loopback port that treats each connection with ``reply``:
    bytes to send after the request, b"" to hang up at once, None to stay silent."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with conn:
                if self.reply == b"":
                    continue
                conn.settimeout(2.0)
                try:
                    request = conn.recv(4096)
                    if not request:
                        continue  # the client connected only
                    self.requests.append(request)
                    if self.reply is not None:
                        conn.sendall(self.reply)
                    else:
                        time.sleep(1.0)  # longer than the probe waits
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not on Linux)
        self.sock.close()
        self._thread.join(5)


@pytest.fixture
def listen() -> Iterator[type[Listener]]:
    made: list[Listener] = []

    class Made(Listener):
        def __init__(self, reply: bytes | None) -> None:
            super().__init__(reply)
            made.append(self)

    yield Made
    for listener in made:
        listener.close()


def closed_port() -> int:
    with socket.socket() as sock:  # bound, never listening, closed: connection refused
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_rtsp_server_answers_options_even_when_it_asks_for_credentials(listen: type[Listener]) -> None:
    ok = listen(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY\r\n\r\n")
    assert probe_source(f"rtsp://viewer:secret@127.0.0.1:{ok.port}/cam?channel=1") is True
    [request] = ok.requests
    assert request.startswith(f"OPTIONS rtsp://127.0.0.1:{ok.port}/cam?channel=1 RTSP/1.0\r\n".encode())
    assert b"CSeq: 1\r\n" in request and request.endswith(b"\r\n\r\n")
    assert b"secret" not in request and b"viewer" not in request  # never sent in clear by the probe
    locked = listen(b'RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Basic realm="cam"\r\n\r\n')
    assert probe_source(f"rtsp://127.0.0.1:{locked.port}/cam") is True


def test_a_source_that_refuses_hangs_up_or_does_not_speak_rtsp_does_not_answer(listen: type[Listener]) -> None:
    assert probe_source(f"rtsp://127.0.0.1:{closed_port()}/cam") is False
    assert probe_source(f"rtsp://127.0.0.1:{listen(b'').port}/cam") is False  # accepts, then closes (booting)
    http = listen(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    assert probe_source(f"rtsp://127.0.0.1:{http.port}/cam") is False


def test_a_silent_source_is_given_up_after_the_timeout(listen: type[Listener]) -> None:
    silent = listen(None)
    started = time.monotonic()
    assert probe_source(f"rtsp://127.0.0.1:{silent.port}/cam", timeout=0.3) is False
    assert 0.25 <= time.monotonic() - started < 1.0
    assert silent.requests and silent.requests[0].startswith(b"OPTIONS ")


def test_other_tcp_sources_are_probed_by_connecting_and_udp_ones_not_at_all(listen: type[Listener]) -> None:
    mute = listen(None)  # nothing is sent to an http/rtmp source: the connect is the answer
    assert probe_source(f"http://127.0.0.1:{mute.port}/video.mjpg") is True
    assert probe_source(f"rtmp://127.0.0.1:{mute.port}/live/cam") is True
    assert probe_source(f"http://127.0.0.1:{closed_port()}/video.mjpg") is False
    for url in ("udp://239.0.0.1:1234", "rtp://127.0.0.1:5004", "srt://127.0.0.1:9000", "/media/a.mp4"):
        assert probe_source(url) is None


def test_source_address_defaults_and_options_request() -> None:
    assert source_address("rtsp://user:pw@cam.local/live") == ("cam.local", 554)
    assert source_address("rtsp://[fd00::10]:8554/live") == ("fd00::10", 8554)
    assert source_address("RTSPS://10.0.0.2/live") == ("10.0.0.2", 322)
    assert source_address("https://10.0.0.2/snap.mjpg") == ("10.0.0.2", 443)
    assert source_address("rtsp://10.0.0.2:notaport/live") is None
    assert source_address("rtsp:///live") is None
    assert source_address("rtsp://[fd00::10/live") is None
    assert probe_source("rtsp://bad..name/live") is False  # the name cannot even be encoded
    assert options_request("rtsp://a:b@[fd00::10]:8554/live") == (
        b"OPTIONS rtsp://[fd00::10]:8554/live RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: frigate-like\r\n\r\n"
    )
