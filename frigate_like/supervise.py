"""One way to run a background thread: exceptions logged with context, the work restarted with
backoff, and per-subsystem health (ok / last error / restarts / backlog) for ``/api/stats``.

A subsystem that is not a thread of its own (the detectors, a disk) gets a ``Health`` handle
from ``Supervisor.health`` and reports through it; a thread's body may report through its
handle too (e.g. the event writer while the database refuses writes: still running, not ok).
Parts whose health is kept in another process (each camera's ffmpegs) add their entries with
``Supervisor.add_entries``, in the same shape (:func:`health_entry`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Collection
from multiprocessing.connection import wait
from typing import Any, Protocol

logger = logging.getLogger(__name__)

FIRST_BACKOFF = 1.0  # seconds before the first restart of a failed thread
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0  # a run this long resets the backoff: the failure was not a crash loop
WATCH_TICK = 0.5  # s between the process watchdog's checks when no process exits meanwhile
REAP_SETTLE = 0.05  # s before the next check after a process's exit woke the watchdog


def health_entry(
    ok: bool,
    error: str | None,
    last_error: str | None,
    last_error_time: float | None,
    restarts: int,
    backlog: int | None = None,
    failing_since: float | None = None,
) -> dict[str, Any]:
    """One ``service.health`` entry: ``error`` is set while not ok; the last error (and when, epoch s)
    stays visible once ok again. ``failing_since`` (epoch s, None while ok): when it stopped being ok,
    for the container health check (how long a part has been down, whatever it retried meanwhile)."""
    return {
        "ok": ok,
        "error": error,
        "last_error": last_error,
        "last_error_time": last_error_time,
        "restarts": restarts,
        "backlog": backlog,
        "failing_since": failing_since if not ok else None,
    }


class Health:
    """The health of one subsystem. Thread-safe; written by the subsystem, read by stats."""

    def __init__(self, name: str, backlog: Callable[[], int] | None = None) -> None:
        self.name = name
        self._backlog = backlog
        self._lock = threading.Lock()
        self._error: str | None = None  # set while failing; cleared by ok()
        self._last_error: str | None = None
        self._last_error_time: float | None = None
        self._failing_since: float | None = None
        self._restarts = 0

    def failed(self, error: BaseException | str) -> None:
        """The subsystem is not doing its work (it may still be running and retrying)."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        with self._lock:
            self._error = self._last_error = text
            self._last_error_time = time.time()
            if self._failing_since is None:
                self._failing_since = self._last_error_time

    def ok(self) -> None:
        """Working again; the last error stays visible."""
        with self._lock:
            self._error = None
            self._failing_since = None

    def restarted(self, reason: BaseException | str | None = None) -> None:
        if reason is not None:
            self.failed(reason)
        with self._lock:
            self._restarts += 1

    def set_backlog(self, backlog: Callable[[], int]) -> None:
        self._backlog = backlog

    @property
    def is_ok(self) -> bool:
        return self._error is None

    @property
    def restarts(self) -> int:
        return self._restarts

    def snapshot(self) -> dict[str, Any]:
        backlog = None
        if self._backlog is not None:
            try:
                backlog = int(self._backlog())
            except Exception as exc:  # stats must never fail because one counter did
                backlog = None
                logger.debug("backlog of %s unavailable: %s", self.name, exc)
        with self._lock:
            return health_entry(
                self._error is None, self._error, self._last_error, self._last_error_time, self._restarts, backlog,
                self._failing_since,
            )  # fmt: skip


class Supervisor:
    """Runs background threads until ``stop`` is set and keeps every subsystem's ``Health``.

    A thread body is a callable that works until ``stop`` is set. If it raises, or returns
    while ``stop`` is not set, the exception is logged (with the subsystem's name) and the body
    is called again after a backoff (1 s doubling to 30 s; reset after a run of 60 s).
    """

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self._lock = threading.Lock()
        self._health: dict[str, Health] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._sources: list[Callable[[], dict[str, dict[str, Any]]]] = []

    def health(self, name: str, backlog: Callable[[], int] | None = None) -> Health:
        """The handle of subsystem ``name`` (created on first use)."""
        with self._lock:
            handle = self._health.get(name)
            if handle is None:
                handle = self._health[name] = Health(name, backlog)
            elif backlog is not None:
                handle.set_backlog(backlog)
            return handle

    def add_entries(self, source: Callable[[], dict[str, dict[str, Any]]]) -> None:
        """Entries kept elsewhere (e.g. in a camera process's shared memory), read at each ``stats()``:
        ``source()`` returns ``{name: health_entry(...)}``."""
        with self._lock:
            self._sources.append(source)

    def drop(self, name: str) -> None:
        """Forgets subsystem ``name`` (a camera removed at run time)."""
        with self._lock:
            self._health.pop(name, None)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._health)

    def spawn(
        self,
        name: str,
        body: Callable[[], object],
        backlog: Callable[[], int] | None = None,
        *,
        until: threading.Event | None = None,
    ) -> Health:
        """Starts thread ``name`` running ``body`` under supervision; returns its health handle.

        ``until``: the thread's own stop, for a part stopped before the others (the WebSocket hub);
        the body returning once it is set is the end, not a failure. Default: the supervisor's stop.
        """
        health = self.health(name, backlog)
        thread = threading.Thread(
            target=self._run, args=(name, body, health, until or self._stop), name=name, daemon=True
        )
        with self._lock:
            self._threads[name] = thread
        thread.start()
        return health

    def _run(self, name: str, body: Callable[[], object], health: Health, until: threading.Event) -> None:
        backoff = FIRST_BACKOFF
        while not (self._stop.is_set() or until.is_set()):
            started = time.monotonic()
            try:
                body()
            except Exception as exc:
                backoff = FIRST_BACKOFF if time.monotonic() - started >= STABLE_AFTER else backoff
                logger.error("%s failed; restarting in %.0f s", name, backoff, exc_info=True)
                health.restarted(exc)
            else:
                if self._stop.is_set() or until.is_set():
                    return
                backoff = FIRST_BACKOFF if time.monotonic() - started >= STABLE_AFTER else backoff
                logger.error("%s returned before shutdown; restarting in %.0f s", name, backoff)
                health.restarted(f"{name} returned before shutdown")
            if until.wait(backoff) or self._stop.is_set():
                return
            health.ok()
            backoff = min(backoff * 2, MAX_BACKOFF)

    def join(self, timeout: float, names: Collection[str] | None = None) -> None:
        """Waits for every thread, or those named in ``names`` (call after setting their stop),
        ``timeout`` s in all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = [t for name, t in self._threads.items() if names is None or name in names]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                logger.warning("thread %s did not stop in time", thread.name)

    def stats(self) -> dict[str, dict[str, Any]]:
        """``{subsystem: {ok, error, last_error, last_error_time, restarts, backlog}}`` for ``/api/stats``."""
        with self._lock:
            handles = dict(self._health)
            sources = list(self._sources)
        entries = {name: handle.snapshot() for name, handle in handles.items()}
        for source in sources:
            try:
                entries.update(source())
            except Exception as exc:  # stats must never fail because one source did
                logger.debug("health entries unavailable: %s", exc)
        return dict(sorted(entries.items()))


class RestartBackoff:
    """When to start a child process again: at once after a run of ``stable_after`` s or more (it
    worked, then died: every second of delay is lost footage), after 1 s doubling to ``most`` s
    after shorter runs (a crash loop must not eat the CPU with a start per watchdog wake-up)."""

    def __init__(self, first: float = FIRST_BACKOFF, most: float = MAX_BACKOFF, stable_after: float = 10.0) -> None:
        self._first, self._most, self._stable_after = first, most, stable_after
        self._next = first
        self._started = time.monotonic()
        self.due: float | None = None  # monotonic time of the next start, once a death was seen

    def started(self) -> None:
        self._started = time.monotonic()
        self.due = None

    def ready(self) -> bool:
        """Called while the process is dead: True once it may be started again."""
        now = time.monotonic()
        if self.due is None:
            if now - self._started >= self._stable_after:
                self._next, delay = self._first, 0.0
            else:
                delay, self._next = self._next, min(self._next * 2.0, self._most)
            self.due = now + delay
        return now >= self.due


class Watched(Protocol):
    """Child processes the :class:`ProcessWatchdog` keeps running (the detectors, the camera processes)."""

    def names(self) -> list[str]: ...

    def sentinels(self) -> list[int]:
        """Handles that become ready when one of the processes exits."""
        ...

    def replace_failed(self) -> dict[str, str]:
        """Replaces the processes that died or stopped: ``{name: why}`` of those replaced now."""
        ...

    def recovered(self) -> list[str]:
        """Names replaced earlier whose new process works now (reported once)."""
        ...


class ProcessWatchdog:
    """Replaces dead or stopped child processes and keeps their ``<kind>:<name>`` health entries.

    Each watched kind has an entry per process from the start: not ok with the reason when its
    process is replaced, ok again once the new one works. The loop waits on the processes'
    sentinels, so a death is handled at once rather than at the next poll, and looks every
    ``tick`` s anyway for what a sentinel does not show (a stopped process's stale heartbeat).
    """

    def __init__(self, stop: threading.Event, supervisor: Supervisor, tick: float = WATCH_TICK) -> None:
        self._stop = stop
        self._supervisor = supervisor
        self._tick = tick
        self._watched: list[tuple[str, Watched]] = []

    def watch(self, kind: str, watched: Watched) -> None:
        self._watched.append((kind, watched))

    def run(self) -> None:
        timeout = self._tick
        while not self._stop.is_set():
            handles = [handle for _, watched in self._watched for handle in watched.sentinels()]
            try:
                ready = wait(handles, timeout)  # returns as soon as one of them exits
            except (OSError, ValueError):  # a handle closed meanwhile: look again after a tick
                ready = []
                self._stop.wait(self._tick)
            if not self._stop.is_set():
                self.check()
            # A sentinel is ready a moment before its process can be reaped (is_alive() still True): look
            # again soon rather than after a tick, since that process's sentinel is no longer waited on.
            timeout = REAP_SETTLE if ready else self._tick

    def check(self) -> None:
        for kind, watched in self._watched:
            try:
                self._check(kind, watched)
            except Exception:
                logger.exception("%s check failed", kind)

    def _check(self, kind: str, watched: Watched) -> None:
        names = {f"{kind}:{name}" for name in watched.names()}
        for entry in self._supervisor.names():
            if entry.startswith(f"{kind}:") and entry not in names:
                self._supervisor.drop(entry)  # its camera was removed
        for entry in names:
            self._supervisor.health(entry)
        for name, why in watched.replace_failed().items():
            self._supervisor.health(f"{kind}:{name}").restarted(why)
        for name in watched.recovered():
            self._supervisor.health(f"{kind}:{name}").ok()


def spawning_parent_pid() -> int:
    """In a child process: the pid of the daemon that started it, as recorded at the spawn.

    A child compares ``os.getppid()`` against this to notice the daemon was killed (-9). Asking
    ``os.getppid()`` itself at start-up is not enough: a daemon killed before that moment makes the
    child read 1 (it was re-parented already), and it would then never see a change and outlive it.
    """
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        return parent.pid
    return os.getppid()
