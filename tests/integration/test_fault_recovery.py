"""Processes killed or stopped under a running daemon: each is replaced within its bound, its
``service.health`` entry goes not ok naming the part and comes back ok, and the recordings lose no
more footage than the bound says (issue 18, items 5 and 6).

The bounds asserted are looser than the targets (the machine runs other work): the targets are in
the comments and the figures in BENCHMARKS.md ("Process faults").
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frigate_like.health import check
from tests.integration.daemon import Daemon
from tests.integration.process_faults import (
    INPUT_ROLES,
    kill_camera_process,
    kill_segment_ffmpeg,
    longest_hole,
    recordings,
    recovery_config,
    stop_detector,
)

pytestmark = pytest.mark.slow

# Targets (on an idle machine) and what is asserted here (a loaded 2-core machine)
CAMERA_REPLACED_S = 4.0  # target ≤ 2 s: a sentinel wakes the watchdog at once, the new process imports
DETECTOR_REPLACED_S = 5.0  # target ≤ 3 s: the liveness beat stale for 2 s + a 0.5 s tick
SEGMENT_HOLE_S = 2.0  # target ≤ 1 s: a killed ffmpeg started again in the same pass
CAMERA_HOLE_S = 5.0  # the new camera process's imports + its ffmpeg's start


def health(daemon: Daemon) -> dict[str, Any]:
    return dict(daemon.get_json("/api/stats")["service"]["health"])


def all_ok(daemon: Daemon) -> bool:
    entries = health(daemon)
    parts = {"camera:demo", "detector:cpu", f"ffmpeg:demo:{INPUT_ROLES}"}
    return parts <= set(entries) and all(entries[name]["ok"] for name in parts)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A running daemon whose every part is ok and has written at least one record segment."""
    running = Daemon(tmp_path, recovery_config(tmp_path))
    running.start()
    try:
        running.wait_for(lambda: running.get_json("/api/stats")["demo"]["camera_fps"] > 0, 60, what="frames")
        running.wait_for(lambda: all_ok(running), 30, what="every part ok")
        time.sleep(6)  # a finished record segment before the fault
        yield running
    finally:
        if running.proc is not None and running.proc.poll() is None:
            running.terminate()


def finish(daemon: Daemon, fault_at: float, after: float = 8.0) -> float:
    """Lets the daemon record ``after`` s more (healthy again, for the container's check too), stops it,
    returns the longest recording hole around the fault."""
    time.sleep(after)
    assert check(daemon.port) == [], "the container health check still sees a problem"
    code, _ = daemon.terminate()
    assert code == 0
    assert "Traceback" not in daemon.log(), daemon.log()[-3000:]
    return longest_hole(recordings(daemon.db_path), fault_at - 6.0, fault_at + after - 1.0)


def test_a_killed_camera_process_is_replaced_at_once_and_health_tells(daemon: Daemon) -> None:
    recovery = kill_camera_process(daemon)
    print(recovery)
    assert recovery.replaced_after is not None and recovery.replaced_after <= CAMERA_REPLACED_S, recovery
    assert recovery.seen_not_ok and recovery.error == f"camera process exited with code -{signal.SIGKILL}"
    assert recovery.ok_after is not None, "camera:demo never ok again"
    daemon.wait_for(lambda: all_ok(daemon), 30, what="every part ok again")
    entry = health(daemon)["camera:demo"]
    assert entry["restarts"] == 1 and entry["last_error"] == recovery.error and entry["error"] is None
    assert entry["last_error_time"] >= recovery.at
    hole = finish(daemon, recovery.at)
    print(f"camera process replaced after {recovery.replaced_after:.2f} s; recording hole {hole:.2f} s")
    assert hole <= CAMERA_HOLE_S


def test_a_stopped_detector_is_replaced_within_seconds_and_health_tells(daemon: Daemon) -> None:
    recovery = stop_detector(daemon)
    print(recovery)
    assert recovery.replaced_after is not None and recovery.replaced_after <= DETECTOR_REPLACED_S, recovery
    assert recovery.seen_not_ok and "no sign of life" in (recovery.error or "")
    assert recovery.ok_after is not None, "detector:cpu never ok again"
    entry = health(daemon)["detector:cpu"]
    assert entry["ok"] and entry["restarts"] == 1 and entry["failing_since"] is None
    hole = finish(daemon, recovery.at, after=6.0)
    assert hole <= SEGMENT_HOLE_S, "a detector's stop must not cost footage"


def test_a_killed_ffmpeg_is_restarted_at_once_and_health_tells(daemon: Daemon) -> None:
    """The input's one ffmpeg (detect, clips, record) killed: started again in the same pass, not split
    (a kill is no output failure), and the recordings' hole is that start."""
    recovery = kill_segment_ffmpeg(daemon, roles=INPUT_ROLES)
    print(recovery)
    assert recovery.seen_not_ok and (recovery.error or "").startswith(f"ffmpeg exited with code -{signal.SIGKILL}")
    assert recovery.replaced_after is not None and recovery.replaced_after <= SEGMENT_HOLE_S, recovery
    assert recovery.ok_after is not None, "the ffmpeg's entry never ok again"
    entry = health(daemon)[f"ffmpeg:demo:{INPUT_ROLES}"]
    assert entry["ok"] and entry["restarts"] == 1 and entry["last_error"] == recovery.error
    assert [name for name in health(daemon) if name.startswith("ffmpeg:demo:")] == [f"ffmpeg:demo:{INPUT_ROLES}"]
    hole = finish(daemon, recovery.at)
    print(f"ffmpeg replaced after {recovery.replaced_after:.2f} s; recording hole {hole:.2f} s")
    assert hole <= SEGMENT_HOLE_S
