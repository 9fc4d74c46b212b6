"""The shared-memory frame ring across real processes, and its resource_tracker hygiene."""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from frigate_like.video.frames import FrameRing, ring_bytes, shm_name_for

W, H, SLOTS = 64, 48, 4
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def ring() -> Iterator[FrameRing]:
    ring = FrameRing.create(shm_name_for("test"), W, H, SLOTS)
    try:
        yield ring
    finally:
        ring.close()
        ring.unlink()


def shm_exists(name: str) -> bool:
    return Path("/dev/shm", name).exists()


def _child_reads_and_writes(name: str, results: mp.Queue[tuple[int, float, int]]) -> None:
    """Runs in a spawned process: reports slot 1's checksum and time, then fills slot 2."""
    ring = FrameRing.attach(name, W, H, SLOTS)
    results.put((int(ring.frame(1).astype(np.int64).sum()), ring.frame_time(1), int(ring.frame(1)[5, 7])))
    ring.begin_write(2)
    ring.frame(2)[:] = 99
    ring.set_frame_time(2, 1234.5)
    ring.close()


def test_spawned_process_sees_the_same_bytes_both_ways(ring: FrameRing) -> None:
    frame = ring.frame(1)
    assert frame.shape == (H * 3 // 2, W) and frame.dtype == np.uint8
    rng = np.random.default_rng(1)
    ring.begin_write(1)
    frame[:] = rng.integers(0, 256, frame.shape, dtype=np.uint8)
    ring.set_frame_time(1, 1000.25)

    ctx = mp.get_context("spawn")
    results: mp.Queue[tuple[int, float, int]] = ctx.Queue()
    child = ctx.Process(target=_child_reads_and_writes, args=(ring.name, results))
    child.start()
    checksum, frame_time, pixel = results.get(timeout=30)
    child.join(30)
    results.close()
    results.join_thread()
    assert child.exitcode == 0
    assert (checksum, frame_time, pixel) == (int(frame.astype(np.int64).sum()), 1000.25, int(frame[5, 7]))
    assert ring.frame_time(2) == 1234.5 and (ring.frame(2) == 99).all()
    assert shm_exists(ring.name)  # the child's exit unlinked nothing


def test_unrelated_process_attach_leaves_the_block_and_warns_nothing(ring: FrameRing) -> None:
    """An independent interpreter has its own resource_tracker: the classic cpython#82300 trap."""
    code = (
        "from frigate_like.video.frames import FrameRing\n"
        f"r = FrameRing.attach({ring.name!r}, {W}, {H}, {SLOTS})\n"
        "r.frame(0)[0, 0] = 7\n"
        "r.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no "resource_tracker: ... leaked shared_memory" warning
    assert shm_exists(ring.name)
    assert ring.frame(0)[0, 0] == 7


def test_read_copy_is_none_once_the_slot_moves_on(ring: FrameRing) -> None:
    assert math.isnan(ring.frame_time(0))
    assert ring.read_copy(0, 5.0) is None  # never written
    ring.begin_write(0)
    ring.frame(0)[:] = 3
    ring.set_frame_time(0, 5.0)
    copy = ring.read_copy(0, 5.0)
    assert copy is not None and (copy == 3).all()
    assert not np.shares_memory(copy, ring.frame(0))
    out = np.zeros((H * 3 // 2, W), np.uint8)
    assert ring.read_copy(0, 5.0, out) is out and (out == 3).all()

    ring.begin_write(0)  # the writer starts on the slot: the old frame is gone
    assert math.isnan(ring.frame_time(0))
    assert ring.read_copy(0, 5.0) is None
    ring.frame(0)[:] = 4
    ring.set_frame_time(0, 6.0)
    assert ring.read_copy(0, 5.0) is None
    again = ring.read_copy(0, 6.0)
    assert again is not None and (again == 4).all()


def test_read_copy_detects_a_write_that_started_during_the_copy(
    ring: FrameRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    ring.begin_write(3)
    ring.set_frame_time(3, 9.0)
    real_copyto = np.copyto

    def copy_while_the_writer_starts(dst: np.ndarray, src: np.ndarray) -> None:
        real_copyto(dst, src)
        ring.begin_write(3)  # what a concurrent capture does between the reader's two checks

    monkeypatch.setattr(np, "copyto", copy_while_the_writer_starts)
    assert ring.read_copy(3, 9.0, np.empty((H * 3 // 2, W), np.uint8)) is None


def test_interrupted_write_stays_unreadable_until_the_next_frame(ring: FrameRing) -> None:
    ring.begin_write(2)
    ring.begin_write(2)  # ffmpeg died mid-frame, the next run starts on the same slot
    ring.set_frame_time(2, 1.0)
    assert ring.read_copy(2, 1.0) is not None


def test_unlink_removes_the_block_and_attach_checks_geometry() -> None:
    name = shm_name_for("geometry")
    ring = FrameRing.create(name, W, H, SLOTS)
    assert shm_exists(name) and os.stat(f"/dev/shm/{name}").st_size == ring_bytes(W, H, SLOTS)
    with pytest.raises(ValueError, match="not a 64x48x5 frame ring"):
        FrameRing.attach(name, W, H, SLOTS + 1)
    with pytest.raises(FileExistsError):
        FrameRing.create(name, W, H, SLOTS)
    attached = FrameRing.attach(name, W, H, SLOTS)
    with pytest.raises(RuntimeError, match="only its creator unlinks"):
        attached.unlink()
    attached.close()
    ring.close()
    ring.unlink()
    assert not shm_exists(name)
    with pytest.raises(FileNotFoundError):
        FrameRing.attach(name, W, H, SLOTS)
    with pytest.raises(ValueError, match="even width and height"):
        FrameRing.create(name, 63, 48, 2)


def test_close_with_a_live_view_warns_instead_of_raising(caplog: pytest.LogCaptureFixture) -> None:
    ring = FrameRing.create(shm_name_for("view"), W, H, 2)
    view = ring.frame(0)
    with caplog.at_level(logging.WARNING, logger="frigate_like.video.frames"):
        ring.close()
    ring.close()  # idempotent
    ring.unlink()
    assert "still in use" in caplog.text
    del view


def test_names_are_unique_per_daemon_instance() -> None:
    a, b = shm_name_for("back"), shm_name_for("back")
    assert a != b and a.startswith(f"fl_{os.getpid()}_") and a.endswith("_back")
    assert shm_name_for("back", instance="x") == "fl_x_back"


def test_creator_killed_without_unlink_is_cleaned_up_by_its_tracker() -> None:
    code = (
        "import sys, time\n"
        "from frigate_like.video.frames import FrameRing, shm_name_for\n"
        "r = FrameRing.create(shm_name_for('crash'), 64, 48, 2)\n"
        "print(r.name, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        name = proc.stdout.readline().strip()
        assert shm_exists(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10
        while shm_exists(name) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not shm_exists(name)
    finally:
        proc.kill()
        proc.wait()
        proc.communicate()
