"""The production HTTP server for the API: waitress, sized so MJPEG viewers never starve the other endpoints.

waitress runs each request's WSGI iterator on one of its worker threads, so an MJPEG viewer holds
a thread for as long as it watches. The live view admits at most ``max_streams`` viewers (the
next one gets 503), and the server has ``api_threads`` more threads than that, so /api/stats,
/api/events and the pictures always find a free thread. waitress writes on its own event loop,
and a viewer's thread sleeps between frames, so idle viewer threads cost memory, not CPU.
"""

from __future__ import annotations

from typing import Any

API_THREADS = 16  # threads left for the other endpoints when every MJPEG slot is taken


def create_http_server(app: Any, host: str, port: int, *, max_streams: int, api_threads: int = API_THREADS) -> Any:
    """A waitress server for ``app`` (call ``run()`` on a thread, ``close()`` to stop listening)."""
    from waitress import create_server

    threads = max_streams + api_threads
    return create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        connection_limit=4 * threads,  # idle keep-alive sockets cost a file descriptor, not a thread
        # > 0 keeps a busy channel readable, so a viewer that hangs up is seen at once
        # (environ["waitress.client_disconnected"]) rather than at the next failed write
        channel_request_lookahead=1,
        # a viewer that stops reading blocks its own thread after ~2 MB (some 50 frames at h=360)
        # instead of each one buffering waitress's default 16 MB
        outbuf_high_watermark=2 << 20,
        ident="frigate-like",
    )
