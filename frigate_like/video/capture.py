"""Runs one camera's ffmpeg processes: detect frames into the ring, segments to the cache, restarts.

Threads of the camera process, no processes of our own:

- ``watchdog`` starts every input's ffmpeg, restarts one that exits or (detect input) delivers
  no frame for ``no_frame_timeout`` s, with exponential backoff (1 s, 2 s, ... 30 s; back to
  1 s after a healthy minute), keeps the rates in :class:`CaptureMetrics`, and at the end
  stops every ffmpeg (SIGTERM so segments are finished cleanly, SIGKILL after the timeout).
  A network source whose ffmpeg exits and that then does not answer (``probe.probe_source``: a
  TCP connect and an RTSP OPTIONS, no ffmpeg) is probed every ``NETWORK_PROBE`` s and its
  ffmpeg started in the tick the probe succeeds, so frames resume about a second after its
  return; one line per outage says it is down. One that answers but whose ffmpeg fails anyway
  (or that cannot be probed) is retried every ``NETWORK_RETRY`` s, not exponentially.
  An input's roles share one ffmpeg (``ffmpeg.process_roles``): the input is read and demuxed
  once. When one of its outputs fails (a full disk under the segments, the RTMP server gone:
  ffmpeg then ends every output) the input is *split* for the rest of this capture: detection
  goes on at once in an ffmpeg of its own, the copying roles in another, logged once. A segment
  ffmpeg that hit a full disk is retried every ``DISK_FULL_RETRY`` s, with one "disk full at
  <path>" line and ``storage_full`` set until it writes again, while frames keep flowing.
  A named pipe (``mkfifo``) is read by one ffmpeg for all its roles (two readers would split
  its bytes). Its ffmpeg waits for the writer in open() and read(), and frames resume the
  moment the writer goes on, so it is not restarted for "no frame" while the pipe is empty
  (a restart would only leave the pipe without a reader, and a writer that goes on then dies
  of EPIPE); one line says the camera waits for its writer. When the writer closes the pipe
  ffmpeg ends, and the next one is started within ``NETWORK_RETRY`` s to wait for the next
  writer. ``stalled`` in the metrics: no frame for ``STALLED_AFTER`` s, whatever the source.
- ``frames`` (per detect ffmpeg run) reads exactly one frame at a time from ffmpeg's stdout
  straight into the next ring slot, stamps it and offers ``(slot, time)`` to the bounded
  ``frames`` queue. A full queue drops the frame (counted) and the slot is reused, so a
  queued slot, or the one the consumer took last, is never overwritten: the ring needs at
  least ``frames.maxsize + 2`` slots.
- ``stderr`` (per ffmpeg run) logs ffmpeg's lines under ``ffmpeg.<camera>.<roles>``.

Pause (``paused`` set): every ffmpeg keeps running, so a device stays open and a stream
stays connected, and the reader drops each frame it reads (not stamped, not counted, the
slot is written again); camera_fps reads 0 at once. Resuming is instant, with no burst of
old frames; the price is the decoding ffmpeg keeps doing while paused. (SIGSTOP would save
that, but a stopped ffmpeg drops its RTSP session and a ``-re`` file catches up in a rush.)

One session per camera (``routes``, from ``restream/``): an input whose path has a route is read by its
ffmpegs from the local RTSP restream instead of the camera; its probes still ask the camera itself, so
every reader of a camera that dropped starts in the tick the camera answers again.

Every ffmpeg is started by the watchdog thread, which outlives them all: that is what binds
each ffmpeg to the camera process's life (``launch.die_with_parent``).

Health (``service.health``, one ``ffmpeg:<camera>:<roles>`` entry per ffmpeg, e.g. ``detect+clips``, and
after a split ``detect`` and ``clips``, :class:`InputHealth`):
not ok from the moment its ffmpeg exits, its source is down, its pipe has no writer, its disk is
full or it delivers no frame, with the reason (and ffmpeg's last line); ok again when it delivers:
a frame read (detect), a segment file of the new run written (clips/record), or a run of
``OK_AFTER`` s (an rtmp-only ffmpeg).

Restart bound of a killed ffmpeg: its stderr's end wakes the watchdog at once (no ``TICK`` wait),
and the first failure after a run that delivered restarts it in the same pass (no backoff); the
footage lost is then ffmpeg's start (exec, opening and probing the input: ~0.3-0.6 s here) plus,
for ``-c copy`` segments, the wait for the source's next key frame. A second failure in a row
goes by the backoff as before, so a crash loop never spins.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
import multiprocessing as mp
import os
import queue
import select
import stat
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from frigate_like.config import CameraConfig, CameraInput
from frigate_like.redact import redact_text
from frigate_like.storage import DISK_FULL_TEXT
from frigate_like.video.ffmpeg import (
    SEGMENT_ROLES,
    build_command,
    ignored_roles,
    output_failure,
    process_roles,
    segment_dir,
)
from frigate_like.video.frames import FrameRing
from frigate_like.video.launch import die_with_parent, log_stderr, start_ffmpeg
from frigate_like.video.probe import network_source, probe_source
from frigate_like.video.rtmp import server_listening

NO_FRAME_TIMEOUT = 20.0  # s without a detect frame before its ffmpeg is restarted
BACKOFF_START, BACKOFF_MAX = 1.0, 30.0
HEALTHY_AFTER = 60.0  # s an ffmpeg must run before its next failure starts the backoff afresh
TERM_TIMEOUT = 5.0  # s a stalled ffmpeg gets to exit after SIGTERM before SIGKILL
TICK = 0.5  # s between watchdog checks (every wait is ≤ 1 s so stop is noticed)
RATE_TAU = 3.0  # s, time constant of the fps moving averages
RESTART_HISTORY = 256  # restart times kept for "reconnects in the last hour" (≥ 3600 / 30 s)
NETWORK_PROBE = 1.0  # s between probes of a network source that does not answer (no ffmpeg meanwhile)
NETWORK_RETRY = 2.0  # s between ffmpeg starts of a network source that answers but fails (not exponential)
DISK_FULL_RETRY = 10.0  # s between attempts of a segment ffmpeg that hit a full disk
RECOVERED_AFTER = 10.0  # s a failing ffmpeg must run before it counts as working again
STALLED_AFTER = 5.0  # s without a frame (and at least 3 frame intervals) before the metrics say stalled
OK_AFTER = 2.0  # s an ffmpeg with neither frames nor segments (rtmp only) must run to count as ok again
INPUT_SLOTS = 8  # ffmpegs per camera whose health is kept (inputs, each split in two at most)
SOURCE_DOWN = "the source does not answer"  # how a health entry starts while its network source is probed
_HEALTH_BYTES = 768  # one ffmpeg's health entry, JSON, in shared memory
_ERROR_CHARS = 300  # an error text is cut to this


def named_pipe(path: str) -> bool:
    """``path`` is a FIFO on this machine (``mkfifo``)."""
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def pipe_backlog(path: str) -> int | None:
    """Bytes waiting in the named pipe ``path`` (read by nobody), or None when it cannot be asked.

    Opening a FIFO for reading with O_NONBLOCK never waits, and asking FIONREAD reads nothing.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        count = bytearray(4)
        fcntl.ioctl(fd, termios.FIONREAD, count)
        return int.from_bytes(count, sys.byteorder)
    except OSError:
        return None
    finally:
        os.close(fd)


class InputHealth:
    """The health of each ffmpeg of one camera: written by the capture's watchdog thread (one writer,
    in the camera process), read by the main process for ``service.health``.

    Each slot holds one JSON entry guarded by a sequence number (odd while being written; a reader
    retries a torn read). It outlives a camera process (it lives in the parts the main process keeps),
    so a new capture carries the restarts and last error on.
    """

    def __init__(self, ctx: Any = None, slots: int = INPUT_SLOTS) -> None:
        ctx = ctx if ctx is not None else mp.get_context()
        self.slots = slots
        self._seq = ctx.Array("Q", slots, lock=False)
        self._data = ctx.Array("c", slots * _HEALTH_BYTES, lock=False)
        self._used = ctx.Value("i", 0, lock=False)

    def write(self, slot: int, entry: dict[str, Any]) -> None:
        if slot >= self.slots:
            return
        data = json.dumps(entry).encode()
        if len(data) >= _HEALTH_BYTES:  # cut the texts, never the JSON
            entry = {**entry, "error": _cut(entry.get("error"), 80), "last_error": _cut(entry.get("last_error"), 80)}
            data = json.dumps(entry).encode()[: _HEALTH_BYTES - 1]
        base = slot * _HEALTH_BYTES
        self._seq[slot] += 1
        self._data[base : base + _HEALTH_BYTES] = data.ljust(_HEALTH_BYTES, b"\0")
        self._seq[slot] += 1
        self._used.value = max(int(self._used.value), slot + 1)

    def read(self, slot: int) -> dict[str, Any] | None:
        base = slot * _HEALTH_BYTES
        for _ in range(100):
            before = self._seq[slot]
            raw = self._data[base : base + _HEALTH_BYTES]
            if before % 2 == 0 and self._seq[slot] == before:
                text = bytes(raw).rstrip(b"\0")
                try:
                    return dict(json.loads(text)) if text else None
                except ValueError:
                    return None
            time.sleep(0.0005)
        return None

    def entries(self) -> list[dict[str, Any]]:
        return [e for e in (self.read(i) for i in range(min(int(self._used.value), self.slots))) if e]

    def source_down(self) -> bool:
        """Some ffmpeg of the camera found its network source down and is probing it (no ffmpeg runs)."""
        return any(not e.get("ok") and str(e.get("error") or "").startswith(SOURCE_DOWN) for e in self.entries())


def _cut(text: Any, limit: int = _ERROR_CHARS) -> Any:
    return text[: limit - 1] + "…" if isinstance(text, str) and len(text) > limit else text


class StopEvent(Protocol):
    def is_set(self) -> bool: ...


class CaptureMetrics:
    """One camera's capture figures, written by the camera process, read by the main process.

    Plain shared values (single writer, no locks): ``camera_fps``, ``skipped_fps`` (moving
    averages), ``skipped_frames``, ``frames`` (totals), ``capture_pid`` (the detect ffmpeg, 0
    when none runs), ``restarts`` and ``last_frame_time`` (epoch s).
    """

    def __init__(self, ctx: Any = None) -> None:
        ctx = ctx if ctx is not None else mp.get_context()
        self.camera_fps = ctx.Value("d", 0.0, lock=False)
        self.skipped_fps = ctx.Value("d", 0.0, lock=False)
        self.skipped_frames = ctx.Value("Q", 0, lock=False)
        self.frames = ctx.Value("Q", 0, lock=False)
        self.capture_pid = ctx.Value("i", 0, lock=False)
        self.restarts = ctx.Value("Q", 0, lock=False)
        self.last_frame_time = ctx.Value("d", 0.0, lock=False)
        self.storage_full = ctx.Value("b", 0, lock=False)  # a segment ffmpeg stopped on a full disk
        self.stalled = ctx.Value("b", 0, lock=False)  # no frame for STALLED_AFTER s (not paused)
        self.inputs = InputHealth(ctx)  # each ffmpeg's health entry
        self._restart_times = ctx.Array("d", RESTART_HISTORY, lock=False)

    def record_restart(self, when: float) -> None:
        count = int(self.restarts.value)
        self._restart_times[count % RESTART_HISTORY] = when
        self.restarts.value = count + 1

    def restart_times(self) -> list[float]:
        """The most recent restarts (epoch s), oldest first, at most RESTART_HISTORY of them."""
        count = int(self.restarts.value)
        kept = list(self._restart_times[: min(count, RESTART_HISTORY)])
        return sorted(kept)

    def reconnects_last_hour(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        return sum(1 for t in self.restart_times() if now - 3600.0 <= t <= now)


class _Rate:
    """Events per second as an exponential moving average, fed with running totals."""

    def __init__(self, total: int = 0) -> None:
        self.value: float | None = None
        self._total = total
        self._at = time.monotonic()

    def update(self, total: int, now: float) -> float:
        elapsed = now - self._at
        if elapsed > 0:
            rate = (total - self._total) / elapsed
            if self.value is not None:
                self.value += (1.0 - math.exp(-elapsed / RATE_TAU)) * (rate - self.value)
            elif rate > 0:  # start from the first real rate, not from ffmpeg's start-up silence
                self.value = rate
            self._total, self._at = total, now
        return self.value or 0.0


@dataclass(eq=False)
class _Input:
    """One input's ffmpeg and its restart state (touched only by the watchdog thread)."""

    index: int
    config: CameraInput
    roles: tuple[str, ...]
    ffmpeg_log: logging.Logger
    proc: subprocess.Popen[bytes] | None = None
    threads: list[threading.Thread] = field(default_factory=list)
    launches: int = 0
    started_at: float = 0.0  # monotonic
    next_start: float = 0.0  # monotonic; 0 = now
    backoff: float = BACKOFF_START
    terminating_since: float | None = None
    failing_since: float | None = None  # monotonic; set from the second failed run in a row
    failures: int = 0  # failed runs in a row
    saw_disk_full: bool = False  # this run's stderr said "No space left on device"
    saw_output_failure: bool = False  # this run's stderr said an output could not be written
    disk_full_since: float | None = None
    pipe: bool = False  # the source is a named pipe
    writer_awaited_since: float | None = None  # monotonic; a named pipe with nothing in it, or closed
    frames_then: int = 0  # frames read when the wait began: one more ends it (detect)
    probing: bool = False  # its network source did not answer: probed each NETWORK_PROBE s, started once it does
    slot: int = 0  # its entry in CaptureMetrics.inputs
    ok: bool = True  # service.health: delivering (or not failed yet)
    error: str | None = None
    last_error: str | None = None
    last_error_time: float | None = None
    health_since: float | None = None  # epoch s it stopped being ok (service.health)
    restarts: int = 0
    run_wall: float = 0.0  # epoch s of the last launch (a segment file newer than this is of this run)
    frames_at_launch: int = 0
    delivered: bool = False  # this run has delivered (frames, a segment file)
    last_line: str = ""  # ffmpeg's last stderr line of this run
    source: str | None = None  # the restream URL its ffmpeg reads instead of config.path (probes still ask the camera)

    @property
    def detect(self) -> bool:
        return "detect" in self.roles

    @property
    def network(self) -> bool:
        return network_source(self.config.path)

    @property
    def comes_back(self) -> bool:
        """A source that returns by itself (a camera on the network, a pipe's next writer): retried every
        ``NETWORK_RETRY`` s, never after a long backoff."""
        return self.network or self.pipe

    @property
    def quiet(self) -> bool:
        """Failing again: ffmpeg's own lines were logged the first time and are only debug now."""
        return self.failing_since is not None or self.disk_full_since is not None


class _StderrFilter(logging.Filter):
    """Sees every stderr line of one input's ffmpeg: notes a full disk, hushes repeated failures."""

    def __init__(self, inp: _Input) -> None:
        super().__init__()
        self._inp = inp

    def filter(self, record: logging.LogRecord) -> bool:
        line = self._inp.last_line = record.getMessage()
        if output_failure(line):
            self._inp.saw_output_failure = True
        if DISK_FULL_TEXT in line:
            self._inp.saw_disk_full = True
            return False  # said once, with the path, by the watchdog ("disk full at ...")
        return not self._inp.quiet


class CameraCapture:
    """Every ffmpeg of one camera, run by threads of the calling (camera) process."""

    def __init__(
        self,
        cam: CameraConfig,
        cache_dir: Path,
        ring: FrameRing,
        frames: queue.Queue[tuple[int, float]],
        metrics: CaptureMetrics,
        stop: StopEvent,
        ffmpeg_bin: str | None = None,
        logger: logging.Logger | None = None,
        *,
        no_frame_timeout: float = NO_FRAME_TIMEOUT,
        backoff_start: float = BACKOFF_START,
        backoff_max: float = BACKOFF_MAX,
        healthy_after: float = HEALTHY_AFTER,
        term_timeout: float = TERM_TIMEOUT,
        paused: StopEvent | None = None,
        rtmp_listening: Callable[[str], bool] = server_listening,
        probe: Callable[[str], bool | None] = probe_source,
        routes: Mapping[str, str] | None = None,
    ) -> None:
        if frames.maxsize <= 0 or ring.slots < frames.maxsize + 2:
            # queued slots + the one the consumer holds + the one being written
            raise ValueError(f"a ring of {ring.slots} slots needs a frames queue of maxsize 1..{ring.slots - 2}")
        if (ring.width, ring.height) != (cam.width, cam.height):
            raise ValueError(
                f"ring is {ring.width}x{ring.height}, camera {cam.name} detects at {cam.width}x{cam.height}"
            )
        if ffmpeg_bin is None:
            from frigate_like.video.binaries import find_ffmpeg

            ffmpeg_bin = find_ffmpeg()
        self.cam, self.cache_dir, self.ffmpeg_bin = cam, Path(cache_dir), ffmpeg_bin
        self._ring, self._frames, self.metrics, self._stop = ring, frames, metrics, stop
        self._paused = paused
        self._rtmp_listening = rtmp_listening  # asked before each start of an input with the rtmp role
        self._probe = probe
        self._answers: dict[str, tuple[float, bool | None]] = {}  # path → (when, answer): inputs share one
        self._log = logger or logging.getLogger(f"ffmpeg.{cam.name}")
        self.no_frame_timeout, self.healthy_after, self.term_timeout = no_frame_timeout, healthy_after, term_timeout
        self._backoff_start, self._backoff_max = backoff_start, backoff_max
        self._inputs: list[_Input] = []
        self._filters: list[tuple[logging.Logger, logging.Filter]] = []  # on from start() to stop()
        self._routes = dict(routes or {})
        self._watchdog: threading.Thread | None = None
        for index, inp in enumerate(cam.ffmpeg.inputs):
            pipe = named_pipe(inp.path)
            for roles in process_roles(cam, inp, named_pipe=pipe):
                entry = self._new_input(index, inp, roles, pipe=pipe, slot=len(self._inputs))
                self._carry_health(entry)
                self._inputs.append(entry)
        if sum(1 for i in self._inputs if i.detect) > 1:
            raise ValueError(f"camera {cam.name}: more than one input has the detect role")
        self._halt = threading.Event()
        self._wake = threading.Event()  # an ffmpeg ended (or stop): the watchdog looks now, not at its next tick
        self._stop_timeout = 5.0
        self._slot = 0  # next ring slot to write
        self._last_frame = 0.0  # monotonic time of the last detect frame (or of the detect launch)
        self._frame_seen = 0.0  # monotonic time of the last detect frame (or of start())
        self._stall_after = max(STALLED_AFTER, 3.0 / cam.fps)
        self._frames_read = 0
        self._skipped = 0
        self._preexec = die_with_parent()

    def _new_input(self, index: int, config: CameraInput, roles: tuple[str, ...], *, pipe: bool, slot: int) -> _Input:
        ffmpeg_log = logging.getLogger(f"ffmpeg.{self.cam.name}.{'_'.join(roles)}")
        entry = _Input(index, config, roles, ffmpeg_log, backoff=self._backoff_start, pipe=pipe, slot=slot)
        # one session per camera: its ffmpegs read the restream, the camera itself is only probed
        entry.source = self._routes.get(config.path)
        stderr_filter = _StderrFilter(entry)
        self._filters.append((ffmpeg_log, stderr_filter))
        if self._watchdog is not None:  # a split while running: on now, like the others since start()
            ffmpeg_log.addFilter(stderr_filter)
        return entry

    # -- public ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Starts the watchdog thread, which starts every ffmpeg at once."""
        if self._watchdog is not None:
            raise RuntimeError("capture already started")
        for index, inp in enumerate(self.cam.ffmpeg.inputs):
            for role in ignored_roles(self.cam, inp):
                self._log.info(
                    "camera %s input %d: role %s has no output (%s is disabled)", self.cam.name, index, role, role
                )
        if not any(i.detect for i in self._inputs):
            self._log.info("camera %s has no detect input: no frames will be captured", self.cam.name)
        for ffmpeg_log, stderr_filter in self._filters:
            ffmpeg_log.addFilter(stderr_filter)
        self._frame_seen = time.monotonic()
        self._watchdog = threading.Thread(target=self._watch, name=f"capture-{self.cam.name}", daemon=True)
        self._watchdog.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stops every ffmpeg (SIGTERM, SIGKILL after ``timeout`` s) and joins every thread."""
        self._stop_timeout = timeout
        self._halt.set()
        self._wake.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout + 5.0)
            if self._watchdog.is_alive():
                self._log.error("capture watchdog of %s did not stop", self.cam.name)
        for ffmpeg_log, stderr_filter in self._filters:
            ffmpeg_log.removeFilter(stderr_filter)

    @property
    def pids(self) -> list[int]:
        """Pids of the ffmpeg processes running now."""
        return [i.proc.pid for i in self._inputs if i.proc is not None and i.proc.poll() is None]

    # -- watchdog -------------------------------------------------------------------------------
    def _stopping(self) -> bool:
        return self._halt.is_set() or self._stop.is_set()

    def _watch(self) -> None:
        camera_rate, skipped_rate = _Rate(), _Rate()
        last_rates = time.monotonic()
        detects = any(i.detect for i in self._inputs)
        try:
            while not self._stopping():
                now = time.monotonic()
                for inp in list(self._inputs):  # a split replaces an entry while we go
                    try:
                        self._check(inp, now)
                        self._check_health(inp, now)
                    except Exception:  # keep watching: this thread's end would SIGTERM every ffmpeg
                        self._log.exception("capture watchdog error on input %d", inp.index)
                stalled = detects and not self._is_paused() and now - self._frame_seen > self._stall_after
                self.metrics.stalled.value = int(stalled)
                if self._is_paused():
                    camera_rate, skipped_rate = _Rate(self._frames_read), _Rate(self._skipped)
                    self.metrics.camera_fps.value = self.metrics.skipped_fps.value = 0.0
                elif now - last_rates >= 1.0:
                    self.metrics.camera_fps.value = round(camera_rate.update(self._frames_read, now), 2)
                    self.metrics.skipped_fps.value = round(skipped_rate.update(self._skipped, now), 2)
                    last_rates = now
                self._wake.wait(TICK)
                self._wake.clear()
        finally:
            self._shutdown(self._stop_timeout)

    def _is_paused(self) -> bool:
        return self._paused is not None and self._paused.is_set()

    # -- health ---------------------------------------------------------------------------------
    def health_name(self, inp: _Input) -> str:
        return f"ffmpeg:{self.cam.name}:{'+'.join(inp.roles)}"

    def _carry_health(self, inp: _Input) -> None:
        """An earlier camera process's entry for the same ffmpeg: its restarts and last error go on."""
        old = self.metrics.inputs.read(inp.slot)
        if old is not None and old.get("name") == self.health_name(inp):
            inp.restarts = int(old.get("restarts") or 0)
            inp.last_error, inp.last_error_time = old.get("last_error"), old.get("last_error_time")
        self._publish_health(inp)

    def _publish_health(self, inp: _Input) -> None:
        self.metrics.inputs.write(inp.slot, {
            "name": self.health_name(inp), "ok": inp.ok, "error": inp.error, "last_error": inp.last_error,
            "last_error_time": inp.last_error_time, "restarts": inp.restarts, "failing_since": inp.health_since,
        })  # fmt: skip

    def _failed(self, inp: _Input, error: str) -> None:
        """Not delivering: the reason (credentials masked) and when, until it delivers again."""
        text = _cut(redact_text(error))
        if inp.ok or inp.error != text:
            inp.ok, inp.error, inp.last_error, inp.last_error_time = False, text, text, time.time()
            inp.health_since = inp.health_since or inp.last_error_time
            self._publish_health(inp)

    def _delivering(self, inp: _Input, now: float) -> bool:
        """This run of ``inp`` has delivered: a frame (detect), a segment file (clips/record), a while (rtmp)."""
        if inp.proc is None or inp.terminating_since is not None or inp.writer_awaited_since is not None:
            return False
        return self._has_delivered(inp, now)

    def _has_delivered(self, inp: _Input, now: float) -> bool:
        if inp.detect:
            return self._frames_read > inp.frames_at_launch
        segment_roles = [role for role in inp.roles if role in SEGMENT_ROLES]
        if not segment_roles:
            return now - inp.started_at >= OK_AFTER
        for role in segment_roles:
            try:
                with os.scandir(segment_dir(self.cache_dir, self.cam.name, role)) as entries:
                    for entry in entries:
                        if entry.name.endswith(".mp4") and entry.stat().st_mtime >= inp.run_wall:
                            return True
            except OSError:
                continue
        return False

    def _check_health(self, inp: _Input, now: float) -> None:
        if inp.ok and inp.delivered:
            return
        # not ok within a run that had delivered: a named pipe's writer that stalled, then went on
        if self._delivering(inp, now):
            inp.delivered = True
            if not inp.ok:
                inp.ok, inp.error, inp.health_since = True, None, None
                self._publish_health(inp)

    def _check(self, inp: _Input, now: float) -> None:
        proc = inp.proc
        if proc is None:
            if now >= inp.next_start and self._answers_again(inp, now):
                self._launch(inp, now)
            return
        code = proc.poll()
        if code is not None:
            self._reap(inp)
            self._exited(inp, code, now)
            if inp not in self._inputs:  # split: its parts start in the next pass
                return
            if inp.proc is None and now >= inp.next_start and self._answers_again(inp, now):
                self._launch(inp, now)  # at once: the first failure after a run that delivered
        elif inp.quiet and now - inp.started_at >= RECOVERED_AFTER:
            self._recovered(inp, now)
        elif inp.terminating_since is not None:
            if now - inp.terminating_since > self.term_timeout:
                proc.kill()
        elif inp.detect and now - self._last_frame > self.no_frame_timeout:
            if inp.pipe and pipe_backlog(inp.config.path) == 0:
                self._await_writer(inp, now)  # the writer stalled, not ffmpeg: it reads on when the writer does
                return
            self._log.warning(
                "no frame from %s for %.0f s: restarting its ffmpeg", self.cam.name, now - self._last_frame
            )
            self._failed(inp, f"no frame for {now - self._last_frame:.0f} s: restarting its ffmpeg")
            inp.terminating_since = now
            proc.terminate()
        elif inp.writer_awaited_since is not None and self._writer_back(inp, now):
            self._log.warning(
                "the named pipe of %s delivers again after %.0f s", self.cam.name, now - inp.writer_awaited_since
            )
            inp.writer_awaited_since = None

    def _writer_back(self, inp: _Input, now: float) -> bool:
        """A frame read since the wait began (detect), or this ffmpeg has run ``RECOVERED_AFTER`` s (segments)."""
        return self._frames_read > inp.frames_then if inp.detect else now - inp.started_at >= RECOVERED_AFTER

    def _await_writer(self, inp: _Input, now: float) -> None:
        if inp.writer_awaited_since is None:
            self._failed(inp, "nothing comes through its named pipe: waiting for the writer")
            inp.writer_awaited_since, inp.frames_then = now, self._frames_read
            self._log.warning(
                "no frame from %s for %.0f s: nothing comes through its named pipe; waiting for the writer",
                self.cam.name, now - self._last_frame,
            )  # fmt: skip

    def _exited(self, inp: _Input, code: int, now: float) -> None:
        roles = "+".join(inp.roles)
        inp.delivered = inp.delivered or self._has_delivered(inp, now)  # even if the last tick did not see it
        if inp.terminating_since is None:  # else we stopped it, and said why
            last_line = f": {inp.last_line}" if inp.last_line else ""
            self._failed(inp, f"ffmpeg exited with code {code}{last_line}")
        if (inp.saw_disk_full or inp.saw_output_failure) and self._split(inp, code, now):
            return
        inp.saw_output_failure = False
        if inp.saw_disk_full:
            self._failed(inp, f"disk full at {segment_dir(self.cache_dir, self.cam.name, inp.roles[0]).parent}")
            inp.saw_disk_full = False
            if inp.disk_full_since is None:
                inp.disk_full_since = now
                self.metrics.storage_full.value = 1
                self._log.error(
                    "disk full at %s: %s segments of %s stop until space is freed (retrying every %.0f s)%s",
                    segment_dir(self.cache_dir, self.cam.name, inp.roles[0]).parent, roles, self.cam.name,
                    DISK_FULL_RETRY, "" if inp.detect else "; detection goes on",
                )  # fmt: skip
            inp.next_start = now + DISK_FULL_RETRY
            return
        if inp.pipe and code == 0 and inp.terminating_since is None:
            # the writer closed the pipe (end of file): not a failure; the next ffmpeg waits for the next writer
            if inp.writer_awaited_since is None:
                inp.writer_awaited_since, inp.frames_then = now, self._frames_read
                self._log.warning("the writer of %s's named pipe closed it; waiting for the next one", self.cam.name)
            self._failed(inp, "the writer closed its named pipe: waiting for the next one")
            inp.failures = 0
            self._schedule_restart(inp, now)
            return
        healthy = now - inp.started_at >= self.healthy_after
        inp.failures = 0 if healthy else inp.failures + 1
        if inp.terminating_since is None and not inp.quiet:
            self._log.warning("ffmpeg (%s) of %s exited with code %s", roles, self.cam.name, code)
        if inp.network and self._answer(inp, now, TICK) is False:
            self._failed(inp, f"{SOURCE_DOWN} (ffmpeg exited with code {code}); probing it")
            inp.probing = True
            if inp.failing_since is None:  # once per outage, not per probe
                inp.failing_since = now
                self._log.warning("the source of %s (%s) is down; probing every %.0f s, ffmpeg starts when it answers",
                                  self.cam.name, roles, NETWORK_PROBE)  # fmt: skip
            return
        if inp.failures >= 2 and inp.failing_since is None:
            inp.failing_since = now
            retry = f"every {NETWORK_RETRY:.0f} s" if inp.comes_back else "with backoff"
            self._log.warning("ffmpeg (%s) of %s keeps failing; retrying %s (details at debug level)", roles,
                              self.cam.name, retry)  # fmt: skip
        self._schedule_restart(inp, now, at_once=inp.delivered and inp.failures <= 1 and inp.terminating_since is None)

    def _split(self, inp: _Input, code: int, now: float) -> bool:
        """An output of ``inp``'s one ffmpeg failed and ended detection with it. From now on (until the
        camera's capture restarts) detection runs in an ffmpeg of its own, started in the next pass, and
        the copying roles in another, which meets the failure on its own (a full disk: retried every
        ``DISK_FULL_RETRY`` s). False when ``inp`` cannot be split: it does not detect, has nothing
        else, or opens once (a device, a named pipe)."""
        if "detect" not in inp.roles:
            return False
        groups = process_roles(self.cam, inp.config, named_pipe=inp.pipe, split=True)
        if len(groups) != 2:
            return False
        detect_roles, copy_roles = groups
        slot = max(i.slot for i in self._inputs) + 1
        detect = self._new_input(inp.index, inp.config, detect_roles, pipe=inp.pipe, slot=inp.slot)
        copying = self._new_input(inp.index, inp.config, copy_roles, pipe=inp.pipe, slot=slot)
        for part in (detect, copying):  # the same ffmpeg's history goes on in each part's entry
            part.launches, part.restarts, part.started_at, part.run_wall = (
                inp.launches, inp.restarts, inp.started_at, inp.run_wall)  # fmt: skip
            part.frames_at_launch, part.delivered, part.last_line = inp.frames_at_launch, inp.delivered, inp.last_line
            part.last_error, part.last_error_time = inp.last_error, inp.last_error_time
            part.ok, part.error, part.health_since = inp.ok, inp.error, inp.health_since
        at = self._inputs.index(inp)
        self._inputs[at : at + 1] = [detect, copying]
        reason = "the disk is full" if inp.saw_disk_full else redact_text(inp.last_line)
        self._log.warning(
            "an output of %s's ffmpeg (%s) failed (%s): detection goes on at once in an ffmpeg of its own, %s in "
            "another, until the camera's capture restarts", self.cam.name, "+".join(inp.roles), reason,
            "+".join(copy_roles),
        )  # fmt: skip
        self._publish_health(detect)
        detect.next_start = now
        # the copying part ends this run as if it had been its own: a full disk waits DISK_FULL_RETRY s
        copying.saw_disk_full, copying.terminating_since = inp.saw_disk_full, inp.terminating_since
        self._exited(copying, code, now)
        copying.terminating_since = None
        self._wake.set()
        return True

    def _answer(self, inp: _Input, now: float, fresh_for: float) -> bool | None:
        """The probe's answer for the input's source: the last one while younger than ``fresh_for`` s,
        so the inputs of one source (detect, segments) share a probe and start in the same tick."""
        path = inp.config.path
        asked = self._answers.get(path)
        if asked is None or now - asked[0] >= fresh_for:
            asked = self._answers[path] = (now, self._probe(path))
        return asked[1]

    def _answers_again(self, inp: _Input, now: float) -> bool:
        """False while a source that was down still does not answer (asked every NETWORK_PROBE s)."""
        if not inp.probing:
            return True
        if self._answer(inp, now, NETWORK_PROBE) is False:
            return False
        inp.probing = False
        self._log.debug("the source of %s (%s) answers again", self.cam.name, "+".join(inp.roles))
        # not ok until it delivers, but no longer down: the camera's other readers (the live feed) go now
        self._failed(inp, "the source answers again: its ffmpeg starts")
        return True

    def _recovered(self, inp: _Input, now: float) -> None:
        roles = "+".join(inp.roles)
        if inp.disk_full_since is not None:
            self._log.warning("%s segments of %s are written again after %.0f s (disk full)", roles, self.cam.name,
                              now - inp.disk_full_since)  # fmt: skip
            if not any(other.disk_full_since is not None for other in self._inputs if other is not inp):
                self.metrics.storage_full.value = 0
        if inp.failing_since is not None:
            self._log.warning("ffmpeg (%s) of %s works again after %.0f s", roles, self.cam.name,
                              now - inp.failing_since)  # fmt: skip
        inp.disk_full_since = inp.failing_since = None
        inp.failures = 0

    def _schedule_restart(self, inp: _Input, now: float, *, at_once: bool = False) -> None:
        """The next start after the backoff; ``at_once``: now (a run that delivered was cut: killed, a
        camera that dropped the stream), the backoff being kept for the next failure in a row."""
        if at_once:
            inp.next_start = now
            self._log.info("restarting ffmpeg (%s) of %s now", "+".join(inp.roles), self.cam.name)
            return
        if now - inp.started_at >= self.healthy_after:
            inp.backoff = self._backoff_start
        # A camera that answers (or cannot be probed) may be booting, a pipe waits for its next writer:
        # neither must wait for the next step of a long backoff.
        if inp.comes_back:
            inp.backoff = min(inp.backoff, NETWORK_RETRY)
        inp.next_start = now + inp.backoff
        if not inp.quiet:
            self._log.info("restarting ffmpeg (%s) of %s in %.1f s", "+".join(inp.roles), self.cam.name, inp.backoff)
        inp.backoff = min(inp.backoff * 2.0, NETWORK_RETRY if inp.comes_back else self._backoff_max)

    def _launch(self, inp: _Input, now: float) -> None:
        run_id = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{os.getpid()}-{inp.launches}"
        rtmp_up = "rtmp" not in inp.roles or self._rtmp_listening(self.cam.rtmp.url or "")
        config = inp.config if inp.source is None else inp.config.model_copy(update={"path": inp.source})
        command = build_command(
            self.cam, config, self.cache_dir, self.ffmpeg_bin, run_id, inp.roles, rtmp_server_up=rtmp_up
        )
        if not rtmp_up:
            self._log.warning(
                "RTMP server of %s does not answer: %s", self.cam.name,
                "its stream is left out until this ffmpeg restarts" if command else "trying again later",
            )  # fmt: skip
        if command is None:  # its only role is rtmp, and the server is down
            self._schedule_restart(inp, now)
            return
        for role in command.roles:
            if role in SEGMENT_ROLES:
                segment_dir(self.cache_dir, self.cam.name, role).mkdir(parents=True, exist_ok=True)
        if inp.launches:
            self.metrics.record_restart(time.time())
        inp.launches += 1
        inp.started_at, inp.terminating_since = now, None
        self._log.debug("starting ffmpeg for %s: %s", self.cam.name, command)
        try:
            proc = start_ffmpeg(command, self._preexec)
        except OSError as exc:
            self._log.error("cannot start ffmpeg %s: %s", self.ffmpeg_bin, exc)
            self._failed(inp, f"cannot start ffmpeg: {exc}")
            self._schedule_restart(inp, now)
            return
        if inp.launches > 1:
            inp.restarts += 1
            self._publish_health(inp)
        inp.run_wall, inp.frames_at_launch, inp.last_line, inp.delivered = time.time(), self._frames_read, "", False
        inp.proc = proc
        assert proc.stderr is not None
        name = f"ffmpeg-log-{self.cam.name}-{inp.index}"
        inp.threads = [self._thread(name, self._log_until_exit, proc, inp.ffmpeg_log)]
        if command.detect:
            assert proc.stdout is not None
            self._last_frame = now
            self.metrics.capture_pid.value = proc.pid
            inp.threads.append(self._thread(f"frames-{self.cam.name}", self._read_frames, proc.stdout))

    def _log_until_exit(self, proc: subprocess.Popen[bytes], ffmpeg_log: logging.Logger) -> None:
        """Logs ffmpeg's stderr; at its end (ffmpeg gone) wakes the watchdog, which restarts it in that pass."""
        assert proc.stderr is not None
        log_stderr(proc.stderr, ffmpeg_log)
        # stderr closes as it exits: reaped within milliseconds (one that closed it and runs on is seen
        # exiting at a later tick)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(1.0)
        self._wake.set()

    def _thread(self, name: str, target: Callable[..., None], *args: Any) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        return thread

    def _reap(self, inp: _Input) -> None:
        """Collects an exited ffmpeg: joins its threads (they end at EOF) and closes its pipes."""
        proc, inp.proc = inp.proc, None
        if proc is None:
            return
        proc.wait()
        for thread in inp.threads:
            thread.join(5.0)
        inp.threads = []
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        if inp.detect:
            self.metrics.capture_pid.value = 0

    def _shutdown(self, timeout: float) -> None:
        running = [i for i in self._inputs if i.proc is not None]
        for inp in running:
            assert inp.proc is not None
            if inp.proc.poll() is None:
                inp.proc.terminate()  # SIGTERM: ffmpeg closes its segments properly
        deadline = time.monotonic() + timeout
        for inp in running:
            assert inp.proc is not None
            try:
                inp.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._log.warning("ffmpeg (%s) of %s ignored SIGTERM: killed", "+".join(inp.roles), self.cam.name)
                inp.proc.kill()
            self._reap(inp)
        self.metrics.camera_fps.value = 0.0

    # -- frames ---------------------------------------------------------------------------------
    def _read_frames(self, stdout: IO[bytes]) -> None:
        """Reads raw frames into ring slots until EOF (ffmpeg gone)."""
        ring, size, fd = self._ring, self._ring.frame_size, stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while True:
            slot = self._slot
            view = ring.buffer(slot)
            got = 0
            while got < size:
                if not poller.poll(1000):
                    # Nothing for 1 s. Even when stopping we read on: ffmpeg flushes its last
                    # frames after SIGTERM, and EOF comes once the watchdog has stopped it.
                    continue
                if got == 0:  # the slot's old frame stays readable until its bytes really go
                    ring.begin_write(slot)
                n = os.readv(fd, [view[got:]])  # straight into shared memory, no copy
                if n == 0:
                    return  # EOF; a partial frame stays marked as being written
                got += n
            if self._is_paused():
                self._last_frame = self._frame_seen = time.monotonic()  # ffmpeg is healthy: no restart
                continue  # dropped unseen: the same slot is written again
            frame_time = time.time()
            ring.set_frame_time(slot, frame_time)
            self._last_frame = self._frame_seen = time.monotonic()
            self._frames_read += 1
            self.metrics.frames.value = self._frames_read
            self.metrics.last_frame_time.value = frame_time
            try:
                self._frames.put_nowait((slot, frame_time))
            except queue.Full:
                self._skipped += 1
                self.metrics.skipped_frames.value = self._skipped
                continue  # the frame is dropped: its slot is written again
            self._slot = (slot + 1) % ring.slots
