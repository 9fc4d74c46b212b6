"""Shared live-view encoders: one draw + JPEG encode per frame and option set, however many viewers.

A :class:`SharedEncoder` exists per (camera, :class:`ViewOptions`) while someone holds it: every
MJPEG viewer of that option set (and a ``latest.jpg`` request while it runs) holds it through the
:class:`EncoderRegistry`. Encoding is pulled, not pushed: the first viewer that asks after a new
camera frame arrived draws and encodes it under the encoder's lock, the others get those same
bytes. No thread runs for an encoder, so an encoder without viewers costs nothing, and the last
viewer's release drops it at once.

A camera has at most ``max_option_sets`` encoders at once for its streams: an MJPEG viewer asking
for another option set while that many run gets the nearest running one (closest height, then the most overlays in
common), so distinct query strings cannot multiply the encoding work.

Viewers of the same fps wake on the same wall-clock ticks (multiples of ``1/fps``), so they ask
for the same frame and an option set is encoded at most ``max(fps)`` times a second, never once
per viewer. A tick that finds no new frame waits for the next one (up to the following tick) instead of
skipping it: at the camera's own rate the frames come in phase with the ticks, and a frame a moment
late would otherwise be dropped at every tick it misses (64 viewers of a 5 fps camera got ~4.2 fps).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from frigate_like.errors import Unavailable
from frigate_like.events.overlays import ViewOptions
from frigate_like.messages import FrameUpdate

BOUNDARY = "frame"
MAX_OPTION_SETS = 4  # encoders per camera at once: the WebSocket's full view and three more
OVERLAY_FLAGS = ("bbox", "timestamp", "zones", "mask", "motion", "regions")
DISCONNECT_POLL_S = 0.2  # a viewer that went away is noticed within this long, even between frames

FrameWait = Callable[[int, float], int]
"""``wait(seen, timeout)``: waits up to ``timeout`` s while the frame sequence is still ``seen``; returns it."""


@dataclass(frozen=True, slots=True)
class LiveFrame:
    """A camera's latest processed frame: the update that describes it and a private yuv420p copy."""

    update: FrameUpdate
    frame: np.ndarray

    @property
    def frame_time(self) -> float:
        return self.update.frame_time


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    frame_time: float
    jpeg: bytes


class FrameSource(Protocol):
    """One camera's live frames (events/live.py LiveCamera)."""

    name: str

    def latest(self) -> LiveFrame | None: ...

    def render(self, frame: LiveFrame, options: ViewOptions) -> bytes: ...


class SharedEncoder:
    """Draws and encodes one camera's frames with one option set, once per frame."""

    def __init__(self, source: FrameSource, options: ViewOptions) -> None:
        self.source = source
        self.options = options
        self.viewers = 0  # guarded by the registry's lock
        self.encodes = 0
        self._lock = threading.Lock()
        self._last: EncodedFrame | None = None

    def current(self) -> EncodedFrame | None:
        """The camera's latest frame drawn and encoded; None while the camera has given no frame yet."""
        frame = self.source.latest()
        with self._lock:
            # ">": a viewer that read the camera just before another must not put an older frame back
            if frame is not None and (self._last is None or frame.frame_time > self._last.frame_time):
                self._last = EncodedFrame(frame.frame_time, self.source.render(frame, self.options))
                self.encodes += 1
            return self._last


class EncoderRegistry:
    """The live encoders by (camera, options), reference-counted; bounds the number of MJPEG viewers."""

    def __init__(self, max_viewers: int, max_option_sets: int = MAX_OPTION_SETS) -> None:
        self.max_viewers = max_viewers
        self.max_option_sets = max_option_sets
        self._lock = threading.Lock()
        # keyed by the source itself: a restarted camera (same name, new LiveCamera) gets new encoders
        self._encoders: dict[tuple[FrameSource, ViewOptions], SharedEncoder] = {}
        self._streams = 0

    def acquire(self, source: FrameSource, options: ViewOptions, *, stream: bool = False) -> SharedEncoder:
        """The shared encoder of ``(source, options)``, created on first use; pair with :meth:`release`.

        ``stream`` counts an MJPEG viewer against ``max_viewers`` (``Unavailable`` beyond it, so the
        HTTP server keeps threads for the other endpoints).
        """
        with self._lock:
            if stream:
                if self._streams >= self.max_viewers:
                    raise Unavailable(f"too many MJPEG viewers ({self.max_viewers}); try again later")
                self._streams += 1
            key = (source, options)
            if stream and key not in self._encoders:  # a one-off latest.jpg is one encode: asked size
                running = [o for s, o in self._encoders if s is source]
                if len(running) >= self.max_option_sets:
                    key = (source, min(running, key=lambda o: _distance(o, options)))
            encoder = self._encoders.get(key)
            if encoder is None:
                encoder = self._encoders[key] = SharedEncoder(source, key[1])
            encoder.viewers += 1
            return encoder

    def release(self, encoder: SharedEncoder, *, stream: bool = False) -> None:
        key = (encoder.source, encoder.options)
        with self._lock:
            if stream:
                self._streams -= 1
            encoder.viewers -= 1
            if encoder.viewers <= 0 and self._encoders.get(key) is encoder:
                del self._encoders[key]

    def active(self) -> list[SharedEncoder]:
        """The encoders that have holders now (for tests and stats)."""
        with self._lock:
            return list(self._encoders.values())

    @property
    def streams(self) -> int:
        return self._streams


def _distance(running: ViewOptions, wanted: ViewOptions) -> tuple[float, int]:
    """How far a running option set is from the one asked for: height first (None: full size), then overlays."""
    full = 1 << 16
    height = abs((running.height or full) - (wanted.height or full))
    overlays = sum(getattr(running, flag) != getattr(wanted, flag) for flag in OVERLAY_FLAGS)
    return height, overlays


def part(jpeg: bytes) -> bytes:
    """One ``multipart/x-mixed-replace`` part holding a JPEG."""
    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
    return head + jpeg + b"\r\n"


class MjpegStream:
    """The body of one MJPEG response: an iterator of parts that releases its encoder on ``close()``.

    WSGI servers call ``close()`` when the response ends, the client went away or the iterator
    was never started, so the viewer's hold on the encoder always ends with its response.
    """

    def __init__(
        self,
        registry: EncoderRegistry,
        encoder: SharedEncoder,
        fps: float,
        *,
        stop: threading.Event,
        disconnected: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.time,
        frame_wait: FrameWait | None = None,
    ) -> None:
        self._registry = registry
        self._encoder: SharedEncoder | None = encoder
        self._period = 1.0 / fps
        self._frame_wait = frame_wait
        self._stop = stop
        self._disconnected = disconnected
        self._clock = clock
        self._parts = self._generate()

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self._parts)

    def close(self) -> None:
        self._parts.close()
        encoder, self._encoder = self._encoder, None
        if encoder is not None:
            self._registry.release(encoder, stream=True)

    def _generate(self) -> Generator[bytes, None, None]:
        last_time: float | None = None
        first = True
        while self._encoder is not None:
            if not first and not self._wait_for_tick():
                return
            first = False
            encoded = self._encoder.current()
            if encoded is None or encoded.frame_time == last_time:
                encoded = self._wait_for_new_frame(last_time)
                if encoded is None:
                    continue  # none before the next tick: send nothing rather than a duplicate
            last_time = encoded.frame_time
            yield part(encoded.jpeg)

    def _wait_for_new_frame(self, last_time: float | None) -> EncodedFrame | None:
        """The frame this tick missed, as soon as it arrives within the period; None if none came."""
        if self._frame_wait is None or self._encoder is None:
            return None
        deadline = self._clock() + 0.9 * self._period  # leaves the next tick its own frame
        seen = self._frame_wait(-1, 0.0)
        while not self._stop.is_set() and not self._disconnected():
            left = deadline - self._clock()
            if left <= 0:
                return None
            seen = self._frame_wait(seen, min(left, DISCONNECT_POLL_S))
            encoded = self._encoder.current()
            if encoded is not None and encoded.frame_time != last_time:
                return encoded
        return None

    def _wait_for_tick(self) -> bool:
        """Sleeps to the next multiple of the period; False when the stream must end."""
        now = self._clock()
        deadline = (math.floor(now / self._period) + 1) * self._period
        while True:
            if self._stop.is_set() or self._disconnected():
                return False
            left = deadline - self._clock()
            if left <= 0:
                return True
            if self._stop.wait(min(left, DISCONNECT_POLL_S)):
                return False
