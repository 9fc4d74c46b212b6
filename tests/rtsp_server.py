"""A local RTSP server for the tests: GStreamer's RTSP server through the system python3 (python3-gi).

Run as a subprocess, it serves an H.264 .mp4 without re-encoding at ``rtsp://127.0.0.1:<port>/cam``;
kill it to take the camera down, start it again on the same port to bring it back. The stream is
the file's own: the person video has a key frame every 1 s (every 10th frame at 10 fps), as a
typical camera sends them, so a client that joins waits at most 1 s for one.

    /usr/bin/python3 tests/rtsp_server.py <port> <file.mp4> [<count file>]

With a count file, it holds "<streaming clients now> <most at once>" after each DESCRIBE or hang-up:
the camera's own view of how many sessions the daemon opened (an OPTIONS-only probe is not one).
"""

from __future__ import annotations

import sys


def main() -> None:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    port, path = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    # SPS/PPS before every key frame (config-interval=-1), as cameras send them: a client that joins
    # the shared stream late (the daemon's second ffmpeg of an input) can start at the next key frame
    factory.set_launch(
        f'( filesrc location="{path}" ! qtdemux ! h264parse config-interval=-1 '
        "! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    factory.set_shared(True)  # every client sees the same live stream, as from a camera
    server.get_mount_points().add_factory("/cam", factory)
    if len(sys.argv) > 3:
        count_clients(server, sys.argv[3])
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


def count_clients(server: object, path: str) -> None:
    """Counts streaming sessions: a client counts from its first DESCRIBE to its connection's end. A
    connection that only asks OPTIONS (the daemon's probe of a camera that was down) is not a stream."""
    counts = {"now": 0, "most": 0}
    streaming: set[int] = set()

    def write() -> None:
        with open(path + ".tmp", "w") as out:
            out.write(f"{counts['now']} {counts['most']}\n")
        import os

        os.replace(path + ".tmp", path)

    def described(client: object, _context: object) -> None:
        if id(client) in streaming:
            return
        streaming.add(id(client))
        counts["now"] += 1
        counts["most"] = max(counts["most"], counts["now"])
        write()

    def closed(client: object) -> None:
        if id(client) in streaming:
            streaming.discard(id(client))
            counts["now"] -= 1
            write()

    def connected(_server: object, client: object) -> None:
        client.connect("describe-request", described)  # type: ignore[attr-defined]
        client.connect("closed", closed)  # type: ignore[attr-defined]

    server.connect("client-connected", connected)  # type: ignore[attr-defined]
    write()


if __name__ == "__main__":
    main()
