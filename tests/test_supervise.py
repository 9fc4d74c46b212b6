"""Supervised threads: a failing body is logged with its name, restarted, and its health reported."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frigate_like import supervise
from frigate_like.supervise import RestartBackoff, Supervisor, spawning_parent_pid


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervise, "FIRST_BACKOFF", 0.05)
    monkeypatch.setattr(supervise, "MAX_BACKOFF", 0.2)


def wait_until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_failing_body_is_logged_restarted_and_reported(
    stop: threading.Event, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[int] = []

    def body() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise OSError(28, "No space left on device")
        stop.wait()

    supervisor = Supervisor(stop)
    with caplog.at_level(logging.ERROR, logger="frigate_like.supervise"):
        supervisor.spawn("events", body, backlog=lambda: 7)
        wait_until(lambda: len(runs) == 3)
    health = supervisor.stats()["events"]
    assert health["restarts"] == 2
    assert health["ok"] is True and health["error"] is None  # running again
    assert health["last_error"] == "OSError: [Errno 28] No space left on device"
    assert health["backlog"] == 7
    failures = [r for r in caplog.records if r.getMessage().startswith("events failed")]
    assert len(failures) == 2 and all(r.exc_info for r in failures)  # the traceback goes through the logger
    stop.set()
    supervisor.join(5.0)
    assert not any(t.name == "events" for t in threading.enumerate())


def test_a_body_returning_before_shutdown_is_restarted(stop: threading.Event) -> None:
    runs: list[int] = []

    def body() -> None:
        runs.append(1)
        if len(runs) > 1:
            stop.wait()

    supervisor = Supervisor(stop)
    supervisor.spawn("tracked-objects", body)
    wait_until(lambda: len(runs) == 2)
    assert supervisor.stats()["tracked-objects"]["restarts"] == 1


def test_a_body_ending_at_shutdown_is_not_a_failure(stop: threading.Event) -> None:
    supervisor = Supervisor(stop)
    supervisor.spawn("retention", stop.wait)
    stop.set()
    supervisor.join(5.0)
    assert supervisor.stats()["retention"] == {
        "ok": True, "error": None, "last_error": None, "last_error_time": None, "restarts": 0, "backlog": None,
        "failing_since": None,
    }  # fmt: skip


def test_a_subsystem_reports_failure_and_recovery_through_its_handle(stop: threading.Event) -> None:
    supervisor = Supervisor(stop)
    health = supervisor.health("detector:cpu")
    health.restarted("no sign of life for 12.0 s")
    health.failed("database is locked")
    assert supervisor.stats()["detector:cpu"]["ok"] is False
    health.ok()
    snapshot = supervisor.stats()["detector:cpu"]
    assert snapshot["ok"] is True and snapshot["restarts"] == 1 and snapshot["last_error"] == "database is locked"
    assert supervisor.health("detector:cpu") is health


def test_a_broken_backlog_counter_does_not_break_stats(stop: threading.Event) -> None:
    supervisor = Supervisor(stop)
    supervisor.health("events", backlog=lambda: 1 // 0)
    assert supervisor.stats()["events"]["backlog"] is None


def test_a_thread_with_its_own_stop_ends_before_the_others(stop: threading.Event) -> None:
    """The WebSocket hub's encoder stops before the daemon's threads: its end is no failure."""
    supervisor = Supervisor(stop)
    early, runs = threading.Event(), []

    def encoder() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("encoder broke")
        early.wait()

    supervisor.spawn("ws-frames", encoder, until=early)
    supervisor.spawn("events", stop.wait)
    wait_until(lambda: len(runs) == 2)  # restarted after its failure, as any other thread
    early.set()
    supervisor.join(5.0, names=["ws-frames"])
    alive = {t.name for t in threading.enumerate()}
    assert "ws-frames" not in alive and "events" in alive
    assert supervisor.stats()["ws-frames"]["restarts"] == 1  # the failure, not the end
    stop.set()
    supervisor.join(5.0)
    assert "events" not in {t.name for t in threading.enumerate()}


def test_a_process_that_ran_a_while_restarts_at_once_a_crash_loop_backs_off(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(supervise.time, "monotonic", lambda: now[0])
    backoff = RestartBackoff(first=1.0, most=4.0, stable_after=10.0)
    now[0] += 60.0  # worked for a minute, then died
    assert backoff.ready()
    for delay in (1.0, 2.0, 4.0, 4.0):  # each new process dies at once
        backoff.started()
        now[0] += 0.1
        assert not backoff.ready()
        now[0] += delay - 0.01
        assert not backoff.ready()
        now[0] += 0.01
        assert backoff.ready()
    backoff.started()
    now[0] += 10.0  # this one lasted: at once again, and the next short run waits 1 s
    assert backoff.ready()
    backoff.started()
    assert not backoff.ready()
    now[0] += 1.0
    assert backoff.ready()


class OneProcess:
    """A ``Watched`` of one child process (fork: a sleep), replaced by a new one when it dies."""

    def __init__(self) -> None:
        self.ctx = multiprocessing.get_context("fork")
        self.process = self._start()
        self.deaths: list[float] = []  # monotonic times replace_failed saw it dead
        self.back = False

    def _start(self) -> Any:
        process = self.ctx.Process(target=time.sleep, args=(60,), daemon=True)
        process.start()
        return process

    def names(self) -> list[str]:
        return ["one"]

    def sentinels(self) -> list[int]:
        return [self.process.sentinel] if self.process.exitcode is None else []

    def replace_failed(self) -> dict[str, str]:
        if self.process.is_alive():
            return {}
        self.deaths.append(time.monotonic())
        self.process = self._start()
        self.back = True
        return {"one": "exited"}

    def recovered(self) -> list[str]:
        back, self.back = self.back, False
        return ["one"] if back else []


def test_the_process_watchdog_replaces_a_dead_process_at_once_and_keeps_its_entry(stop: threading.Event) -> None:
    supervisor = Supervisor(stop)
    watched = OneProcess()
    watchdog = supervise.ProcessWatchdog(stop, supervisor, tick=2.0)  # a tick > 1 s: only the sentinel wakes it sooner
    watchdog.watch("thing", watched)
    thread = threading.Thread(target=watchdog.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while "thing:one" not in supervisor.stats() and time.monotonic() < deadline:
            time.sleep(0.01)
        watchdog.check()  # the entry exists from the start, ok
        assert supervisor.stats()["thing:one"]["ok"]
        old = watched.process
        time.sleep(0.2)
        killed = time.monotonic()
        old.kill()
        while not watched.deaths and time.monotonic() < killed + 5:
            time.sleep(0.01)
        assert watched.deaths and watched.deaths[0] - killed < 1.0, "not woken by the sentinel"
        # the entry is written just after replace_failed returns: on a loaded machine, a moment later
        while supervisor.stats()["thing:one"]["restarts"] == 0 and time.monotonic() < killed + 5:
            time.sleep(0.01)
        entry = supervisor.stats()["thing:one"]
        assert entry["restarts"] == 1 and entry["last_error"] == "exited"
    finally:
        stop.set()
        thread.join(10)
        watched.process.kill()


def _report_parent(path: str) -> None:
    time.sleep(1.0)  # by now the process that started this one has exited
    Path(path).write_text(f"{spawning_parent_pid()} {os.getppid()}")


def _start_child_and_die(path: str) -> None:
    multiprocessing.get_context("spawn").Process(target=_report_parent, args=(path,)).start()
    os._exit(0)  # gone before the child asks who its parent is, as a daemon killed with -9


def test_a_child_whose_parent_died_before_it_asked_still_knows_it_was_orphaned(tmp_path: Path) -> None:
    out = tmp_path / "parent.txt"
    middle = multiprocessing.get_context("spawn").Process(target=_start_child_and_die, args=(str(out),))
    middle.start()
    middle.join(10)
    deadline = time.monotonic() + 20
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    recorded, now = (int(v) for v in out.read_text().split())
    assert recorded == middle.pid, "the pid of the process that started it, not the re-parenting one"
    assert now != recorded  # what the camera and detector processes compare to notice they outlived it
