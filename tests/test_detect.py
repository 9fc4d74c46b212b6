"""Detectors: the LiteRT backend, the detector processes behind DetectorHub, and DetectorClient."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator, Mapping
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from frigate_like.config import DetectorConfig, ModelConfig
from frigate_like.detect.api import SSDOutputs, normalise_input, ssd_rows
from frigate_like.detect.channel import DetectorChannel
from frigate_like.detect.client import DetectorClient
from frigate_like.detect.process import DetectorHub
from frigate_like.detect.runtimes import create_detector
from frigate_like.detect.tflite import EDGETPU_LIBRARY, LiteRTDetector
from frigate_like.errors import ConfigError, Conflict, DetectorUnavailable, NotFound

PERSON, CAR, CAT = 0, 2, 16
IMAGES = {PERSON: "grace_hopper.bmp", CAT: "cat_720p.jpg", CAR: "traffic_256.bmp"}
NO_CORAL = "no Edge TPU found at device 'usb' (is the Coral plugged in and libedgetpu installed?)"


def model_config(path: Path, width: int = 300, height: int = 300) -> ModelConfig:
    return ModelConfig(path=path, width=width, height=height)


def detector_config(kind: str = "cpu", device: str | None = None, num_threads: int = 1) -> DetectorConfig:
    return DetectorConfig.model_validate({"type": kind, "device": device, "num_threads": num_threads})


@pytest.fixture(scope="module")
def model(model_path: Path) -> ModelConfig:
    return model_config(model_path)


@pytest.fixture(scope="module")
def tensors(shared_dir: Path) -> dict[int, np.ndarray]:
    """Each test image as the model sees it: the whole picture resized to 300×300 RGB."""
    return {label: load_tensor(shared_dir / "media" / name) for label, name in IMAGES.items()}


def load_tensor(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, path
    return np.ascontiguousarray(cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (300, 300)))


def top_label(rows: np.ndarray) -> int:
    assert rows.shape[0] > 0 and rows.dtype == np.float32 and rows.shape[1] == 6
    return int(rows[0, 0])


def alive(pid: int) -> bool:
    """A live (not zombie) process with this pid."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_for_restart(hub: DetectorHub, name: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while name not in hub.check():
        assert time.monotonic() < deadline, f"{name} was not restarted"
        time.sleep(0.05)


# --- the backend in this process ---------------------------------------------------------------


@pytest.mark.parametrize("label", [PERSON, CAT, CAR], ids=["person", "cat", "car"])
def test_litert_cpu_detector_finds_the_object(model: ModelConfig, tensors: dict[int, np.ndarray], label: int) -> None:
    detector = create_detector(model, detector_config(num_threads=1))
    rows = detector.detect_raw(tensors[label])
    assert top_label(rows) == label
    assert rows[0, 1] > 0.6
    assert np.all(rows[:, 1] >= 0.1) and np.all((rows[:, 2:] >= 0.0) & (rows[:, 2:] <= 1.0))
    ymin, xmin, ymax, xmax = rows[0, 2:]
    assert ymin < ymax and xmin < xmax
    detector.close()


def test_detector_rejects_a_tensor_of_the_wrong_shape(model: ModelConfig) -> None:
    detector = LiteRTDetector(model, detector_config())
    with pytest.raises(ValueError, match=r"\(300, 300, 3\) uint8"):
        detector.detect_raw(np.zeros((320, 320, 3), np.uint8))


def test_model_size_that_does_not_match_the_file_is_a_config_error(model_path: Path) -> None:
    with pytest.raises(ConfigError, match="320x320 configured but .* takes 300x300"):
        LiteRTDetector(model_config(model_path, 320, 320), detector_config())


def test_missing_model_file_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(DetectorUnavailable, match="model file not found"):
        LiteRTDetector(model_config(tmp_path / "nope.tflite"), detector_config())


def test_unknown_detector_type_is_a_config_error(model: ModelConfig) -> None:
    with pytest.raises(ConfigError, match="unknown detector type 'gpu'"):
        # model_construct: the config refuses the type first; the detectors check it again
        create_detector(model, DetectorConfig.model_construct(type="gpu", device="usb", num_threads=1))


def test_edgetpu_without_a_coral_is_unavailable(model: ModelConfig) -> None:
    calls: list[tuple[str, dict[str, str]]] = []

    def no_coral(library: str, options: Mapping[str, str]) -> Any:
        # What ai_edge_litert.load_delegate raises when libedgetpu finds no device.
        calls.append((library, dict(options)))
        raise ValueError(f"Failed to load delegate from {library}\n")

    with pytest.raises(DetectorUnavailable) as caught:
        create_detector(model, detector_config(kind="edgetpu", device="usb"), delegate_loader=no_coral)
    assert NO_CORAL in str(caught.value)
    assert calls == [(EDGETPU_LIBRARY, {"device": "usb"})]


def test_edgetpu_with_the_real_loader_and_no_coral_is_unavailable(model: ModelConfig) -> None:
    # No Coral here (and no libedgetpu): the real loader must fail the same clear way.
    with pytest.raises(DetectorUnavailable, match="no Edge TPU found at device 'usb:9'"):
        create_detector(model, detector_config(kind="edgetpu", device="usb:9"))


# --- the pure pre/post-processing ---------------------------------------------------------------


def test_ssd_rows_keep_only_counted_scored_rows_and_clip_boxes() -> None:
    outputs = SSDOutputs(
        boxes=np.array([[[-0.1, 0.2, 0.5, 1.2], [0.1, 0.1, 0.2, 0.2], [0.3, 0.3, 0.4, 0.4]]], np.float32),
        classes=np.array([[0, 2, 16]], np.float32),
        scores=np.array([[0.9, 0.05, 0.8]], np.float32),
        count=np.array([2], np.float32),
    )
    rows = ssd_rows(outputs, min_score=0.1)
    # Row 2 is past count, row 1 under the floor; the first box is clipped to the image.
    np.testing.assert_allclose(rows, [[0, 0.9, 0.0, 0.2, 0.5, 1.0]])
    assert rows.dtype == np.float32


def test_float_models_get_a_normalised_input() -> None:
    tensor = np.array([[[0, 127, 255]]], np.uint8)
    out = np.empty((1, 1, 3), np.float32)
    normalise_input(tensor, out, 127.5, 127.5)
    np.testing.assert_allclose(out, [[[-1.0, -0.5 / 127.5, 1.0]]], rtol=1e-6)


# --- through the detector processes ------------------------------------------------------------


@pytest.fixture(scope="module")
def hub(model: ModelConfig) -> Iterator[DetectorHub]:
    """Two CPU detectors sharing one request pipe, serving two cameras."""
    with DetectorHub(model, {"cpu1": detector_config(), "cpu2": detector_config()}, ["front", "back"]) as hub:
        hub.start()
        yield hub


@pytest.mark.parametrize("label", [PERSON, CAT, CAR], ids=["person", "cat", "car"])
def test_detector_process_finds_the_object(hub: DetectorHub, tensors: dict[int, np.ndarray], label: int) -> None:
    with DetectorClient(hub.channel("front")) as client:
        client.input[:] = tensors[label]
        rows = client.detect(timeout=5.0)
    assert top_label(rows) == label
    assert rows[0, 1] > 0.6


def test_results_match_the_in_process_detector(
    hub: DetectorHub, model: ModelConfig, tensors: dict[int, np.ndarray]
) -> None:
    in_process = create_detector(model, detector_config())
    with DetectorClient(hub.channel("back")) as client:
        client.input[:] = tensors[CAR]
        np.testing.assert_allclose(client.detect(timeout=5.0), in_process.detect_raw(tensors[CAR]), atol=1e-6)


def camera_loop(channel: DetectorChannel, tensor: np.ndarray, expected: np.ndarray, rounds: int, out: Any) -> None:
    """A camera process: ``rounds`` detections of its own picture, reporting every mismatch."""
    wrong = 0
    with DetectorClient(channel) as client:
        for _ in range(rounds):
            client.input[:] = tensor
            rows = client.detect(timeout=5.0)
            if rows.shape != expected.shape or not np.allclose(rows, expected, atol=1e-6):
                wrong += 1
    out.put((channel.camera, wrong))


def test_two_cameras_and_two_detectors_never_mix_results(
    hub: DetectorHub, model: ModelConfig, tensors: dict[int, np.ndarray]
) -> None:
    reference = create_detector(model, detector_config())
    ctx: Any = hub.mp_context
    results = ctx.Queue()
    work = {"front": tensors[CAT], "back": tensors[CAR]}
    before = {name: m.detections.value for name, m in hub.metrics.items()}
    cameras = [
        ctx.Process(
            target=camera_loop,
            args=(hub.channel(name), tensor, reference.detect_raw(tensor), 150, results),
        )
        for name, tensor in work.items()
    ]
    for process in cameras:
        process.start()
    reports = dict(results.get(timeout=60) for _ in cameras)
    for process in cameras:
        process.join(10)
    results.close()
    results.join_thread()
    assert reports == {"front": 0, "back": 0}
    # Both detector processes took requests from the one shared pipe.
    assert all(m.detections.value > before[name] for name, m in hub.metrics.items())


def test_stats_report_each_detector(hub: DetectorHub, tensors: dict[int, np.ndarray]) -> None:
    with DetectorClient(hub.channel("front")) as client:
        client.input[:] = tensors[PERSON]
        for _ in range(4):
            client.detect(timeout=5.0)
    stats = hub.stats()
    assert set(stats) == {"cpu1", "cpu2"}
    assert any(float(s["inference_speed"] or 0.0) > 0.0 for s in stats.values())
    for entry in stats.values():
        assert entry["detection_start"] == 0.0
        assert isinstance(entry["pid"], int) and alive(entry["pid"])
        assert (entry["runtime"], entry["runtime_reason"]) == ("cpu", "configured")


def test_an_auto_detector_process_says_what_it_chose_and_why(model: ModelConfig, tmp_path: Path) -> None:
    with DetectorHub(model, {"auto": detector_config("auto")}, ["front"], model_cache_dir=tmp_path) as hub:
        hub.start()
        entry = hub.stats()["auto"]
    runtime, reason = str(entry["runtime"]), str(entry["runtime_reason"])
    assert runtime in ("cpu", "openvino:CPU", "onnx:cpu")
    assert reason.startswith("auto: fastest median detection") and f"{runtime} " in reason


def test_unknown_camera_has_no_channel(hub: DetectorHub) -> None:
    with pytest.raises(NotFound):
        hub.channel("garage")


def test_spare_channels_serve_cameras_added_at_run_time(model: ModelConfig, tensors: dict[int, np.ndarray]) -> None:
    with DetectorHub(model, {"cpu": detector_config()}, ["front"], extra_channels=1) as hub:
        hub.start()
        channel = hub.assign_channel("garage")
        assert channel.camera == "garage" and hub.channel("garage") is channel and hub.spare_channels == 0
        with pytest.raises(Conflict, match="no spare"):
            hub.assign_channel("attic")
        with DetectorClient(channel) as client:
            client.input[:] = tensors[CAR]
            assert top_label(client.detect(timeout=5.0)) == CAR
        hub.release_channel("garage")
        with pytest.raises(NotFound):
            hub.channel("garage")
        again = hub.assign_channel("attic")  # the same slot, for another camera, in the running detector
        assert again.camera_index == channel.camera_index
        with DetectorClient(again) as client:
            client.input[:] = tensors[PERSON]
            assert top_label(client.detect(timeout=5.0)) == PERSON


def test_timeout_raises_and_a_late_answer_is_never_taken_for_the_next(
    model: ModelConfig, tensors: dict[int, np.ndarray], caplog: pytest.LogCaptureFixture
) -> None:
    with (
        DetectorHub(model, {"cpu": detector_config()}, ["front"]) as hub,
        DetectorClient(hub.channel("front")) as client,
    ):
        # No detector running yet: the request waits in the pipe and the client gives up.
        client.input[:] = tensors[CAT]
        with pytest.raises(DetectorUnavailable, match="no detector answered camera 'front'"):
            client.detect(timeout=0.2)
        hub.start()
        # The abandoned request is skipped; this one gets the car, not the cat.
        client.input[:] = tensors[CAR]
        assert top_label(client.detect(timeout=5.0)) == CAR
        # Give up while the detector is running (≈7 ms): its late cat answer must be ignored.
        client.input[:] = tensors[CAT]
        answered = hub.metrics["cpu"].detections.value
        with pytest.raises(DetectorUnavailable):
            client.detect(timeout=0.0005)
        deadline = time.monotonic() + 5.0
        while hub.metrics["cpu"].detections.value == answered:  # let the late answer land first
            assert time.monotonic() < deadline
            time.sleep(0.01)
        client.input[:] = tensors[PERSON]
        with caplog.at_level(logging.DEBUG, logger="frigate_like.detect.client"):
            assert top_label(client.detect(timeout=5.0)) == PERSON
        assert "ignoring a late detector answer" in caplog.text
        assert top_label(client.detect(timeout=5.0)) == PERSON


def test_stop_unlinks_memory_and_ends_every_process(model: ModelConfig, tensors: dict[int, np.ndarray]) -> None:
    hub = DetectorHub(model, {"a": detector_config(), "b": detector_config()}, ["front", "back"])
    hub.start()
    channels = [hub.channel("front"), hub.channel("back")]
    with DetectorClient(channels[0]) as client:
        client.input[:] = tensors[PERSON]
        assert top_label(client.detect(timeout=5.0)) == PERSON
    pids = [int(s["pid"] or 0) for s in hub.stats().values()]
    blocks = [Path("/dev/shm") / name for ch in channels for name in (ch.input_name, ch.output_name)]
    assert all(alive(pid) for pid in pids) and all(block.exists() for block in blocks)
    started = time.monotonic()
    hub.stop()
    assert time.monotonic() - started < 3.0  # woken by sentinels, not by the 1 s poll
    assert not any(alive(pid) for pid in pids)
    assert not any(block.exists() for block in blocks)
    assert all(s["pid"] is None for s in hub.stats().values())
    hub.stop()  # idempotent


def test_a_killed_detector_is_restarted_by_check(model: ModelConfig, tensors: dict[int, np.ndarray]) -> None:
    with (
        DetectorHub(model, {"cpu": detector_config()}, ["front"]) as hub,
        DetectorClient(hub.channel("front")) as client,
    ):
        hub.start()
        assert hub.check() == []
        old_pid = int(hub.stats()["cpu"]["pid"] or 0)
        # Killed while idle, i.e. inside its wait for requests: nothing may stay locked.
        os.kill(old_pid, signal.SIGKILL)
        wait_for_restart(hub, "cpu")
        new_pid = hub.stats()["cpu"]["pid"]
        assert new_pid not in (None, old_pid) and not alive(old_pid)
        client.input[:] = tensors[CAT]
        assert top_label(client.detect(timeout=10.0)) == CAT


def test_a_detector_stuck_in_one_detection_is_killed_and_restarted(
    model: ModelConfig, tensors: dict[int, np.ndarray]
) -> None:
    with (
        DetectorHub(model, {"cpu": detector_config()}, ["front"]) as hub,
        DetectorClient(hub.channel("front")) as client,
    ):
        hub.start()
        old_pid = int(hub.stats()["cpu"]["pid"] or 0)
        # What a detection hung for 11 s looks like to the watchdog.
        hub.metrics["cpu"].detection_start.value = time.time() - 11.0
        assert hub.check() == ["cpu"]
        assert not alive(old_pid)
        assert hub.stats()["cpu"]["detection_start"] == 0.0
        client.input[:] = tensors[CAR]
        assert top_label(client.detect(timeout=10.0)) == CAR


def test_a_detector_stopped_between_detections_is_noticed_and_restarted(
    model: ModelConfig, tensors: dict[int, np.ndarray]
) -> None:
    """SIGSTOP while idle: no detection runs (detection_start is 0), only the heartbeat goes stale."""
    with (
        DetectorHub(model, {"cpu": detector_config()}, ["front"], stuck_after=2.0) as hub,
        DetectorClient(hub.channel("front")) as client,
    ):
        hub.start()
        client.input[:] = tensors[PERSON]
        assert top_label(client.detect(timeout=5.0)) == PERSON
        old_pid = int(hub.stats()["cpu"]["pid"] or 0)
        os.kill(old_pid, signal.SIGSTOP)
        try:
            assert hub.stats()["cpu"]["detection_start"] == 0.0
            assert hub.check() == []  # not yet stale
            wait_for_restart(hub, "cpu", timeout=15.0)
        finally:
            if alive(old_pid):
                os.kill(old_pid, signal.SIGKILL)
        assert "no sign of life" in hub.restart_reasons["cpu"]
        assert not alive(old_pid)
        client.input[:] = tensors[CAR]
        assert top_label(client.detect(timeout=10.0)) == CAR


def test_hub_start_without_a_coral_fails_clearly_and_cleans_up(model: ModelConfig) -> None:
    hub = DetectorHub(model, {"coral": detector_config(kind="edgetpu", device="usb")}, ["front"])
    channel = hub.channel("front")
    with pytest.raises(DetectorUnavailable) as caught:
        hub.start(timeout=30.0)
    assert "detector coral: " + NO_CORAL in str(caught.value)
    assert not (Path("/dev/shm") / channel.input_name).exists()
    assert hub.stats()["coral"]["pid"] is None


def test_spawn_is_the_start_method(hub: DetectorHub) -> None:
    ctx: BaseContext = hub.mp_context
    assert ctx.get_start_method() == "spawn"


def _saturate(channel: DetectorChannel, tensor: np.ndarray, go: Any, stop: Any, out: Any) -> None:
    """A camera that always has a region waiting: asks again the moment it has its answer."""
    answers = 0
    with DetectorClient(channel) as client:
        client.input[:] = tensor
        out.put((channel.camera, "ready"))
        go.wait(60)
        while not stop.is_set():
            client.detect(timeout=30.0)
            answers += 1
    out.put((channel.camera, answers))


@pytest.mark.parametrize("detectors", [1, 2])
def test_at_saturation_every_camera_gets_its_share(
    model: ModelConfig, tensors: dict[int, np.ndarray], detectors: int
) -> None:
    cameras = ["a", "b", "c", "d"]
    config = {f"cpu{i}": detector_config() for i in range(detectors)}
    with DetectorHub(model, config, cameras) as hub:
        hub.start()
        ctx: Any = hub.mp_context
        go, stop, results = ctx.Event(), ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(target=_saturate, args=(hub.channel(name), tensors[PERSON], go, stop, results))
            for name in cameras
        ]
        for process in procs:
            process.start()
        assert {results.get(timeout=60) for _ in procs} == {(name, "ready") for name in cameras}
        go.set()  # all at once: a camera process that started first must not count its head start
        # Run until the detectors have answered 200 requests (a count, not a duration).
        deadline = time.monotonic() + 120
        while sum(m.detections.value for m in hub.metrics.values()) < 200:
            assert time.monotonic() < deadline, "the detectors stopped answering"
            time.sleep(0.05)
        stop.set()
        answers = dict(results.get(timeout=60) for _ in procs)
        for process in procs:
            process.join(10)
        results.close()
        results.join_thread()
    # One request in flight per camera on a FIFO pipe: the cameras take turns.
    assert min(answers.values()) >= 0.8 * max(answers.values()), answers
