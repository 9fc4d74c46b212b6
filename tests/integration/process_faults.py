"""Process faults injected into a running daemon, and what they cost: the fault tests and
``bench/faults.py`` share them.

Each injector kills or stops one process of the daemon and polls ``/api/stats`` until it has been
replaced, returning a :class:`Recovery`: how long that took, and what ``service.health`` said of the
part meanwhile (the entry, whether it went not ok, its error). The footage lost is read afterwards
from the recordings table (:func:`longest_hole`), once the daemon has stopped and moved its
segments there.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.integration.checks import descendants, is_gone
from tests.integration.daemon import Daemon, demo_config

POLL_S = 0.05
RECORD_ARGS = "-f segment -segment_time 5 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c:v copy -an"
INPUT_ROLES = "detect+clips+record"  # the recovery config's input: one ffmpeg for all its roles


def recovery_config(tmp_path: Path) -> dict[str, Any]:
    """The person video looped in real time: detect, clips and 24/7 recording in 5 s segments."""
    cfg = demo_config(tmp_path, loop=True, fps=5)
    cam = cfg["cameras"]["demo"]
    cam["ffmpeg"]["inputs"][0]["roles"] = ["detect", "clips", "record"]
    cam["ffmpeg"]["output_args"] = {"record": RECORD_ARGS}
    cam["record"] = {"enabled": True}
    return cfg


@dataclass
class Recovery:
    fault: str
    at: float  # epoch s of the fault
    replaced_after: float | None = None  # s until a new process ran in its place (None: not within the timeout)
    entry: str | None = None  # the service.health entry that names the part
    seen_not_ok: bool = False
    error: str | None = None  # the entry's error while not ok
    ok_after: float | None = None  # s until the entry was ok again
    notes: dict[str, Any] = field(default_factory=dict)


def segment_ffmpeg(camera_pid: int) -> int | None:
    """The camera process's ffmpeg that writes segments (``-f segment``): the input's one ffmpeg, which
    detects too, or after a split the one that only copies."""
    for pid in sorted(descendants(camera_pid)):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"segment" in args:
            return pid
    return None


def _health(daemon: Daemon) -> dict[str, Any]:
    return dict(daemon.get_json("/api/stats")["service"].get("health") or {})


def _watch(
    daemon: Daemon, recovery: Recovery, entry: str, replaced: Any, timeout: float, ok_timeout: float
) -> Recovery:
    """Polls until ``replaced()`` and the entry is ok again (or the timeouts)."""
    recovery.entry = entry
    deadline = recovery.at + timeout
    while time.time() < recovery.at + max(timeout, ok_timeout):
        stats = daemon.get_json("/api/stats")
        now = time.time()
        if recovery.replaced_after is None and now < deadline and replaced(stats):
            recovery.replaced_after = now - recovery.at
        state = (stats["service"].get("health") or {}).get(entry)
        if state is not None and not state["ok"]:
            recovery.seen_not_ok = True
            recovery.error = state["error"]
        elif state is not None and recovery.seen_not_ok and recovery.ok_after is None:
            recovery.ok_after = now - recovery.at
        if recovery.replaced_after is not None and (recovery.ok_after is not None or state is None):
            break
        if recovery.replaced_after is not None and now > recovery.at + ok_timeout:
            break
        time.sleep(POLL_S)
    return recovery


def kill_camera_process(daemon: Daemon, camera: str = "demo", timeout: float = 30, ok_timeout: float = 30) -> Recovery:
    """Replaced = the new camera process runs (its pid in stats: ``notes["process_after"]``) and has
    started its detect ffmpeg."""
    before = daemon.get_json("/api/stats")[camera]
    old, old_ffmpeg = int(before["pid"] or 0), int(before["capture_pid"] or 0)
    assert old, "no camera process"
    recovery = Recovery("camera process SIGKILL", time.time())
    os.kill(old, signal.SIGKILL)

    def replaced(stats: dict[str, Any]) -> bool:
        if stats[camera]["pid"] in (None, 0, old):
            return False
        recovery.notes.setdefault("process_after", time.time() - recovery.at)
        return stats[camera]["capture_pid"] not in (None, 0, old_ffmpeg)

    return _watch(daemon, recovery, f"camera:{camera}", replaced, timeout, ok_timeout)


def stop_detector(daemon: Daemon, detector: str = "cpu", timeout: float = 30, ok_timeout: float = 30) -> Recovery:
    old = int(daemon.get_json("/api/stats")["detectors"][detector]["pid"] or 0)
    assert old, "no detector process"
    recovery = Recovery("detector SIGSTOP", time.time())
    os.kill(old, signal.SIGSTOP)

    def replaced(stats: dict[str, Any]) -> bool:
        return stats["detectors"][detector]["pid"] not in (None, old)

    try:
        return _watch(daemon, recovery, f"detector:{detector}", replaced, timeout, ok_timeout)
    finally:
        if not is_gone(old):
            os.kill(old, signal.SIGKILL)


def kill_segment_ffmpeg(
    daemon: Daemon, camera: str = "demo", roles: str = INPUT_ROLES, timeout: float = 30, ok_timeout: float = 30
) -> Recovery:
    camera_pid = int(daemon.get_json("/api/stats")[camera]["pid"] or 0)
    old = segment_ffmpeg(camera_pid)
    assert old is not None, "no segment ffmpeg"
    recovery = Recovery("segment ffmpeg SIGKILL", time.time())
    os.kill(old, signal.SIGKILL)

    def replaced(_stats: dict[str, Any]) -> bool:
        return segment_ffmpeg(camera_pid) not in (None, old)

    return _watch(daemon, recovery, f"ffmpeg:{camera}:{roles}", replaced, timeout, ok_timeout)


def recordings(db_path: Path) -> list[tuple[float, float]]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT start_time, end_time FROM recordings ORDER BY start_time").fetchall()
    return [(float(start), float(end)) for start, end in rows]


def longest_hole(rows: list[tuple[float, float]], start: float, end: float) -> float:
    """The longest stretch in ``[start, end]`` (epoch s) that no recording covers."""
    covered_to, longest = start, 0.0
    for row_start, row_end in rows:
        if row_end <= covered_to:
            continue
        if row_start >= end:
            break
        longest = max(longest, min(row_start, end) - covered_to)
        covered_to = max(covered_to, row_end)
    return max(longest, end - covered_to)
