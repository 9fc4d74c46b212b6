"""Detector runtimes behind one protocol: the .tflite reader, numpy post-process, OpenVINO, ONNX Runtime, auto."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from frigate_like.config import ModelConfig
from frigate_like.detect.api import Detector, SSDOutputs
from frigate_like.detect.runtimes import Candidate, choose_detector, create_detector
from frigate_like.detect.sizing import default_detector_count
from frigate_like.detect.ssd import RawSSDDetector, RawSSDModel, SSDPostProcess
from frigate_like.detect.tflite_file import read_graph
from frigate_like.errors import DetectorUnavailable
from frigate_like.track.regions import iou
from tests.test_detect import CAR, CAT, IMAGES, PERSON, detector_config, load_tensor, model_config

HAS_OPENVINO = importlib.util.find_spec("openvino") is not None
HAS_ONNX = importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None
RAW_RUNTIMES = [
    pytest.param("openvino", marks=pytest.mark.skipif(not HAS_OPENVINO, reason="openvino is not installed")),
    pytest.param("onnx", marks=pytest.mark.skipif(not HAS_ONNX, reason="onnxruntime/onnx are not installed")),
]


@pytest.fixture(scope="module")
def model(model_path: Path) -> ModelConfig:
    return model_config(model_path)


@pytest.fixture(scope="module")
def images(shared_dir: Path) -> dict[int, np.ndarray]:
    return {label: load_tensor(shared_dir / "media" / name) for label, name in IMAGES.items()}


@pytest.fixture(scope="module")
def litert_rows(model: ModelConfig, images: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    detector = create_detector(model, detector_config())
    rows = {label: detector.detect_raw(image) for label, image in images.items()}
    detector.close()
    return rows


def box(row: np.ndarray) -> tuple[int, int, int, int]:
    """A row's box in thousandths, as the integer Box the tracker's iou() takes (x1, y1, x2, y2)."""
    ymin, xmin, ymax, xmax = (int(round(v * 1000)) for v in row[2:6])
    return (xmin, ymin, xmax, ymax)


def assert_same_detections(got: np.ndarray, want: np.ndarray, floor: float = 0.3) -> None:
    """Every detection scoring ``floor`` or more on one side is on the other: same label, IoU ≥ 0.9, ±0.02."""
    for a, b in ((want, got), (got, want)):
        for row in a[a[:, 1] >= floor]:
            same = [
                r for r in b if r[0] == row[0] and abs(r[1] - row[1]) <= 0.02 and iou(box(r), box(row)) >= 0.9
            ]
            assert same, f"{np.round(row, 3)} has no match in\n{np.round(b, 3)}"


# --- the model file and the numpy post-process -----------------------------------------------------


def test_the_tflite_reader_sees_the_graph_and_the_post_process_options(model_path: Path) -> None:
    graph = read_graph(model_path)
    kinds = Counter(op.kind for op in graph.operators)
    assert kinds["CONV_2D"] == 34 and kinds["DEPTHWISE_CONV_2D"] == 13 and kinds["TFLite_Detection_PostProcess"] == 1
    raw = RawSSDModel.from_graph(graph)
    assert (raw.boxes_name, raw.classes_name, raw.classes_are_logits) == ("Squeeze", "concat_1", True)
    assert raw.anchors.shape == (1917, 4) and raw.max_detections == 10
    assert (raw.y_scale, raw.x_scale, raw.h_scale, raw.w_scale) == (10.0, 10.0, 5.0, 5.0)
    centres, sizes = raw.anchors[:, :2], raw.anchors[:, 2:]
    assert centres.min() > 0.0 and centres.max() < 1.0 and sizes.min() > 0.0  # in image units


def test_not_a_tflite_file_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(b"\0" * 64)
    with pytest.raises(DetectorUnavailable, match="not a TensorFlow Lite model"):
        read_graph(path)


def synthetic_model(max_detections: int = 2) -> RawSSDModel:
    anchors = np.array([[0.5, 0.5, 0.2, 0.2], [0.52, 0.5, 0.2, 0.2], [0.2, 0.2, 0.1, 0.1]], np.float32)
    return RawSSDModel("in", "b", "c", False, anchors, 10.0, 10.0, 5.0, 5.0, 0.6, 0.0, max_detections)


def test_post_process_decodes_boxes_against_anchors_and_suppresses_overlaps() -> None:
    post = SSDPostProcess(synthetic_model(), min_score=0.1)
    boxes = np.zeros((3, 4), np.float32)
    boxes[2] = [10.0, 0.0, 5.0 * np.log(2.0), 0.0]  # centre moves down by one anchor height; twice as tall
    classes = np.zeros((3, 4), np.float32)
    classes[0, 2] = 0.9  # anchor 0: class index 1 (background dropped), best
    classes[1, 2] = 0.8  # anchor 1: almost the same box -> suppressed by NMS
    classes[2, 3] = 0.7  # anchor 2: class index 2
    out = post(boxes, classes)
    assert int(out.count[0]) == 2
    np.testing.assert_allclose(out.scores[0], [0.9, 0.7], rtol=1e-6)
    np.testing.assert_array_equal(out.classes[0], [1, 2])
    np.testing.assert_allclose(out.boxes[0, 0], [0.4, 0.4, 0.6, 0.6], atol=1e-6)
    np.testing.assert_allclose(out.boxes[0, 1], [0.2, 0.15, 0.4, 0.25], atol=1e-6)


def test_post_process_keeps_at_most_max_detections_and_drops_low_scores() -> None:
    post = SSDPostProcess(synthetic_model(max_detections=1), min_score=0.75)
    classes = np.zeros((3, 4), np.float32)
    classes[2, 1] = 0.7  # below min_score
    classes[0, 1] = 0.9
    out: SSDOutputs = post(np.zeros((3, 4), np.float32), classes)
    assert int(out.count[0]) == 1 and out.scores.shape == (1, 1)


# --- the runtimes: the same detections as LiteRT ------------------------------------------------------


@pytest.mark.parametrize("runtime", RAW_RUNTIMES)
@pytest.mark.parametrize("label", [PERSON, CAT, CAR], ids=["person", "cat", "car"])
def test_runtime_gives_the_same_detections_as_litert(
    model: ModelConfig,
    images: dict[int, np.ndarray],
    litert_rows: dict[int, np.ndarray],
    runtime: str,
    label: int,
    tmp_path: Path,
) -> None:
    detector = create_detector(model, detector_config(runtime), cache_dir=tmp_path)
    rows = detector.detect_raw(images[label])
    detector.close()
    assert int(rows[0, 0]) == label and rows[0, 1] > 0.6
    assert_same_detections(rows, litert_rows[label])


@pytest.mark.parametrize("runtime", RAW_RUNTIMES)
def test_a_batch_of_four_equals_four_single_detections(
    model: ModelConfig, images: dict[int, np.ndarray], tmp_path: Path, runtime: str
) -> None:
    single = create_detector(model, detector_config(runtime), cache_dir=tmp_path)
    if runtime == "openvino":
        from frigate_like.detect.ov_runtime import OpenVINODetector

        batched: Detector = OpenVINODetector(model, detector_config(runtime), batch=4)
    else:
        batched = single
    assert isinstance(batched, RawSSDDetector)
    batch = np.stack([images[PERSON], images[CAT], images[CAR], images[PERSON]])
    together = batched.detect_batch(batch)
    for image, rows in zip(batch, together, strict=True):
        alone = single.detect_raw(image)
        assert rows.shape == alone.shape
        np.testing.assert_allclose(rows, alone, atol=1e-5)


@pytest.mark.skipif(not HAS_ONNX, reason="onnxruntime/onnx are not installed")
def test_the_onnx_conversion_is_cached_by_content(model: ModelConfig, tmp_path: Path) -> None:
    from frigate_like.detect.onnx_convert import cached_onnx_model

    first = cached_onnx_model(model.path, tmp_path)
    stamp = first.stat().st_mtime_ns
    assert cached_onnx_model(model.path, tmp_path) == first and first.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.name]


@pytest.mark.skipif(not HAS_OPENVINO, reason="openvino is not installed")
def test_openvino_on_a_device_it_does_not_have_is_unavailable(model: ModelConfig) -> None:
    with pytest.raises(DetectorUnavailable, match="OpenVINO cannot load"):
        create_detector(model, detector_config("openvino", "NOSUCHDEVICE"))


# --- type: auto --------------------------------------------------------------------------------


def test_auto_measures_what_loads_and_keeps_the_fastest(model: ModelConfig, tmp_path: Path) -> None:
    options = [Candidate("edgetpu", "usb:9", 1), Candidate("cpu", None, 1)]
    if HAS_ONNX:
        options.append(Candidate("onnx", "cpu", 1))
    choice = choose_detector(model, detector_config("auto"), cache_dir=tmp_path, options=options)
    measured = choice.reason.split("(", 1)[1]
    assert choice.runtime in ("cpu", "onnx:cpu") and measured.startswith(choice.runtime + " ")
    assert "not available: edgetpu:usb:9" in choice.reason
    assert int(choice.detector.detect_raw(np.zeros((300, 300, 3), np.uint8)).shape[1]) == 6
    choice.detector.close()


class FakeEdgeTPU:
    """Stands in for a Coral (absent here) behind the same Detector protocol."""

    closed = False

    def detect_raw(self, tensor: np.ndarray) -> np.ndarray:
        return np.zeros((0, 6), np.float32)

    def close(self) -> None:
        self.closed = True


def test_auto_takes_an_edge_tpu_that_loads_without_measuring(model: ModelConfig) -> None:
    built: list[str] = []
    fake = FakeEdgeTPU()

    def build(_model: object, candidate: Candidate) -> Detector:
        built.append(candidate.label)
        if candidate.type == "edgetpu":
            return fake
        return create_detector(model, candidate)

    options = [Candidate("edgetpu", None, 1), Candidate("cpu", None, 1)]
    choice = choose_detector(model, detector_config("auto"), options=options, build=build)
    assert choice.detector is fake and choice.runtime == "edgetpu" and "Edge TPU" in choice.reason
    assert built == ["edgetpu"]


def test_auto_with_nothing_that_loads_says_what_was_tried(tmp_path: Path) -> None:
    missing = model_config(tmp_path / "missing.tflite")
    with pytest.raises(DetectorUnavailable, match="auto: no detector runtime loads: cpu: model file not found"):
        choose_detector(missing, detector_config("auto"), options=[Candidate("cpu", None, 1)])


@pytest.mark.parametrize(("cores", "detectors"), [(1, 1), (2, 1), (4, 2), (8, 4), (64, 4)])
def test_default_detector_count_is_one_per_two_cores_up_to_four(cores: int, detectors: int) -> None:
    assert default_detector_count(cores) == detectors
