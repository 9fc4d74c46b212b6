"""``/api/<camera>/live.mp4``: the camera's own video, copied (never decoded) into fragmented MP4.

One ffmpeg per camera (:class:`Mp4Feed`, a supervised thread of the main process) reads the camera's
live input (``routes.live_input``) from the restream when it runs, else from the camera, and writes
fMP4 with a fragment per frame to a pipe. The feed cuts it on box boundaries and keeps the init segment
plus every fragment since the last key-frame fragment: a viewer that arrives gets all of it at once and
its player starts at that key frame without waiting for the next one. Every viewer of a camera is served
from that one feed (:class:`LiveMp4Body`, the WSGI body of one response); the feed never waits for a
viewer: one that falls behind by more than a group of pictures jumps to the latest key frame, and one
that stops reading is dropped by the HTTP bridge (``send_timeout``) without touching the others.

A camera on the network keeps its feed running, so the first viewer starts at once at the last key frame
(a camera's next one may be seconds away). A local file (a demo, a test, footage played as a camera) has no
live session to keep and starts at a key frame whenever it is opened: its feed runs *on demand*, from the
first viewer's request until ``LINGER`` s after the last viewer left (a page reload, a switch between the
grid and one camera), and costs nothing while nobody watches (``-re`` makes an idle copying ffmpeg wake
100 times a second: ~0.3 % of a core per camera here, BENCHMARKS.md issue 21).

Audio is left out (``-map 0:v:0``): the player is told only the video codec (``Content-Type``'s
``codecs``). A new ffmpeg run (the camera dropped) sends a new init segment in the same response;
the web UI appends in ``sequence`` mode, so the time line goes on.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import subprocess
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from frigate_like.cameras import Camera
from frigate_like.config import CameraConfig
from frigate_like.errors import NotFound, Unavailable
from frigate_like.restream import fmp4
from frigate_like.restream.routes import live_input
from frigate_like.restream.server import RestreamServer
from frigate_like.video.capture import named_pipe
from frigate_like.video.ffmpeg import opens_once
from frigate_like.video.launch import die_with_parent
from frigate_like.video.probe import network_source

logger = logging.getLogger(__name__)

FIRST_INIT_WAIT = 5.0  # s a request waits for a feed that has no init segment yet
ON_DEMAND_WAIT = 10.0  # s the first viewer of an on-demand feed waits for its ffmpeg to start and send a key frame
LINGER = 30.0  # s an on-demand feed runs on after its last viewer left
VIEWER_POLL = 1.0  # s between checks of a waiting viewer for its client and the daemon's stop
RETRY = 0.5  # s between ffmpeg runs, and between looks at a camera the capture finds down
# s a viewer rests after each write, so the fragments (one a frame) that come meanwhile go out as one write:
# each write is a hand-off through the HTTP bridge, the per-viewer cost; it adds at most this to the delay
GATHER = 0.15
LIVE_MOVFLAGS = "empty_moov+default_base_moof+frag_every_frame"


def live_command(ffmpeg_bin: str, cam: CameraConfig, source: str | None) -> tuple[list[str], str] | None:
    """The feed's ffmpeg argv and the camera's own URL, or None when the camera has no live input
    that may be opened a second time (a device, a pipe)."""
    inp = live_input(cam)
    # a FIFO too: a second reader would take part of the capture's bytes, and both streams would break
    if inp is None or opens_once(inp, named_pipe=named_pipe(inp.path)) or inp.path.startswith("pipe:"):
        return None
    url = source or inp.path
    # RTSP carries exact timestamps: no 20-frame frame-rate estimate before the first fragment (as for detect)
    rtsp = url.lower().startswith("rtsp://")
    analysis = ["-fpsprobesize", "0"] if rtsp and "-fpsprobesize" not in inp.input_args else []
    args = [
        ffmpeg_bin, "-hide_banner", "-loglevel", "error", "-nostdin",
        *inp.input_args, *analysis, "-i", url,
        "-map", "0:v:0", "-c", "copy", "-f", "mp4", "-movflags", LIVE_MOVFLAGS, "-flush_packets", "1", "pipe:1",
    ]  # fmt: skip
    return [a for a in args if a != ""], inp.path


@dataclass
class _Gop:
    """One ffmpeg run's init segment and the fragments since its last key frame (``start`` = the first's number),
    plus the group before (a viewer gathering when a key frame comes goes on without a gap)."""

    init: bytes
    codec: str | None
    fragments: list[bytes] = field(default_factory=list)
    start: int = 0
    previous: list[bytes] = field(default_factory=list)
    previous_start: int = 0


class Mp4Feed:
    """One camera's live fMP4, shared by all its viewers (the feed's thread writes, viewers read)."""

    def __init__(
        self,
        camera: str,
        command: list[str],
        ready: Callable[[], bool | None],
        *,
        on_demand: bool = False,
        linger: float = LINGER,
    ) -> None:
        """``ready()``: False while the camera is known to be down (no ffmpeg is started meanwhile).
        ``on_demand``: ffmpeg runs only while viewers ask, and ``linger`` s after the last one."""
        self.camera, self._command, self._ready = camera, command, ready
        self.on_demand, self._linger = on_demand, linger
        self._asking = 0  # requests waiting in wait_ready
        self._last_demand = -math.inf  # monotonic: the last viewer left, or a request asked
        self.stopped = threading.Event()
        self._cond = threading.Condition()
        self._gop: _Gop | None = None  # None until the first key frame of a run
        self._pending: _Gop | None = None  # a new run's init segment, until its first key frame
        self._generation = 0  # one per ffmpeg run
        self._seq = -1  # number of the newest fragment
        self.viewers = 0
        self.bytes_out = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._preexec = die_with_parent()
        self._down_since: float | None = None

    # -- the feed's thread ------------------------------------------------------------------------
    def run(self) -> None:
        """ffmpeg after ffmpeg until stopped (a supervised body: an exception is logged and it runs again)."""
        while not self.stopped.is_set():
            if not self._wanted():
                with self._cond:  # woken by wait_ready
                    self._cond.wait_for(lambda: self._wanted() or self.stopped.is_set(), VIEWER_POLL)
                continue
            if self._ready() is False:
                if self._down_since is None:
                    self._down_since = time.monotonic()
                    logger.warning("live view of %s: the camera does not answer; probing every %.0f s",
                                   self.camera, RETRY)  # fmt: skip
                self.stopped.wait(RETRY)
                continue
            started = time.monotonic()
            code = self._one_run()
            if self.stopped.is_set():
                return
            if code is None:  # nobody watched this on-demand feed any more: stopped, not failed
                logger.debug("live view of %s: no viewer for %.0f s; its ffmpeg stops", self.camera, self._linger)
                with self._cond:
                    self._gop = self._pending = None  # the next viewer starts at the next run's key frame
                continue
            if time.monotonic() - started > 10 or self._down_since is None:
                logger.info("live view of %s: ffmpeg exited with code %s; starting it again", self.camera, code)
            self._down_since = self._down_since or time.monotonic()
            self.stopped.wait(RETRY)

    def _one_run(self) -> int | None:
        """One ffmpeg run: its exit code, or None when it was stopped because nobody watched (on demand)."""
        proc = subprocess.Popen(
            self._command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            bufsize=0, preexec_fn=self._preexec,
        )  # fmt: skip
        self._proc = proc
        assert proc.stdout is not None and proc.stderr is not None
        errors: list[bytes] = []
        drain = threading.Thread(target=lambda: errors.extend(proc.stderr.readlines()), daemon=True)  # type: ignore[union-attr]
        drain.start()
        reader, pending_ftyp, moof, trex_flags = fmp4.BoxReader(), b"", None, 0
        fd = proc.stdout.fileno()
        idled = False
        try:
            while not self.stopped.is_set():
                if not self._wanted():
                    idled = True
                    break
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                for box in reader.feed(chunk):
                    if box.kind == b"ftyp":
                        pending_ftyp = box.data
                    elif box.kind == b"moov":
                        trex_flags = fmp4.default_sample_flags(box)
                        self._new_run(pending_ftyp + box.data, fmp4.codec_string(box))
                    elif box.kind == b"moof":
                        moof = box
                    elif box.kind == b"mdat" and moof is not None:
                        self._append(moof.data + box.data, fmp4.is_key_fragment(moof, trex_flags))
                        moof = None
        finally:
            if proc.poll() is None:
                proc.terminate()
            try:
                code = proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            drain.join(2)
            proc.stdout.close()
            proc.stderr.close()
            self._proc = None
        if errors and not self.stopped.is_set() and self._down_since is None and not idled:
            logger.warning("live view of %s: %s", self.camera, errors[-1].decode(errors="replace").strip())
        return None if idled else code

    def _new_run(self, init: bytes, codec: str | None) -> None:
        with self._cond:
            self._pending = _Gop(init, codec)  # becomes the GOP at the run's first key frame

    def _append(self, fragment: bytes, key: bool) -> None:
        with self._cond:
            if self._pending is not None:
                if not key:
                    return  # a new run starts at its first key frame
                # viewers get the new run's init segment, then its fragments
                self._gop, self._pending = self._pending, None
                self._generation += 1
                if self._down_since is not None:
                    logger.info("live view of %s: streaming again", self.camera)
                    self._down_since = None
            gop = self._gop
            if gop is None:
                return
            self._seq += 1
            if key:
                gop.previous, gop.previous_start = gop.fragments, gop.start
                gop.fragments, gop.start = [fragment], self._seq
            else:
                gop.fragments.append(fragment)
            self._cond.notify_all()

    def stop(self) -> None:
        self.stopped.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
        with self._cond:
            self._cond.notify_all()

    # -- viewers ----------------------------------------------------------------------------------
    @property
    def streaming(self) -> bool:
        return self._gop is not None and self._proc is not None

    def _wanted(self) -> bool:
        """ffmpeg should run: always, unless on demand with no viewer, no request and the linger over."""
        return (
            not self.on_demand
            or self.viewers > 0
            or self._asking > 0
            or time.monotonic() - self._last_demand < self._linger
        )

    @property
    def start_wait(self) -> float:
        """s a request waits for the first key frame: an on-demand feed may have to start its ffmpeg first."""
        return ON_DEMAND_WAIT if self.on_demand else FIRST_INIT_WAIT

    def count_viewer(self, delta: int) -> None:
        with self._cond:
            self.viewers += delta
            if self.viewers == 0:
                self._last_demand = time.monotonic()

    def wait_ready(self, timeout: float) -> str | None:
        """Waits for the first key frame; the codec string (``""`` if unknown). Unavailable when none came.
        An on-demand feed that is not running starts now."""
        with self._cond:
            self._asking += 1
            self._cond.notify_all()
            try:
                came = self._cond.wait_for(lambda: self._gop is not None or self.stopped.is_set(), timeout)
            finally:
                self._asking -= 1
                self._last_demand = time.monotonic()  # the viewer that follows is counted within the linger
            if not came:
                raise Unavailable(f"the live stream of {self.camera} has not started (is the camera up?)")
            if self._gop is None:
                raise Unavailable(f"the live stream of {self.camera} has stopped")
            return self._gop.codec or ""

    def chunks(self, stop: threading.Event, disconnected: Callable[[], bool]) -> Generator[bytes, None, None]:
        """What one viewer is sent: init + the GOP so far at once, then what came since its last write,
        at most one write each ``GATHER`` s."""
        generation, next_seq = -1, 0
        while not (stop.is_set() or self.stopped.is_set() or disconnected()):
            if generation != -1:
                stop.wait(GATHER)
            with self._cond:
                if self._generation == generation and self._seq < next_seq and not self.stopped.is_set():
                    self._cond.wait(VIEWER_POLL)  # woken by each new fragment
                gop = self._gop
                if gop is None or (self._generation == generation and self._seq < next_seq):
                    continue
                if self._generation != generation:
                    parts = [gop.init, *gop.fragments]
                elif next_seq < gop.start and gop.previous and next_seq >= gop.previous_start:
                    parts = [*gop.previous[next_seq - gop.previous_start :], *gop.fragments]
                elif next_seq < gop.start:  # fell behind by more than a GOP: on from the latest key frame
                    parts = list(gop.fragments)
                else:
                    parts = gop.fragments[next_seq - gop.start :]
                generation, next_seq = self._generation, self._seq + 1
            data = b"".join(parts)
            self.bytes_out += len(data)
            yield data


class LiveMp4Body:
    """The WSGI body of one ``live.mp4`` response; ``close()`` (the server's, at any end) counts the viewer out."""

    def __init__(self, feed: Mp4Feed, stop: threading.Event, disconnected: Callable[[], bool]) -> None:
        self._feed = feed
        self._chunks = feed.chunks(stop, disconnected)
        feed.count_viewer(1)
        self._open = True

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        self._chunks.close()
        if self._open:
            self._open = False
            self._feed.count_viewer(-1)


class LiveStreams:
    """Every camera's :class:`Mp4Feed` (a ``CameraSubscriber``); ``open`` serves one viewer."""

    def __init__(
        self,
        ffmpeg_bin: str,
        spawn: Callable[[str, Callable[[], object], threading.Event], object],
        restream: RestreamServer | None,
        camera_answers: Callable[[str], bool | None],
    ) -> None:
        """``camera_answers(camera)``: False while the capture finds the camera down (its probes say so)."""
        self._ffmpeg_bin, self._spawn, self._restream, self._answers = ffmpeg_bin, spawn, restream, camera_answers
        self._feeds: dict[str, Mp4Feed] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def camera_added(self, camera: Camera) -> None:
        cam = camera.config
        inp = live_input(cam)
        restream = self._restream
        source = restream.routes(cam).get(inp.path) if inp is not None and restream is not None else None
        built = live_command(self._ffmpeg_bin, cam, source)
        if built is None:
            return
        command, _camera_url = built
        # The capture probes a camera that is down and its ffmpegs are back first: the feed follows the
        # capture's health rather than probing the camera a second time.
        on_demand = inp is not None and not network_source(inp.path)  # a file: see the module's docstring
        feed = Mp4Feed(cam.name, command, functools.partial(self._answers, cam.name), on_demand=on_demand)
        with self._lock:
            self._feeds[cam.name] = feed
        self._spawn(f"live-{cam.name}", feed.run, feed.stopped)

    def camera_updated(self, old: Camera, new: Camera) -> None:
        self.camera_removed(old)
        self.camera_added(new)

    def camera_paused(self, camera: Camera) -> None:
        pass  # live video goes on while detection is paused, as the camera's own recording does

    def camera_resumed(self, camera: Camera) -> None:
        pass

    def camera_removed(self, camera: Camera) -> None:
        with self._lock:
            feed = self._feeds.pop(camera.name, None)
        if feed is not None:
            feed.stop()

    def open(self, camera: str, disconnected: Callable[[], bool]) -> tuple[str, LiveMp4Body]:
        """``(content type, body)`` of one viewer; NotFound / Unavailable (404 / 503)."""
        with self._lock:
            feed = self._feeds.get(camera)
        if feed is None:
            raise NotFound(f"no live video for camera {camera}")
        codec = feed.wait_ready(feed.start_wait)
        content_type = f'video/mp4; codecs="{codec}"' if codec else "video/mp4"
        return content_type, LiveMp4Body(feed, self._stop, disconnected)

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per camera: ``live_streaming`` (its feed holds a key frame: a viewer starts at once),
        ``live_viewers`` and ``live_bytes_out`` (bytes sent to them)."""
        with self._lock:
            feeds = dict(self._feeds)
        return {
            name: {"live_streaming": feed.streaming, "live_viewers": feed.viewers, "live_bytes_out": feed.bytes_out}
            for name, feed in feeds.items()
        }

    def close(self) -> None:
        """Ends every viewer's response and every feed (the daemon stops)."""
        self._stop.set()
        with self._lock:
            feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            feed.stop()
