"""The live WebSocket: one JPEG per new frame shared by every client, latest-frame-wins per client, logs and state.

Threads and the event loop:

- The ``ws-frames`` thread sleeps until the tracking thread reports a processed frame
  (``FrameSource.wait_for_frame``), takes the newest frame of each camera some client wants,
  already encoded by the live view's shared encoder (the one MJPEG viewers and ``latest.jpg``
  of the default options use: one encode for all), and keeps the packed message as that
  camera's latest. It never waits for a client; with no client it holds no encoder.
- Everything about clients lives on uvicorn's event loop; other threads hand work to it
  with ``call_soon_threadsafe`` (``publish_log``, ``publish_state``, new frames).
- Each client has a sender task: it sends its queued text messages, then the *latest*
  frame of each camera that changed since it last sent one (honouring the client's
  ``max_fps``). A slow client simply skips the frames that were replaced meanwhile; a
  client that stops reading blocks only its own task.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from frigate_like.supervise import Supervisor
from frigate_like.websocket.frames import FrameSource
from frigate_like.websocket.protocol import (
    FrameHeader,
    Subscription,
    error_message,
    pack_frame,
    parse_request,
    state_message,
    to_text,
)

logger = logging.getLogger(__name__)

ENCODER_THREAD = "ws-frames"
WAIT_S = 0.5  # longest sleep between frames: a new subscription is served within this
TEXT_BACKLOG = 1000  # text messages kept per client; a client further behind loses the oldest
_ALWAYS = logging.CRITICAL + 100  # the level of messages every client gets (state, errors)


@dataclass(eq=False)
class _Client:
    websocket: WebSocket
    wake: asyncio.Event
    subscription: Subscription = field(default_factory=Subscription)
    texts: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=TEXT_BACKLOG))
    dirty: set[str] = field(default_factory=set)  # cameras with a frame newer than the last one sent
    sent_time: dict[str, float] = field(default_factory=dict)  # capture time of the last frame sent
    sent_at: dict[str, float] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None
    closed: bool = False


class LiveHub:
    """``start()`` the encoder thread, ``attach(loop)`` from the server, serve ``endpoint``; ``stop()``."""

    def __init__(self, frames: FrameSource, state: Callable[[], dict[str, Any]]) -> None:
        self._frames, self._state = frames, state
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: set[_Client] = set()  # event loop only
        self._latest: dict[str, tuple[float, bytes]] = {}  # camera → (capture time, packed message)
        self._wanted: frozenset[str] | None = frozenset()  # cameras some client wants; None = all
        self._clients_changed = threading.Event()  # wakes the idle encoder thread
        self._state_text = to_text(state_message({}))
        self.encoded: collections.Counter[str] = collections.Counter()  # frames packed per camera
        self._stop = threading.Event()
        self._supervisor: Supervisor | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, supervisor: Supervisor | None = None) -> None:
        """Starts the encoder thread, restarted if it fails: under the daemon's ``supervisor`` (its
        health then shows in ``/api/stats``), else under one of its own."""
        self._supervisor = supervisor or Supervisor(self._stop)
        self._supervisor.spawn(ENCODER_THREAD, self._encode_frames, until=self._stop)

    def stop(self) -> None:
        """Stops the encoder thread (before the daemon's other threads: frames stop first)."""
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join(5.0, names=[ENCODER_THREAD])

    def attach(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """The server's event loop once it runs; None when it stops."""
        self._loop = loop
        if loop is None:
            self._clients.clear()
            self._wanted = frozenset()

    # -- producers (any thread) -----------------------------------------------------------------
    def publish_log(self, message: dict[str, Any], level: int) -> None:
        self._call(self._broadcast_text, to_text(message), level)

    def publish_state(self) -> None:
        """Sends the daemon's state (groups, cameras, recording, paused) to every client."""
        try:
            self._state_text = to_text(state_message(self._state()))
        except Exception:
            logger.exception("cannot build the state message")
            return
        self._call(self._broadcast_text, self._state_text, _ALWAYS)

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(callback, *args)

    # -- the encoder thread -----------------------------------------------------------------------
    def _encode_frames(self) -> None:
        seen: dict[str, float] = {}
        sequence = 0
        while not self._stop.is_set():
            wanted = self._wanted
            if wanted is not None and not wanted:
                # No client wants frames: hold no encoder, sleep until one subscribes (or ≤ 1 s).
                self._frames.watch(())
                self._clients_changed.wait(1.0)
                self._clients_changed.clear()
                continue
            try:
                names = set(self._frames.camera_names())
                cameras = sorted(names if wanted is None else names & wanted)
                self._frames.watch(cameras)
                for gone in set(self._latest) - names:
                    del self._latest[gone]
                for camera in cameras:
                    self._pack_one(camera, seen)
            except Exception:
                logger.exception("live frame encoding failed")
            sequence = self._frames.wait_for_frame(sequence, WAIT_S)
        self._frames.watch(())

    def _pack_one(self, camera: str, seen: dict[str, float]) -> None:
        latest = self._frames.latest_frame(camera, seen.get(camera, 0.0))
        if latest is None:
            return
        seen[camera] = latest.capture_time
        header = FrameHeader(camera, latest.frame_number, latest.capture_time, latest.width, latest.height)
        self._latest[camera] = (latest.capture_time, pack_frame(header, latest.jpeg))
        self.encoded[camera] += 1
        self._call(self._frame_ready, camera)

    # -- the event loop ---------------------------------------------------------------------------
    def _frame_ready(self, camera: str) -> None:
        for client in self._clients:
            if client.subscription.wants(camera):
                client.dirty.add(camera)
                client.wake.set()

    def _broadcast_text(self, text: str, level: int) -> None:
        for client in self._clients:
            if level >= client.subscription.log_level:
                client.texts.append(text)
                client.wake.set()

    def _update_wanted(self) -> None:
        subscriptions = [c.subscription for c in self._clients]
        if any(s.cameras is None for s in subscriptions):
            self._wanted = None
        else:
            self._wanted = frozenset().union(*(s.cameras or () for s in subscriptions))
        self._clients_changed.set()

    async def endpoint(self, websocket: WebSocket) -> None:
        """The Starlette WebSocket endpoint."""
        await websocket.accept()
        client = _Client(websocket, asyncio.Event())
        client.texts.append(self._state_text)
        client.wake.set()
        self._clients.add(client)
        self._update_wanted()
        reader = asyncio.get_running_loop().create_task(self._read(client))
        try:
            await self._send(client)
        except (WebSocketDisconnect, OSError, RuntimeError):
            pass  # gone; RuntimeError: starlette's "send after close"
        finally:
            client.closed = True
            reader.cancel()
            if client.timer is not None:
                client.timer.cancel()
            self._clients.discard(client)
            self._update_wanted()

    async def _read(self, client: _Client) -> None:
        try:
            while True:
                message = await client.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    client.texts.append(to_text(error_message("send requests as JSON text messages")))
                    client.wake.set()
                    continue
                try:
                    client.subscription = parse_request(text, client.subscription)
                except ValueError as exc:
                    client.texts.append(to_text(error_message(str(exc))))
                else:
                    client.dirty.update(c for c in list(self._latest) if client.subscription.wants(c))
                    self._update_wanted()
                client.wake.set()
        except (WebSocketDisconnect, OSError, RuntimeError):
            pass
        client.closed = True
        client.wake.set()

    async def _send(self, client: _Client) -> None:
        websocket = client.websocket
        while True:
            await client.wake.wait()
            client.wake.clear()
            if client.closed:
                return
            while client.texts:
                await websocket.send_text(client.texts.popleft())
            soonest: float | None = None
            for camera in sorted(client.dirty):
                latest = self._latest.get(camera)
                if latest is None or not client.subscription.wants(camera):
                    client.dirty.discard(camera)
                    continue
                due = client.sent_at.get(camera, float("-inf")) + client.subscription.min_interval
                now = time.monotonic()
                if now < due:
                    soonest = due if soonest is None else min(soonest, due)
                    continue
                client.dirty.discard(camera)
                capture_time, data = latest
                if client.sent_time.get(camera) == capture_time:
                    continue
                await websocket.send_bytes(data)
                client.sent_time[camera], client.sent_at[camera] = capture_time, time.monotonic()
            if soonest is not None:
                self._wake_at(client, soonest)

    def _wake_at(self, client: _Client, when: float) -> None:
        if client.timer is not None:
            client.timer.cancel()
        loop = asyncio.get_running_loop()
        client.timer = loop.call_later(max(0.0, when - time.monotonic()), client.wake.set)
