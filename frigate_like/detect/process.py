"""Detector processes and the hub that owns them: shared buffers, the request pipe, stats, restarts."""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import multiprocessing as mp
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from frigate_like.config import DetectorConfig, ModelConfig
from frigate_like.detect.api import MAX_DETECTIONS, Detector
from frigate_like.detect.channel import (
    COUNT,
    REQUEST_SEQ,
    RESULT_SEQ,
    WAKE,
    CameraBuffers,
    DetectorChannel,
    RequestQueue,
)
from frigate_like.errors import Conflict, DetectorUnavailable, FrigateLikeError, NotFound
from frigate_like.supervise import RestartBackoff, spawning_parent_pid

logger = logging.getLogger(__name__)

# Every blocking wait in a detector process is at most this long, so it notices a stop.
POLL_SECONDS = 1.0
# Weight of the newest invoke time in the inference_speed moving average.
_SPEED_ALPHA = 0.1
_SPARE = "\0spare-"  # key of an unassigned spare channel (no camera name starts with NUL)
# A new detector process gets this long to load its model before its heartbeat counts.
START_GRACE = 30.0
# The liveness beat: a thread of the detector process writes the time every ALIVE_BEAT s, whatever
# the serving loop does, so a slow inference on a loaded CPU never looks like a stall (LiteRT's
# invoke releases the GIL; even one that held it for a whole inference would delay a beat by only
# that long). Stale for STALL_AFTER s = the process does not run at all (SIGSTOP, frozen, swapped
# out). Bound: noticed within STALL_AFTER + the watchdog's tick (supervise.WATCH_TICK, 0.5 s), i.e.
# ≤ 2.5 s after the stop; a thread starved for 2 s on a loaded 2-core machine is already a fault.
ALIVE_BEAT = 0.2
STALL_AFTER = 2.0


@dataclass(frozen=True)
class RuntimeInfo:
    """What a detector process reports once its model is loaded: the runtime it chose and why."""

    runtime: str  # e.g. "cpu", "openvino:CPU", "onnx:cuda"
    reason: str


@dataclass(frozen=True)
class DetectorMetrics:
    """Counters of one detector process, in shared memory: the detector writes, the hub reads.

    Single writer, aligned doubles: no locks (a lock held by a killed process would wedge the hub).
    """

    detection_start: ctypes.c_double  # epoch seconds while an inference runs, else 0.0
    inference_speed: ctypes.c_double  # ms, exponential moving average
    detections: ctypes.c_uint64  # answered requests since the hub was built (rates from deltas)
    busy_seconds: ctypes.c_double  # total time spent in detect_raw
    # Watchdog (issue 11): epoch seconds the serving loop last went round; stale while the
    # process is stopped (SIGSTOP) or wedged, whether or not a request is in flight.
    heartbeat: ctypes.c_double
    # Epoch seconds of the last liveness beat (its own thread, every ALIVE_BEAT s): stale only while
    # the whole process does not run. And when the serving loop began (0.0 until the model is loaded).
    alive: ctypes.c_double
    serving: ctypes.c_double

    @classmethod
    def create(cls, ctx: BaseContext) -> DetectorMetrics:
        return cls(
            ctx.RawValue(ctypes.c_double, 0.0),
            ctx.RawValue(ctypes.c_double, 0.0),
            ctx.RawValue(ctypes.c_uint64, 0),
            ctx.RawValue(ctypes.c_double, 0.0),
            ctx.RawValue(ctypes.c_double, 0.0),
            ctx.RawValue(ctypes.c_double, 0.0),
            ctx.RawValue(ctypes.c_double, 0.0),
        )


class DetectorProcess:
    """The body of one detector process: take a request, run the model, answer the camera.

    Built in the main process from picklable parts; ``run`` executes in the child.
    """

    def __init__(
        self,
        name: str,
        model: ModelConfig,
        detector: DetectorConfig,
        channels: Sequence[DetectorChannel],
        requests: RequestQueue,
        metrics: DetectorMetrics,
        stopping: ctypes.c_bool,
        log_setup: Callable[[], None] | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.cache_dir = cache_dir
        self.model = model
        self.detector = detector
        self.channels = tuple(channels)
        self.requests = requests
        self.metrics = metrics
        self.stopping = stopping
        self.log_setup = log_setup

    def run(self, ready: Connection | None = None) -> None:
        """Load the model, report on ``ready`` (a ``RuntimeInfo``, or the error text), serve until stopped."""
        # Ctrl-C reaches the whole process group; the main process owns the shutdown.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        threading.Thread(target=self._beat, name="alive", daemon=True).start()
        if self.log_setup is not None:
            self.log_setup()
        from frigate_like.detect.runtimes import choose_detector  # the runtimes are only needed here

        try:
            choice = choose_detector(self.model, self.detector, cache_dir=self.cache_dir)
            detector = choice.detector
            buffers = [CameraBuffers.attach(channel) for channel in self.channels]
        except (FrigateLikeError, OSError) as exc:
            if not _report(ready, str(exc)):  # a restart nobody waits for: this line is the only trace
                logger.error("detector %s cannot start: %s", self.name, exc)
            raise SystemExit(1) from None
        logger.info("detector %s runs on %s (%s)", self.name, choice.runtime, choice.reason)
        _report(ready, RuntimeInfo(choice.runtime, choice.reason))
        logger.debug("detector %s serving %d camera(s)", self.name, len(buffers))
        try:
            self._serve(detector, buffers)
        except Exception:
            logger.exception("detector %s failed", self.name)
            raise SystemExit(1) from None
        finally:
            for camera_buffers in buffers:
                camera_buffers.close()
            detector.close()

    def _beat(self) -> None:
        """The liveness beat (a thread): goes on through model loading and slow inferences."""
        while not self.stopping.value:
            self.metrics.alive.value = time.time()
            time.sleep(ALIVE_BEAT)

    def _serve(self, detector: Detector, buffers: list[CameraBuffers]) -> None:
        requests, metrics, channels = self.requests, self.metrics, self.channels
        parent = spawning_parent_pid()  # not os.getppid(): the daemon may be gone already
        metrics.serving.value = time.time()
        while not self.stopping.value:
            metrics.heartbeat.value = time.time()
            request = requests.get(POLL_SECONDS)
            if request is None:
                if os.getppid() != parent:  # the daemon was killed (-9): do not outlive it
                    logger.warning("detector %s: the main process is gone; exiting", self.name)
                    return
                continue
            index, seq = request
            if index == WAKE:
                continue
            camera = buffers[index]
            if camera.header[REQUEST_SEQ] != seq:
                continue  # the camera gave up on this request and has moved on
            metrics.detection_start.value = time.time()
            started = time.perf_counter()
            rows = detector.detect_raw(camera.input)
            elapsed = time.perf_counter() - started
            metrics.detection_start.value = 0.0
            metrics.detections.value += 1
            metrics.busy_seconds.value += elapsed
            elapsed_ms = elapsed * 1000.0
            speed = metrics.inference_speed.value
            metrics.inference_speed.value = elapsed_ms if speed == 0.0 else speed + _SPEED_ALPHA * (elapsed_ms - speed)
            if camera.header[REQUEST_SEQ] != seq:
                continue  # gave up while we ran: do not overwrite the answer it now waits for
            n = min(rows.shape[0], MAX_DETECTIONS)
            camera.rows[:n] = rows[:n]
            camera.header[COUNT] = n
            camera.header[RESULT_SEQ] = seq  # last: the client checks it after waking
            channels[index].response.release()


def _report(ready: Connection | None, message: RuntimeInfo | str) -> bool:
    """Tells the hub's ``start()`` how loading went; False when nobody waits (a restart)."""
    if ready is None:
        return False
    try:
        ready.send(message)
        ready.close()
    except OSError:
        return False  # a restart nobody waits for: the hub closed its end
    return True


class DetectorHub:
    """Creates the detectors' shared memory and request pipe, runs one process per detector.

    Build it before the camera processes (they need ``channel(camera)``), create every
    process that talks to it from ``hub.mp_context``, call ``check()`` from a watchdog
    every few seconds, and ``stop()`` once at the end (it also unlinks the shared memory).

    ``stuck_after``: seconds one detection may take before ``check()`` kills the process.
    ``log_setup``: a picklable callable run first in each detector process (e.g. a
    ``functools.partial`` of ``log.configure_child_logging``).
    ``model_cache_dir``: where converted models are cached (ONNX); the user's cache by default.
    ``extra_channels``: spare channels for cameras added at run time. A detector process
    attaches every channel when it starts, so they must exist before: ``assign_channel``
    hands a spare to a new camera, ``release_channel`` takes it back.
    """

    def __init__(
        self,
        model: ModelConfig,
        detectors: Mapping[str, DetectorConfig],
        camera_names: Sequence[str],
        *,
        mp_context: BaseContext | None = None,
        stuck_after: float = 10.0,
        log_setup: Callable[[], None] | None = None,
        extra_channels: int = 0,
        model_cache_dir: Path | None = None,
    ) -> None:
        if len(set(camera_names)) != len(camera_names):
            raise ValueError(f"camera names must be unique: {list(camera_names)}")
        # spawn: children start clean, without the main process's threads (HTTP, MQTT) or their locks.
        self.mp_context: BaseContext = mp_context or mp.get_context("spawn")
        self.stuck_after = stuck_after
        ctx = self.mp_context
        token = f"{os.getpid()}-{secrets.token_hex(4)}"  # the pid: a test can tell this daemon's blocks
        self._buffers: dict[str, CameraBuffers] = {}
        self._channels: dict[str, DetectorChannel] = {}
        self.requests = RequestQueue(ctx)
        self._spares = [f"{_SPARE}{i}" for i in range(extra_channels)]
        try:
            for index, camera in enumerate([*camera_names, *self._spares]):
                channel = DetectorChannel(
                    camera=camera,
                    camera_index=index,
                    input_name=f"fl-det-{token}-{index}-in",
                    output_name=f"fl-det-{token}-{index}-out",
                    width=model.width,
                    height=model.height,
                    requests=self.requests,
                    response=ctx.Semaphore(0),
                )
                self._buffers[camera] = CameraBuffers.create(
                    channel.input_name, channel.output_name, model.width, model.height
                )
                self._channels[camera] = channel
        except BaseException:
            self._release_memory()
            raise
        self._stopping = ctx.RawValue(ctypes.c_bool, False)
        self.metrics: dict[str, DetectorMetrics] = {name: DetectorMetrics.create(ctx) for name in detectors}
        self._workers = {
            name: DetectorProcess(
                name,
                model,
                config,
                sorted(self._channels.values(), key=lambda c: c.camera_index),  # a request names its index
                self.requests,
                self.metrics[name],
                self._stopping,
                log_setup,
                model_cache_dir,
            )
            for name, config in detectors.items()
        }
        self._processes: dict[str, BaseProcess] = {}
        self._runtimes: dict[str, RuntimeInfo] = {}
        self.restart_reasons: dict[str, str] = {}  # why check() last restarted each detector
        self._replaced: set[str] = set()  # restarted by check(), not serving yet
        self._backoff = {name: RestartBackoff() for name in detectors}  # a detector that dies at start waits
        self._lock = threading.Lock()
        self._stopped = False

    def channel(self, camera: str) -> DetectorChannel:
        try:
            return self._channels[camera]
        except KeyError:
            raise NotFound(f"no detector channel for camera {camera!r}") from None

    def assign_channel(self, camera: str) -> DetectorChannel:
        """A spare channel for a camera added at run time; ``Conflict`` when none is left."""
        with self._lock:
            if camera in self._channels:
                raise Conflict(f"camera {camera!r} already has a detector channel")
            if not self._spares:
                raise Conflict("no spare detector channel left for another camera")
            spare = self._spares.pop()
            channel = dataclasses.replace(self._channels.pop(spare), camera=camera)
            self._channels[camera] = channel
            self._buffers[camera] = self._buffers.pop(spare)
            return channel

    def release_channel(self, camera: str) -> None:
        """Gives a removed camera's channel back (its process must have ended)."""
        with self._lock:
            channel = self._channels.pop(camera, None)
            if channel is None:
                return
            spare = f"{_SPARE}{channel.camera_index}"
            self._channels[spare] = dataclasses.replace(channel, camera=spare)
            self._buffers[spare] = self._buffers.pop(camera)
            self._spares.append(spare)

    @property
    def spare_channels(self) -> int:
        return len(self._spares)

    def start(self, timeout: float = 60.0) -> None:
        """Start every detector and wait until each has loaded its model.

        Raises ``DetectorUnavailable`` (after stopping everything) when one cannot start.
        """
        with self._lock:
            if self._stopped or self._processes:
                raise RuntimeError("a DetectorHub starts once")
            waiting = {name: self._spawn(name) for name in self._workers}
        deadline = time.monotonic() + timeout
        failures = []
        for name, ready in waiting.items():
            try:
                if not ready.poll(max(0.0, deadline - time.monotonic())):
                    failures.append(f"detector {name} did not start within {timeout:g} s")
                elif isinstance(message := ready.recv(), RuntimeInfo):
                    self._runtimes[name] = message
                else:
                    failures.append(f"detector {name}: {message}")
            except EOFError:
                failures.append(f"detector {name} exited while starting (see its log)")
            finally:
                ready.close()
        if failures:
            self.stop()
            raise DetectorUnavailable("; ".join(failures))
        logger.info("started %d detector(s): %s", len(waiting), ", ".join(waiting))

    def _spawn(self, name: str) -> Connection:
        ready_reader, ready_writer = self.mp_context.Pipe(duplex=False)
        self.metrics[name].detection_start.value = 0.0
        self.metrics[name].heartbeat.value = self.metrics[name].alive.value = time.time() + START_GRACE
        self.metrics[name].serving.value = 0.0
        process = self.mp_context.Process(  # type: ignore[attr-defined]
            target=self._workers[name].run, args=(ready_writer,), name=f"detector:{name}", daemon=True
        )
        process.start()
        ready_writer.close()  # the child holds its own copy; EOF here means it died
        self._processes[name] = process
        self._backoff[name].started()
        return ready_reader

    def check(self) -> list[str]:
        """Restart detectors that died or are stuck in one detection; returns their names.

        Call it every half second from the app's watchdog (``supervise.ProcessWatchdog``, which also
        wakes on a process's exit). It does not wait for the new process to load its model; one that
        dies within 10 s of its start is started again after 1 s, doubling to 30 s (``RestartBackoff``).

        Three signs, three bounds: exited (at once: the watchdog waits on ``sentinels()``); the
        liveness beat stale for ``STALL_AFTER`` s (the process is stopped or frozen); the serving loop
        silent, or one inference running, for ``stuck_after`` s (wedged: a slow inference on a
        loaded CPU takes well under that, and does not stop the beat).
        """
        restarted: list[str] = []
        with self._lock:
            if self._stopped:
                return restarted
            now = time.time()
            for name, process in list(self._processes.items()):
                started = self.metrics[name].detection_start.value
                silent = now - self.metrics[name].heartbeat.value
                stopped = now - self.metrics[name].alive.value
                if not process.is_alive():
                    if not self._backoff[name].ready():  # at once, unless it died soon after its start
                        continue
                    reason = f"exited (code {process.exitcode})"
                elif stopped > STALL_AFTER:
                    reason = f"no sign of life for {stopped:.1f} s (stopped or frozen)"
                elif started and now - started > self.stuck_after:
                    reason = f"stuck in one detection for {now - started:.1f} s"
                elif not started and silent > self.stuck_after:
                    reason = f"no sign of life for {silent:.1f} s (stopped or wedged)"
                else:
                    continue
                logger.error("detector %s %s; restarting", name, reason)
                self.restart_reasons[name] = reason
                if process.is_alive():
                    process.kill()  # SIGKILL also ends a SIGSTOPped process
                    process.join(POLL_SECONDS * 5)
                if not process.is_alive():
                    process.close()
                self._spawn(name).close()
                self._replaced.add(name)
                restarted.append(name)
        return restarted

    # -- supervise.Watched: the app's watchdog ------------------------------------------------------
    def names(self) -> list[str]:
        return list(self._workers)

    def sentinels(self) -> list[int]:
        """Handles that become ready when a detector process exits (``multiprocessing.connection.wait``)."""
        with self._lock:
            return [p.sentinel for p in self._processes.values() if p.exitcode is None]

    def replace_failed(self) -> dict[str, str]:
        """``check()`` with the reasons: ``{detector: why it was replaced}``."""
        return {name: self.restart_reasons.get(name, "restarted") for name in self.check()}

    def recovered(self) -> list[str]:
        """Detectors replaced by ``check()`` that serve again (model loaded) since the last call."""
        with self._lock:
            back = [name for name in self._replaced if self.metrics[name].serving.value > 0.0]
            self._replaced.difference_update(back)
        return back

    def stats(self) -> dict[str, dict[str, float | int | str | None]]:
        """Per detector: ``detection_start`` (epoch s while an inference runs, else 0.0),
        ``inference_speed`` (ms, moving average), ``pid`` (None when not running), ``runtime``
        and ``runtime_reason`` (what it runs on and why; None until it has started once)."""
        with self._lock:
            pids = {name: process.pid for name, process in self._processes.items()}
        return {
            name: {
                "detection_start": metrics.detection_start.value,
                "inference_speed": round(metrics.inference_speed.value, 2),
                "pid": pids.get(name),
                "runtime": self._runtimes[name].runtime if name in self._runtimes else None,
                "runtime_reason": self._runtimes[name].reason if name in self._runtimes else None,
            }
            for name, metrics in self.metrics.items()
        }

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every detector (join ≤ ``timeout`` s, then terminate, then kill); unlink the memory."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self._stopping.value = True
            processes = list(self._processes.values())
            self._processes.clear()
            for _ in processes:
                self.requests.put(WAKE, 0)  # wake idle detectors now rather than at their next poll
            deadline = time.monotonic() + timeout
            for process in processes:
                process.join(max(0.0, deadline - time.monotonic()))
            for process in processes:
                if process.is_alive():
                    logger.warning("detector %s did not stop in %g s; terminating", process.name, timeout)
                    process.terminate()
                    process.join(POLL_SECONDS)
                if process.is_alive():
                    process.kill()
                    process.join(POLL_SECONDS)
                if not process.is_alive():
                    process.close()
            self._release_memory()
            self.requests.close()
        logger.debug("detector hub stopped")

    def _release_memory(self) -> None:
        for buffers in self._buffers.values():
            buffers.close()
            buffers.unlink()
        self._buffers.clear()

    def __enter__(self) -> DetectorHub:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
