"""CameraCapture with real ffmpeg on the shared footage: frames, segments, restarts, drops, stop."""

from __future__ import annotations

import csv
import logging
import multiprocessing as mp
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from frigate_like.config import CameraConfig, config_from_dict
from frigate_like.video import capture as capture_module
from frigate_like.video.binaries import find_ffmpeg
from frigate_like.video.capture import CameraCapture, CaptureMetrics
from frigate_like.video.frames import FrameRing, shm_name_for
from tests.mounts import fill, tmpfs
from tests.named_pipes import pipe_writer

W, H = 768, 432
PERSON, CAR = "one-by-one-person-detection.mp4", "car-detection.mp4"
LOOP = "-re -stream_loop -1"  # the demo config: the file plays in real time, forever
FAST = {"no_frame_timeout": 2.0, "backoff_start": 0.5, "term_timeout": 1.0}


def camera(shared_dir: Path, media: Path, roles: list[str], *more_inputs: dict[str, Any], **cam: Any) -> CameraConfig:
    raw = {
        "mqtt": {"host": "127.0.0.1"},
        "model": {
            "path": str(shared_dir / "models" / "ssd_mobilenet_v1_coco_quant.tflite"),
            "labelmap_path": str(shared_dir / "models" / "coco_labelmap.txt"),
            "width": 300,
            "height": 300,
        },
        "cameras": {
            "back": {
                "ffmpeg": {
                    "inputs": [{"path": str(media / PERSON), "roles": roles}, *more_inputs],
                    "input_args": LOOP,
                    "output_args": {"clips": "-f segment -segment_time 2 -segment_format mp4 -reset_timestamps 1"
                                    " -strftime 1 -c copy -an"},
                },
                "width": W, "height": H, "fps": 5, **cam,
            }
        },
    }  # fmt: skip
    return config_from_dict(raw).cameras["back"]


@pytest.fixture
def media(shared_dir: Path, tmp_path: Path) -> Path:
    """The footage behind links under tmp_path: the test's path is then in every ffmpeg's argv."""
    folder = tmp_path / "media"
    folder.mkdir()
    for name in (PERSON, CAR):
        (folder / name).symlink_to(shared_dir / "media" / name)
    return folder


def ffmpeg_pids(marker: str) -> list[int]:
    """Live processes whose command line mentions ``marker`` (a /proc scan, no psutil)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and b"ffmpeg" in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


class Rig:
    """A ring, a frames queue, metrics and a capture, torn down in reverse."""

    def __init__(self, cam: CameraConfig, cache: Path, queue_size: int = 4, slots: int = 6, **opts: Any) -> None:
        self.cache, self.marker = cache, str(cache)
        self.ring = FrameRing.create(shm_name_for("capture"), W, H, slots)
        self.frames: queue.Queue[tuple[int, float]] = queue.Queue(maxsize=queue_size)
        self.metrics = CaptureMetrics()
        self.stop_event = threading.Event()
        self.capture = CameraCapture(
            cam, cache, self.ring, self.frames, self.metrics, self.stop_event, find_ffmpeg(),
            logging.getLogger("ffmpeg.back"), **opts,
        )  # fmt: skip

    def close(self) -> None:
        self.capture.stop(timeout=5)
        self.ring.close()
        self.ring.unlink()


@pytest.fixture
def rig_factory(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(cam: CameraConfig, **kwargs: Any) -> Rig:
        rig = Rig(cam, tmp_path / "cache", **kwargs)
        rigs.append(rig)
        return rig

    yield make
    for rig in reversed(rigs):
        rig.close()
    assert ffmpeg_pids(str(tmp_path)) == []


def first_frame(video: Path) -> np.ndarray:
    """An independent decode of the video's first frame, as yuv420p rows."""
    raw = subprocess.run(
        [find_ffmpeg(), "-v", "error", "-i", str(video), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p",
         "-"],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(H * 3 // 2, W)


def test_frames_at_detect_fps_real_image_and_clips_segments(
    shared_dir: Path, media: Path, rig_factory: Callable[..., Rig]
) -> None:
    rig = rig_factory(camera(shared_dir, media, ["detect", "clips"]))
    rig.capture.start()
    slot, t0 = rig.frames.get(timeout=10)
    got = rig.ring.read_copy(slot, t0)
    assert got is not None
    expected = first_frame(shared_dir / "media" / PERSON)
    assert got.std() > 10  # a real picture, not a blank buffer
    assert np.abs(got.astype(np.int16) - expected).mean() < 2.0  # the same picture
    pid = rig.metrics.capture_pid.value
    assert pid in rig.capture.pids

    times = [t0]
    while times[-1] - t0 < 4.0:
        slot, frame_time = rig.frames.get(timeout=5)
        assert rig.ring.frame_time(slot) == frame_time
        times.append(frame_time)
    fps = (len(times) - 1) / (times[-1] - t0)
    assert 4.5 <= fps <= 5.5
    assert 3.5 <= rig.metrics.camera_fps.value <= 6.5
    assert rig.metrics.skipped_frames.value == 0 and rig.metrics.restarts.value == 0
    assert rig.metrics.last_frame_time.value >= times[-1]

    clips = rig.cache / "back" / "clips"
    lists = list(clips.glob("segments-*.csv"))
    assert wait_for(lambda: any(p.read_text() for p in lists), 5)
    rig.capture.stop()
    assert ffmpeg_pids(rig.marker) == []
    assert rig.metrics.capture_pid.value == 0
    [segment_list] = lists
    rows = list(csv.reader(segment_list.read_text().splitlines()))
    # SIGTERM let ffmpeg finish its last segment and list it: every file is listed
    assert sorted(name for name, _, _ in rows) == sorted(p.name for p in clips.glob("*.mp4"))
    assert len(rows) >= 2
    for name, start, end in rows:
        assert (clips / name).stat().st_size > 0 and float(end) > float(start)
        assert len(name) == len("20240101120000.mp4")


def test_killed_ffmpeg_is_restarted_and_frames_resume(
    shared_dir: Path, media: Path, rig_factory: Callable[..., Rig]
) -> None:
    rig = rig_factory(camera(shared_dir, media, ["detect"]), **FAST)
    rig.capture.start()
    rig.frames.get(timeout=10)
    first_pid = rig.metrics.capture_pid.value
    os.kill(first_pid, signal.SIGKILL)
    killed_at = time.time()
    while True:  # drain what was read before the kill
        slot, frame_time = rig.frames.get(timeout=10)
        if frame_time > killed_at + 0.1:
            break
    assert rig.metrics.capture_pid.value not in (0, first_pid)
    assert rig.metrics.restarts.value == 1
    assert rig.metrics.reconnects_last_hour() == 1
    assert killed_at <= rig.metrics.restart_times()[0] <= time.time()
    assert rig.ring.read_copy(slot, frame_time) is not None


def test_stalled_ffmpeg_is_restarted_after_the_no_frame_timeout(
    shared_dir: Path, media: Path, rig_factory: Callable[..., Rig]
) -> None:
    rig = rig_factory(camera(shared_dir, media, ["detect"]), **FAST)
    rig.capture.start()
    rig.frames.get(timeout=10)
    stalled = rig.metrics.capture_pid.value
    os.kill(stalled, signal.SIGSTOP)  # alive but silent, like a camera that stops sending
    stopped_at = time.time()
    slot, frame_time = rig.frames.get(timeout=15)
    while frame_time < stopped_at:
        slot, frame_time = rig.frames.get(timeout=15)
    # SIGTERM stays pending on a stopped process: the SIGKILL after term_timeout ends it
    assert frame_time - stopped_at >= FAST["no_frame_timeout"]
    assert rig.metrics.restarts.value == 1
    assert not Path(f"/proc/{stalled}").exists() or stalled not in ffmpeg_pids(rig.marker)


def test_slow_consumer_drops_frames_and_never_blocks_capture(
    shared_dir: Path, media: Path, rig_factory: Callable[..., Rig]
) -> None:
    rig = rig_factory(camera(shared_dir, media, ["detect"]), queue_size=2, slots=4)
    rig.capture.start()
    assert wait_for(lambda: rig.metrics.skipped_frames.value >= 5, 10)
    assert rig.frames.full()
    frames_then = rig.metrics.frames.value
    assert wait_for(lambda: rig.metrics.frames.value >= frames_then + 5, 5)  # reading goes on
    # the queued frames were never overwritten by the frames dropped after them
    queued = [rig.frames.get_nowait() for _ in range(2)]
    assert queued[0][0] != queued[1][0]
    for slot, frame_time in queued:
        assert rig.ring.read_copy(slot, frame_time) is not None
    assert rig.metrics.skipped_fps.value > 0

    rig.stop_event.set()  # the camera process's stop event alone also stops every ffmpeg
    assert wait_for(lambda: ffmpeg_pids(rig.marker) == [] and rig.capture.pids == [], 8)


def test_pause_drops_frames_but_keeps_ffmpeg_running_and_resumes_at_once(
    shared_dir: Path, media: Path, rig_factory: Callable[..., Rig]
) -> None:
    paused = threading.Event()
    rig = rig_factory(camera(shared_dir, media, ["detect"]), paused=paused, **FAST)
    rig.capture.start()
    rig.frames.get(timeout=10)
    pid = rig.metrics.capture_pid.value
    paused.set()
    assert wait_for(lambda: rig.metrics.camera_fps.value == 0.0, 3)
    while not rig.frames.empty():
        rig.frames.get_nowait()
    counted = rig.metrics.frames.value
    time.sleep(FAST["no_frame_timeout"] + 1.0)  # longer than the no-frame timeout: still no restart
    assert rig.frames.empty() and rig.metrics.frames.value == counted
    assert pid in rig.capture.pids and rig.metrics.capture_pid.value == pid and rig.metrics.restarts.value == 0
    paused.clear()
    slot, frame_time = rig.frames.get(timeout=5)
    assert rig.ring.read_copy(slot, frame_time) is not None
    assert wait_for(lambda: rig.metrics.camera_fps.value > 3, 5)


def test_failing_ffmpeg_is_logged_and_retried_with_growing_backoff(
    shared_dir: Path, media: Path, rig_factory: Callable[..., Rig], caplog: pytest.LogCaptureFixture
) -> None:
    (media / PERSON).unlink()  # the camera "is offline": ffmpeg exits at once
    rig = rig_factory(camera(shared_dir, media, ["detect"]), **FAST)
    with caplog.at_level(logging.INFO):
        rig.capture.start()
        assert wait_for(lambda: rig.metrics.restarts.value >= 2, 5)
    times = rig.metrics.restart_times()
    assert times[1] - times[0] >= 0.9  # the first retry came 0.5 s after a failure, the next 1 s after
    ffmpeg_lines = [r for r in caplog.records if r.name == "ffmpeg.back.detect"]
    assert any("No such file or directory" in r.getMessage() and r.levelno == logging.ERROR for r in ffmpeg_lines)
    assert any("exited with code" in r.getMessage() for r in caplog.records if r.name == "ffmpeg.back")
    assert rig.frames.empty() and rig.metrics.capture_pid.value in (0, *rig.capture.pids)


def test_ring_must_outsize_the_queue(shared_dir: Path, media: Path, tmp_path: Path) -> None:
    cam = camera(shared_dir, media, ["detect"])
    with FrameRing.create(shm_name_for("small"), W, H, 3) as ring:
        try:
            for size in (0, 2):
                with pytest.raises(ValueError, match="needs a frames queue of maxsize"):
                    CameraCapture(cam, tmp_path, ring, queue.Queue(maxsize=size), CaptureMetrics(), threading.Event())
        finally:
            ring.unlink()


def _record_only_camera_process(cam: CameraConfig, cache: str, ring_name: str, pids: mp.Queue[int]) -> None:
    """A stand-in camera process: a detect input and a record-only one, then wait to be killed."""
    ring = FrameRing.attach(ring_name, W, H, 4)
    capture = CameraCapture(cam, Path(cache), ring, queue.Queue(maxsize=2), CaptureMetrics(), threading.Event())
    capture.start()
    while len(capture.pids) < 2:
        time.sleep(0.05)
    for pid in capture.pids:
        pids.put(pid)
    time.sleep(60)


def test_ffmpeg_dies_with_a_killed_camera_process(shared_dir: Path, media: Path, tmp_path: Path) -> None:
    record_only = {"path": str(media / CAR), "roles": ["record"]}
    cam = camera(shared_dir, media, ["detect"], record_only, record={"enabled": True})
    ctx = mp.get_context("spawn")
    pids: mp.Queue[int] = ctx.Queue()
    ring = FrameRing.create(shm_name_for("orphan"), W, H, 4)
    child = ctx.Process(target=_record_only_camera_process, args=(cam, str(tmp_path), ring.name, pids))
    child.start()
    try:
        started = sorted([pids.get(timeout=30), pids.get(timeout=5)])
        assert sorted(ffmpeg_pids(str(tmp_path))) == started
        time.sleep(1.0)
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)  # no stop(), no finally: only the kernel is left
        child.join(10)
        assert wait_for(lambda: ffmpeg_pids(str(tmp_path)) == [], 10)
        # The record ffmpeg has no pipe to break: PR_SET_PDEATHSIG ended it. (Its last segment
        # may be cut: the kernel signals it again each time it is handed to the next dying thread.)
        assert (tmp_path / "back" / "record").is_dir()
    finally:
        if child.is_alive():
            child.kill()
        child.join(10)
        pids.close()
        pids.join_thread()
        for pid in ffmpeg_pids(str(tmp_path)):
            os.kill(pid, signal.SIGKILL)
        ring.close()
        ring.unlink()


def closed_port() -> int:
    with socket.socket() as sock:  # a port nothing listens on: connection refused at once
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_network_source_that_is_down_is_probed_every_second_and_ffmpeg_starts_once_it_answers(
    shared_dir: Path, media: Path, rig_factory: Callable[..., Rig], caplog: pytest.LogCaptureFixture
) -> None:
    url = f"rtsp://127.0.0.1:{closed_port()}/cam"
    source = {"path": url, "roles": ["detect", "clips"], "input_args": "-rtsp_transport tcp"}
    cam = camera(shared_dir, media, ["record"], source, record={"enabled": False})
    probes: list[float] = []
    answers = threading.Event()

    def probe(path: str) -> bool:  # the camera's answer is the test's to give; its ffmpegs are real
        assert path == url
        probes.append(time.monotonic())
        return answers.is_set()

    rig = rig_factory(cam, probe=probe, **FAST)
    with caplog.at_level(logging.DEBUG):
        rig.capture.start()
        assert wait_for(lambda: len(probes) >= 6, 15)  # its ffmpeg failed once (refused), then probes only
        assert rig.metrics.restarts.value == 0, "an ffmpeg was started while the source did not answer"
        gaps = [b - a for a, b in zip(probes[1:], probes[2:], strict=False)]  # [0]: right after the exits
        # one probe per NETWORK_PROBE s, on the 0.5 s tick
        assert all(capture_module.NETWORK_PROBE - 0.1 <= g <= capture_module.NETWORK_PROBE + 1.0 for g in gaps), gaps
        answers.set()
        answered = time.time()
        assert wait_for(lambda: rig.metrics.restarts.value >= 1, 5)
    [first_start] = rig.metrics.restart_times()[:1]  # detect + clips, in the tick of the first "yes"
    assert 0 <= first_start - answered <= capture_module.NETWORK_PROBE + 1.0, (answered, first_start)
    down = [r for r in caplog.records if "is down; probing every" in r.getMessage()]
    assert len(down) == 1, [r.getMessage() for r in down]  # once for the outage, not per probe
    refused = [r for r in caplog.records if r.name == "ffmpeg.back.detect_clips" and r.levelno >= logging.WARNING]
    assert 1 <= len(refused) <= 4, [r.getMessage() for r in refused]  # the first failure only


def test_a_network_source_that_cannot_be_probed_gets_its_ffmpeg_every_few_seconds_not_with_growing_backoff(
    shared_dir: Path, media: Path, rig_factory: Callable[..., Rig]
) -> None:
    source = {"path": f"rtsp://127.0.0.1:{closed_port()}/cam", "roles": ["detect"], "input_args": "-rtsp_transport tcp"}
    cam = camera(shared_dir, media, ["record"], source, record={"enabled": False})
    rig = rig_factory(cam, probe=lambda path: None, **FAST)  # e.g. udp://: only ffmpeg can tell
    rig.capture.start()
    assert wait_for(lambda: rig.metrics.restarts.value >= 4, 20)
    times = rig.metrics.restart_times()
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert max(gaps) <= capture_module.NETWORK_RETRY + 1.5, gaps  # not 4, 8, 16... s


@pytest.fixture
def small_cache(tmp_path: Path) -> Iterator[Path]:
    """The rig's cache folder on a 4 MB tmpfs, unmounted afterwards."""
    with tmpfs(tmp_path / "cache", "size=4m") as folder:
        yield folder


def test_a_full_disk_splits_the_input_then_stops_segments_not_frames_and_writing_resumes_by_itself(
    shared_dir: Path,
    media: Path,
    small_cache: Path,
    rig_factory: Callable[..., Rig],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One ffmpeg reads the input for detect and clips until the disk fills under the segments: ffmpeg
    ends every output then, so detection is started again at once in an ffmpeg of its own, and the
    segments in another, retried every DISK_FULL_RETRY s until there is space."""
    monkeypatch.setattr(capture_module, "DISK_FULL_RETRY", 1.0)
    monkeypatch.setattr(capture_module, "RECOVERED_AFTER", 3.0)
    filler = small_cache / "filler"
    rig = rig_factory(camera(shared_dir, media, ["detect", "clips"]), **FAST)
    assert set(input_health(rig)) == {"ffmpeg:back:detect+clips"}
    with caplog.at_level(logging.INFO):
        rig.capture.start()
        assert wait_for(lambda: any((small_cache / "back" / "clips").glob("*.mp4")), 15), "no segment"
        [one] = rig.capture.pids
        frame_times: list[float] = []  # each new frame's arrival, sampled while the disk fills
        sampler_stop = threading.Event()

        def sample() -> None:
            seen = rig.metrics.frames.value
            while not sampler_stop.is_set():
                if rig.metrics.frames.value != seen:
                    seen = rig.metrics.frames.value
                    frame_times.append(time.monotonic())
                time.sleep(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        fill(filler)
        assert wait_for(lambda: rig.metrics.storage_full.value == 1, 30), "no disk-full report"
        assert wait_for(lambda: rig.metrics.capture_pid.value not in (0, one), 5), "detection not started again"
        detect_pid = rig.metrics.capture_pid.value
        frames = rig.metrics.frames.value
        assert wait_for(lambda: rig.metrics.frames.value >= frames + 20, 20)  # frames go on
        sampler_stop.set()
        sampler.join(5)
        assert rig.metrics.capture_pid.value == detect_pid  # the detect ffmpeg never stopped again
        gaps = [b - a for a, b in zip(frame_times, frame_times[1:], strict=False)]
        print(f"longest gap between detect frames across the split: {max(gaps):.2f} s")
        assert max(gaps) < 5.0, f"detection stopped {max(gaps):.1f} s for the split"  # ffmpeg's start, ~0.5 s
        assert set(input_health(rig)) == {"ffmpeg:back:detect", "ffmpeg:back:clips"}
        assert input_health(rig)["ffmpeg:back:clips"]["error"] == f"disk full at {small_cache / 'back'}"
        split = [r.getMessage() for r in caplog.records if "an output of" in r.getMessage()]
        assert split == [
            "an output of back's ffmpeg (detect+clips) failed (the disk is full): detection goes on at"
            " once in an ffmpeg of its own, clips in another, until the camera's capture restarts"
        ]
        full = [r.getMessage() for r in caplog.records if "disk full at" in r.getMessage()]
        assert full == [f"disk full at {small_cache / 'back'}: clips segments of back stop until space is freed"
                        " (retrying every 1 s); detection goes on"]  # fmt: skip
        filler.unlink()
        assert wait_for(lambda: rig.metrics.storage_full.value == 0, 30), "writing did not resume"
        assert len(rig.capture.pids) == 2 and detect_pid in rig.capture.pids
    written = max((small_cache / "back" / "clips").glob("*.mp4"), key=lambda f: f.stat().st_mtime)
    assert wait_for(lambda: written.stat().st_size > 0, 10)
    assert len([r for r in caplog.records if "disk full at" in r.getMessage()]) == 1
    assert not [r for r in caplog.records if "No space left on device" in r.getMessage()]  # the one line says it


def test_a_full_disk_before_the_start_splits_the_input_at_once(
    shared_dir: Path, media: Path, small_cache: Path, rig_factory: Callable[..., Rig],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """ffmpeg cannot open its first segment: the input is split before any frame, and frames come."""
    monkeypatch.setattr(capture_module, "DISK_FULL_RETRY", 1.0)
    (small_cache / "back" / "clips").mkdir(parents=True)
    fill(small_cache / "filler")
    rig = rig_factory(camera(shared_dir, media, ["detect", "clips"]), **FAST)
    rig.capture.start()
    assert wait_for(lambda: rig.metrics.storage_full.value == 1, 30), "no disk-full report"
    assert wait_for(lambda: rig.metrics.frames.value >= 10, 20), "no frames with the disk full"
    assert set(input_health(rig)) == {"ffmpeg:back:detect", "ffmpeg:back:clips"}
    assert input_health(rig)["ffmpeg:back:detect"]["ok"]


@pytest.fixture
def piped(shared_dir: Path, media: Path, tmp_path: Path, rig_factory: Callable[..., Rig]) -> tuple[Rig, Path]:
    """A rig (not started) on a camera whose detect and clips source is a named pipe, and the pipe.
    No -re: the writer paces it."""
    fifo = tmp_path / "cam.ts"
    os.mkfifo(fifo)
    source = {"path": str(fifo), "roles": ["detect", "clips"], "input_args": "-fflags +genpts"}
    return rig_factory(camera(shared_dir, media, ["record"], source, record={"enabled": False}), **FAST), fifo


def frame_after(rig: Rig, moment: float, timeout: float) -> float:
    """The time of the first frame stamped after ``moment`` (epoch s); older queued ones are drained."""
    _, frame_time = rig.frames.get(timeout=timeout)
    while frame_time <= moment:
        _, frame_time = rig.frames.get(timeout=timeout)
    return frame_time


def started(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    """Starts the capture and waits for its frames; the log of the start-up is dropped: ffmpeg probes a
    pipe's MPEG-TS for up to 5 s of it, longer than FAST's no-frame timeout."""
    rig.capture.start()
    rig.frames.get(timeout=15)
    assert wait_for(lambda: rig.metrics.stalled.value == 0, 2)
    caplog.clear()


def messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def test_a_named_pipe_whose_writer_stalls_is_waited_for_not_restarted(
    piped: tuple[Rig, Path], media: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rig, fifo = piped
    with caplog.at_level(logging.INFO), pipe_writer(fifo, media / PERSON, tmp_path / "writer.log") as writer:
        started(rig, caplog)
        [reader] = rig.capture.pids  # one ffmpeg for detect and clips: two would split the pipe's bytes
        os.kill(writer.pid, signal.SIGSTOP)
        assert wait_for(lambda: rig.metrics.stalled.value == 1, capture_module.STALLED_AFTER + 3)
        time.sleep(2 * FAST["no_frame_timeout"])  # > 3 no-frame timeouts in all
        assert rig.capture.pids == [reader] and rig.metrics.restarts.value == 0  # waits in read(), not restarted
        [entry] = input_health(rig).values()
        assert not entry["ok"] and entry["error"] == "nothing comes through its named pipe: waiting for the writer"
        continued_at = time.time()
        os.kill(writer.pid, signal.SIGCONT)
        assert frame_after(rig, continued_at, 10) - continued_at < 5
        assert wait_for(lambda: rig.metrics.stalled.value == 0, 2)
        assert wait_for(lambda: all(e["ok"] for e in input_health(rig).values()), 2), "ok again once it delivers"
        rig.capture.stop()  # while the writer runs: ffmpeg ends at SIGTERM
    assert rig.metrics.restarts.value == 0
    assert len(messages(caplog, "nothing comes through its named pipe; waiting for the writer")) == 1
    assert len(messages(caplog, "the named pipe of back delivers again after")) == 1
    assert not messages(caplog, "restarting")


def test_a_named_pipe_whose_writer_goes_away_waits_for_the_next_one(
    piped: tuple[Rig, Path], media: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rig, fifo = piped
    with caplog.at_level(logging.INFO):
        with pipe_writer(fifo, media / PERSON, tmp_path / "writer.log"):
            started(rig, caplog)
            first = rig.metrics.capture_pid.value
        # end of file: that ffmpeg ends, the next one is started at once and waits in open() for a writer
        assert wait_for(lambda: rig.metrics.capture_pid.value not in (0, first), capture_module.NETWORK_PROBE + 2)
        waiting = rig.metrics.capture_pid.value
        time.sleep(3 * FAST["no_frame_timeout"])
        assert rig.metrics.capture_pid.value == waiting and rig.metrics.restarts.value == 1
        assert rig.metrics.stalled.value == 1
        [entry] = input_health(rig).values()
        assert not entry["ok"] and entry["error"] == "the writer closed its named pipe: waiting for the next one"
        with pipe_writer(fifo, media / PERSON, tmp_path / "writer.log"):
            back_at = time.time()
            assert frame_after(rig, back_at, 15) - back_at < 8  # ffmpeg probes 5 s of MPEG-TS before its first frame
            assert rig.metrics.capture_pid.value == waiting
            assert wait_for(lambda: rig.metrics.stalled.value == 0, 2)
            assert wait_for(lambda: all(e["ok"] for e in input_health(rig).values()), 2)
            rig.capture.stop()
    assert len(messages(caplog, "the writer of back's named pipe closed it; waiting for the next one")) == 1
    assert len(messages(caplog, "the named pipe of back delivers again after")) == 1
    assert not messages(caplog, "exited with code") and not messages(caplog, "keeps failing")


def input_health(rig: Rig) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in rig.metrics.inputs.entries()}


def test_a_killed_ffmpeg_is_restarted_at_once_not_split_and_its_health_entry_says_so(
    shared_dir: Path, media: Path, rig_factory: Callable[..., Rig]
) -> None:
    rig = rig_factory(camera(shared_dir, media, ["detect", "clips"]))  # the default 1 s backoff: not used
    name = "ffmpeg:back:detect+clips"
    assert set(input_health(rig)) == {name}
    rig.capture.start()
    # it has delivered (a frame): a run that delivered and is cut short is started again at once
    assert wait_for(lambda: len(rig.capture.pids) == 1 and rig.metrics.frames.value > 0, 15)
    [old] = rig.capture.pids
    assert old == rig.metrics.capture_pid.value
    os.kill(old, signal.SIGKILL)
    killed_at = time.monotonic()
    seen: list[dict[str, Any]] = []

    def restarted() -> bool:
        seen.append(input_health(rig)[name])
        return len(rig.capture.pids) == 1 and old not in rig.capture.pids

    assert wait_for(restarted, 10, step=0.01)
    # woken by its stderr's end and started in the same pass: no 0.5 s tick, no 1 s backoff (loaded machine: 1 s)
    assert time.monotonic() - killed_at < 1.0
    assert any(not entry["ok"] and entry["error"] == f"ffmpeg exited with code -{signal.SIGKILL}" for entry in seen)
    assert wait_for(lambda: input_health(rig)[name]["ok"], 15), "not ok again after a new frame"
    entry = input_health(rig)[name]
    assert entry["restarts"] == 1 and entry["error"] is None and entry["failing_since"] is None
    assert entry["last_error"] == f"ffmpeg exited with code -{signal.SIGKILL}"
    assert set(input_health(rig)) == {name}, "a killed ffmpeg is no output failure: the input stays one ffmpeg"


def test_an_unreadable_input_is_not_ok_with_ffmpegs_reason(
    shared_dir: Path, media: Path, rig_factory: Callable[..., Rig]
) -> None:
    (media / PERSON).unlink()
    rig = rig_factory(camera(shared_dir, media, ["detect"]), **FAST)
    rig.capture.start()
    assert wait_for(lambda: not input_health(rig)["ffmpeg:back:detect"]["ok"], 10)
    entry = input_health(rig)["ffmpeg:back:detect"]
    assert entry["error"].startswith("ffmpeg exited with code 1: ") and "No such file or directory" in entry["error"]
    assert entry["failing_since"] is not None and entry["failing_since"] == entry["last_error_time"]
