"""The RTSP restream server: GStreamer's RTSP server relaying each camera without decoding.

Run by the system ``python3`` (python3-gi and gir1.2-gst-rtsp-server-1.0; the daemon's venv cannot
import ``gi``), as a subprocess the daemon supervises (``restream/server.py``). Standard library and
``gi`` only: this file is run as a script, never imported by the daemon.

    /usr/bin/python3 gst_server.py <address> <port>

- stdin: one JSON command a line, ``{"op": "add", "mount": "/front", "url": "rtsp://..."}`` or
  ``{"op": "remove", "mount": "/front"}``. stdin's end stops the server (the daemon went away).
- stdout: one JSON line ``{"ready": true}`` once listening (or ``{"error": "..."}`` and exit 2 when the
  port cannot be had), then ``{"clients": {mount: sessions}, "bytes": {mount: bytes}}`` every ``REPORT_MS``.
- env ``RESTREAM_USER`` / ``RESTREAM_PASSWORD``: when set, RTSP basic auth is required; ``RESTREAM_READER_USER``
  / ``RESTREAM_READER_PASSWORD``: a second login, the daemon's own readers'.

Each mount is a *shared* media: the first client's DESCRIBE makes GStreamer open the camera once
(``rtspsrc`` over TCP), every later client joins that one session. The RTP payload is taken apart and
put back together (depay → parse → pay: no decoding) so SPS/PPS go before every key frame and a late
joiner starts at the next one. A new media holds its packets for ``HOLD_MS`` after the first, so the
readers that join while the camera connects all get its first key frame (``hold_start``). Its sinks
never wait on the clock: each packet goes out as it comes from the camera (``unsynced``). When the
camera drops, the media errors: its clients are disconnected at once (their ffmpegs exit and the
capture's probe brings them back together), and the next DESCRIBE opens the camera again.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import sys
import threading
from typing import Any

# encoding-name → (depayloader, parser or "", payloader): copied as they come, nothing decoded
CHAINS = {
    "H264": ("rtph264depay", "h264parse config-interval=-1", "rtph264pay config-interval=-1 pt=96"),
    "H265": ("rtph265depay", "h265parse config-interval=-1", "rtph265pay config-interval=-1 pt=96"),
    "MPEG4-GENERIC": ("rtpmp4gdepay", "aacparse", "rtpmp4gpay pt=97"),
    "PCMU": ("rtppcmudepay", "", "rtppcmupay pt=0"),
    "PCMA": ("rtppcmadepay", "", "rtppcmapay pt=8"),
}


REPORT_MS = 500  # the period of the per-mount figures (stats)
TCP_INFO_SIZE, TCPI_BYTES_ACKED = 256, 120  # struct tcp_info: its size to ask for, the offset of tcpi_bytes_acked
HOLD_MS = 150  # a new media's packets wait this long for its readers to join (see hold_start)


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def bytes_acked(fd: int) -> int:
    """What the peer of TCP socket ``fd`` acknowledged so far (Linux TCP_INFO ``tcpi_bytes_acked``); 0 if unknown."""
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_SIZE)
    except OSError:
        return 0
    return struct.unpack_from("Q", info, TCPI_BYTES_ACKED)[0] if len(info) >= TCPI_BYTES_ACKED + 8 else 0


def once(function: Any, *args: Any) -> bool:
    """``function(*args)`` as a GLib idle callback that runs once."""
    function(*args)
    return False


NOT_INSTALLED = 3  # exit code: python3-gi or GStreamer's RTSP server is missing


def main() -> None:  # noqa: C901 - one closure over the GStreamer objects
    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, Gst, GstRtspServer
    except (ImportError, ValueError) as exc:
        emit({"error": f"GStreamer's RTSP server is not installed (gir1.2-gst-rtsp-server-1.0, python3-gi): {exc}"})
        sys.exit(NOT_INSTALLED)

    address, port = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(address)
    server.set_service(port)
    user, password = os.environ.get("RESTREAM_USER"), os.environ.get("RESTREAM_PASSWORD")
    role = None
    if user and password:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        reader, reader_password = os.environ.get("RESTREAM_READER_USER"), os.environ.get("RESTREAM_READER_PASSWORD")
        if reader and reader_password:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(reader, reader_password), token)
        server.set_auth(auth)
        role = Gst.Structure.from_string(
            "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
        )[0]
    medias: dict[Any, str] = {}  # live media → mount
    sent: dict[str, int] = {}  # mount → RTP bytes sent to clients (all sessions)
    clients: dict[str, int] = {}  # mount → sessions at the last count
    delivered: dict[int, int] = {}  # a client connection's socket → bytes it had acknowledged at the last count

    def link_chain(src: Any, pad: Any, dyn: Any) -> None:
        caps = pad.get_current_caps() or pad.query_caps(None)
        encoding = caps.get_structure(0).get_string("encoding-name") or ""
        chain = CHAINS.get(encoding.upper())
        if chain is None:  # a codec we do not relay (metadata, ONVIF...): swallowed
            sink = Gst.ElementFactory.make("fakesink")
            dyn.add(sink)
            sink.sync_state_with_parent()
            pad.link(sink.get_static_pad("sink"))
            return
        text = " ! ".join(part for part in chain if part)
        part = Gst.parse_bin_from_description(text, True)
        dyn.add(part)
        part.sync_state_with_parent()
        pad.link(part.get_static_pad("sink"))
        ghost = Gst.GhostPad.new(f"src_{len(dyn.srcpads)}", part.get_static_pad("src"))
        ghost.set_active(True)
        out = part.get_static_pad("src")
        out.add_probe(Gst.PadProbeType.QUERY_UPSTREAM | Gst.PadProbeType.EVENT_UPSTREAM, live_only)
        dyn.add_pad(ghost)
        hold_start(out)

    def hold_start(out: Any) -> None:
        """Holds a new media's packets, after its first, for ``HOLD_MS``: the readers that ask while the camera
        connects (the daemon starts them together) are all in the session when the camera's first key frame
        goes out, instead of all but the first waiting a group of pictures for the next one. The first packet
        must pass (the media is prepared, and DESCRIBE answered, once a packet reaches the server); it is a
        parameter set (the payloader's config-interval=-1 puts SPS/PPS before a key frame, and the SDP
        carries them too) or a frame nobody can decode before a key frame anyway."""
        probe = {"passed": False, "id": 0}

        def release() -> bool:
            out.remove_probe(probe["id"])
            return False

        def first_passes(_pad: Any, _info: Any) -> Any:
            if probe["passed"]:
                return Gst.PadProbeReturn.OK  # blocked until release()
            probe["passed"] = True
            GLib.timeout_add(HOLD_MS, release)
            return Gst.PadProbeReturn.PASS

        kinds = Gst.PadProbeType.BLOCK | Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST
        probe["id"] = out.add_probe(kinds, first_passes)

    def live_only(_pad: Any, info: Any) -> Any:
        """A relayed camera is live, even when its SDP gives a range (a file served as a camera): never seeked.
        Else a new client's PLAY with ``Range: npt=0-`` seeks the shared media, and every other client's
        timestamps jump back (their recordings get non-monotonous DTS, their detect frames stall)."""
        if info.type & Gst.PadProbeType.QUERY_UPSTREAM:  # "can it seek?" finds no answer: not seekable
            return Gst.PadProbeReturn.DROP if info.get_query().type == Gst.QueryType.SEEKING else Gst.PadProbeReturn.OK
        if info.get_event().type == Gst.EventType.SEEK:
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    def unsynced(_pipeline: Any, element: Any) -> None:
        """Keeps the media's sinks from waiting on the clock: a relay sends each packet as it comes.

        GStreamer's RTSP server makes its RTP sinks sync to the pipeline clock (right for a file it plays,
        wrong for a camera it relays): a relayed camera's timestamps are its own (with B-frames they run ahead
        of arrival: 0.38 s between the person video's first two frames), and a synced sink holds every packet
        behind such a frame until its time comes, so a reader's first frames came in bursts 0.25-0.35 s apart
        (first decoded frame 0.85-1.45 s after ffmpeg started, 0.48-0.84 s unsynced, as reading the camera).
        The server sets ``sync`` after adding the sink, hence the watch on the property."""
        factory = element.get_factory()
        if factory is None or factory.get_name() not in ("appsink", "multiudpsink"):
            return

        def keep_off(sink: Any, _spec: Any) -> None:
            if sink.get_property("sync"):
                sink.set_property("sync", False)

        element.connect("notify::sync", keep_off)
        element.set_property("sync", False)

    class Relay(GstRtspServer.RTSPMediaFactory):
        def __init__(self, mount: str, url: str) -> None:
            super().__init__()
            self.mount, self.url = mount, url
            self.set_shared(True)
            self.set_latency(0)
            if role is not None:
                self.add_role_from_structure(role)

        def do_create_element(self, _url: Any) -> Any:
            top = Gst.Bin.new(None)
            dyn = Gst.Bin.new("dynpay0")  # the server makes a stream of each pad it adds
            dyn.mount = self.mount
            src = Gst.ElementFactory.make("rtspsrc")
            src.set_property("location", self.url)
            src.set_property("protocols", "tcp")
            src.set_property("latency", 0)
            src.set_property("tcp-timeout", 5_000_000)  # µs: a camera that stops talking is dropped
            dyn.add(src)
            src.connect("pad-added", link_chain, dyn)
            src.connect("no-more-pads", lambda _src: dyn.no_more_pads())
            top.add(dyn)
            return top

    mounts = server.get_mount_points()

    def media_configure(_factory: Any, media: Any, mount: str) -> None:
        medias[media] = mount
        pipeline = media.get_element().get_parent()  # the server adds its sinks here when a client plays
        pipeline.connect("element-added", unsynced)
        media.connect("unprepared", lambda m: medias.pop(m, None))
        media.connect("handle-message", media_message, mount)

    def media_message(media: Any, message: Any, mount: str) -> bool:
        if message.type in (Gst.MessageType.ERROR, Gst.MessageType.EOS) and medias.pop(media, None) is not None:
            # the camera dropped (or ended): its clients go now, and the next DESCRIBE opens it again
            sys.stderr.write(f"{mount}: the source ended ({Gst.MessageType.get_name(message.type)})\n")
            GLib.idle_add(once, drop_clients, lambda m: m is media)
        return False

    def each_session_media(visit: Any) -> None:
        """Calls ``visit(client, media)`` for the media of every session of every client."""

        def by_client(_server: Any, client: Any) -> Any:
            def by_session(_client: Any, session: Any) -> Any:
                def by_media(_session: Any, smedia: Any) -> Any:
                    visit(client, smedia.get_media())
                    return GstRtspServer.RTSPFilterResult.KEEP

                session.filter(by_media)
                return GstRtspServer.RTSPFilterResult.KEEP

            client.session_filter(by_session)
            return GstRtspServer.RTSPFilterResult.KEEP

        server.client_filter(by_client)

    def drop_clients(match: Any) -> None:
        """Ends the connection of every client with a session on a media ``match`` accepts: its reader
        exits now instead of waiting for a timeout.

        The socket is shut down, not closed: the client's watch then reads the end of its stream and the
        server takes the client down as when a reader hangs up. ``client.close()`` closed the socket under
        the watch, which at times went on polling it, flooding GLib criticals and busy for seconds."""
        doomed: list[Any] = []
        each_session_media(lambda client, media: doomed.append(client) if match(media) else None)
        for client in doomed:
            connection = client.get_connection()
            if connection is None:
                continue  # already going
            with contextlib.suppress(GLib.Error):  # not connected any more: the watch sees its end anyway
                connection.get_read_socket().shutdown(True, True)

    factories: dict[str, Any] = {}

    def add(mount: str, url: str) -> None:
        remove(mount)
        factory = Relay(mount, url)
        factory.connect("media-configure", media_configure, mount)
        mounts.add_factory(mount, factory)
        factories[mount] = factory

    def remove(mount: str) -> None:
        if factories.pop(mount, None) is not None:
            mounts.remove_factory(mount)
            drop_clients(lambda media: medias.get(media) == mount)
        sent.pop(mount, None)

    def command(line: str) -> None:
        try:
            cmd = json.loads(line)
            if cmd.get("op") == "add":
                add(str(cmd["mount"]), str(cmd["url"]))
            elif cmd.get("op") == "remove":
                remove(str(cmd["mount"]))
        except (ValueError, KeyError, TypeError) as exc:
            sys.stderr.write(f"bad command: {exc}\n")

    def sessions() -> dict[str, int]:
        """Sessions per mount; adds what each client's connection delivered since the last count to ``sent``.

        Bytes are the kernel's count of what each client acknowledged (TCP_INFO), read every ``REPORT_MS``:
        a Python pad probe on every RTP packet cost the relay a quarter of its CPU. A client that reads over
        UDP has no such count and adds nothing."""
        counts = dict.fromkeys(factories, 0)
        seen: dict[int, int] = {}

        def count(client: Any, media: Any) -> None:
            mount = medias.get(media)
            if mount not in counts:
                return
            counts[mount] += 1
            connection = client.get_connection()
            if connection is None:  # closing
                return
            fd = connection.get_write_socket().get_fd()
            if fd in seen:
                return  # a second session of the same connection: its bytes are counted once
            seen[fd] = acked = bytes_acked(fd)
            before = delivered.get(fd, 0)
            sent[mount] = sent.get(mount, 0) + (acked - before if acked >= before else acked)  # else: a new client

        each_session_media(count)
        delivered.clear()
        delivered.update(seen)
        return counts

    def report() -> bool:
        clients.clear()
        clients.update(sessions())
        emit({"clients": clients, "bytes": {m: sent.get(m, 0) for m in factories}})
        return True

    loop = GLib.MainLoop()

    def read_stdin() -> None:
        for line in sys.stdin:
            GLib.idle_add(once, command, line)
        GLib.idle_add(loop.quit)

    if server.attach(None) == 0:
        emit({"error": f"cannot listen on {address}:{port}"})
        sys.exit(2)
    threading.Thread(target=read_stdin, daemon=True).start()
    GLib.timeout_add(REPORT_MS, report)
    emit({"ready": True})
    loop.run()


if __name__ == "__main__":
    main()
