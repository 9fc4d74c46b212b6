"""The detector seam: the Detector protocol, the model description and the SSD pre/post-processing.

A backend (``tflite.LiteRTDetector``; OpenVINO and ONNX Runtime through ``ssd.RawSSDDetector``) subclasses
``SSDDetector`` and supplies only how to load the model, how to put an input
tensor in and how to run it; everything else — checking the input, normalising
it for float models, turning the four SSD post-process outputs into rows — lives
here once, Viseron style.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from frigate_like.config import ModelConfig
from frigate_like.errors import ConfigError

# Rows below this score are dropped before they leave the detector; the per-label
# ``min_score``/``threshold`` filters downstream are always above it.
DEFAULT_MIN_SCORE = 0.1
# The most rows one detection returns (the shared-memory out buffer holds this many).
MAX_DETECTIONS = 20

InputDType = Literal["uint8", "float32"]


class DetectorConfigLike(Protocol):
    """What the detectors need of one ``cfg.detectors[name]`` entry."""

    @property
    def type(self) -> str: ...  # "cpu" | "edgetpu" | "openvino" | "onnx" | "auto" (detect/runtimes.py)

    @property
    def device(self) -> str | None: ...  # edgetpu: "usb", "pci:0"...; openvino: "CPU", "GPU"...; onnx: "cpu", "cuda"

    @property
    def num_threads(self) -> int: ...


class Detector(Protocol):
    """Anything that turns one RGB tensor into detection rows."""

    def detect_raw(self, tensor: np.ndarray) -> np.ndarray:
        """Detect objects in a ``(height, width, 3)`` uint8 RGB tensor.

        Returns an N×6 float32 array, one row per object, best first:
        ``label_index, score, ymin, xmin, ymax, xmax`` with coordinates normalised to 0..1.
        """
        ...

    def close(self) -> None:
        """Release the model and its device."""
        ...


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """How to feed an SSD model and where its post-process outputs are.

    ``input_dtype`` "float32" means the model wants ``(pixel - input_mean) / input_std``;
    "uint8" models take the RGB bytes as they are. ``output_order`` gives the position,
    in the model's output list, of boxes, classes, scores and count (TF1 and Coral
    SSD models: ``(0, 1, 2, 3)``).
    """

    width: int
    height: int
    input_dtype: InputDType = "uint8"
    input_mean: float = 127.5
    input_std: float = 127.5
    output_order: tuple[int, int, int, int] = (0, 1, 2, 3)

    @classmethod
    def from_config(cls, model: ModelConfig) -> ModelSpec:
        return cls(width=model.width, height=model.height)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, 3)

    def check_file_size(self, model_name: str, width: int, height: int) -> None:
        """Raise ``ConfigError`` when the model file takes another size than the config says."""
        if (width, height) != (self.width, self.height):
            raise ConfigError(
                f"model.width/height: {self.width}x{self.height} configured but {model_name} takes {width}x{height}"
            )


@dataclass(frozen=True, slots=True)
class SSDOutputs:
    """The four tensors of a TFLite_Detection_PostProcess node, batch dimension included."""

    boxes: np.ndarray  # [1, N, 4] ymin, xmin, ymax, xmax
    classes: np.ndarray  # [1, N]
    scores: np.ndarray  # [1, N], best first
    count: np.ndarray  # [1]


def normalise_input(tensor: np.ndarray, out: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Write ``(tensor - mean) / std`` into the float array ``out`` without temporaries."""
    np.subtract(tensor, np.float32(mean), out=out, dtype=np.float32)
    np.divide(out, np.float32(std), out=out)
    return out


def ssd_rows(outputs: SSDOutputs, min_score: float, max_rows: int = MAX_DETECTIONS) -> np.ndarray:
    """Turn SSD post-process outputs into N×6 float32 rows (see ``Detector.detect_raw``).

    Only the first ``count`` entries are valid; of those, rows scoring below
    ``min_score`` are dropped and boxes are clipped to 0..1 (the model strays a
    little outside the image).
    """
    scores = outputs.scores.reshape(-1)
    n = min(int(outputs.count.reshape(-1)[0]), scores.shape[0], max_rows)
    keep = np.flatnonzero(scores[:n] >= min_score)
    rows = np.empty((keep.shape[0], 6), dtype=np.float32)
    rows[:, 0] = outputs.classes.reshape(-1)[keep]
    rows[:, 1] = scores[keep]
    rows[:, 2:6] = outputs.boxes.reshape(-1, 4)[keep]
    np.clip(rows[:, 2:6], 0.0, 1.0, out=rows[:, 2:6])
    return rows


class SSDDetector(ABC):
    """Owns the per-detection logic; a backend supplies ``_set_input`` and ``_invoke``."""

    def __init__(
        self, spec: ModelSpec, *, min_score: float = DEFAULT_MIN_SCORE, max_rows: int = MAX_DETECTIONS
    ) -> None:
        self.spec = spec
        self.min_score = min_score
        self.max_rows = max_rows
        # Float models: one preallocated buffer for the normalised input, reused every call.
        self._float_input = np.empty(spec.input_shape, dtype=np.float32) if spec.input_dtype == "float32" else None

    def detect_raw(self, tensor: np.ndarray) -> np.ndarray:
        if tensor.shape != self.spec.input_shape or tensor.dtype != np.uint8:
            raise ValueError(f"detector input must be {self.spec.input_shape} uint8, got {tensor.shape} {tensor.dtype}")
        self._set_input(self.preprocess(tensor))
        return ssd_rows(self._invoke(), self.min_score, self.max_rows)

    def preprocess(self, tensor: np.ndarray) -> np.ndarray:
        """The tensor in the model's input dtype: as is for uint8 models, normalised for float ones."""
        if self._float_input is None:
            return tensor
        return normalise_input(tensor, self._float_input, self.spec.input_mean, self.spec.input_std)

    @abstractmethod
    def _set_input(self, tensor: np.ndarray) -> None:
        """Copy a ``spec.input_shape`` tensor of the model's dtype into the model's input."""

    @abstractmethod
    def _invoke(self) -> SSDOutputs:
        """Run the model on the input set last; the outputs must not alias backend memory."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends free on garbage collection
        """Release the backend (device handles, delegates)."""
