"""LiteRT (TensorFlow Lite) detectors: ``cpu`` on XNNPACK threads, ``edgetpu`` through the Coral delegate."""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from frigate_like.config import ModelConfig
from frigate_like.detect.api import DEFAULT_MIN_SCORE, DetectorConfigLike, ModelSpec, SSDDetector, SSDOutputs
from frigate_like.errors import ConfigError, DetectorUnavailable

try:
    from ai_edge_litert.interpreter import Interpreter, load_delegate
except ImportError:  # pragma: no cover - older installs ship only the tflite_runtime wheel
    from tflite_runtime.interpreter import Interpreter, load_delegate

logger = logging.getLogger(__name__)

EDGETPU_LIBRARY = "libedgetpu.so.1"
DEFAULT_EDGETPU_DEVICE = "usb"

# (library, options) -> delegate; raises ValueError (no device) or OSError (no library).
DelegateLoader = Callable[[str, Mapping[str, str]], Any]


def load_edgetpu_delegate(library: str, options: Mapping[str, str]) -> Any:
    """``load_delegate`` that fails cleanly when the library itself is missing.

    LiteRT's ``Delegate`` leaves a half-built object behind when ``dlopen`` fails and
    its ``__del__`` then prints an AttributeError; opening the library first turns
    that case into a plain OSError.
    """
    ctypes.CDLL(library)
    return load_delegate(library, dict(options))


class LiteRTDetector(SSDDetector):
    """One LiteRT interpreter running an SSD post-process model on the CPU or an Edge TPU."""

    def __init__(
        self,
        model: ModelConfig,
        detector: DetectorConfigLike,
        *,
        delegate_loader: DelegateLoader = load_edgetpu_delegate,
        spec: ModelSpec | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
    ) -> None:
        model_file = model.file_for(detector.type)
        if not model_file.is_file():
            raise DetectorUnavailable(f"model file not found: {model_file}")
        delegates = []
        if detector.type == "edgetpu":
            delegates.append(_edgetpu_delegate(detector.device or DEFAULT_EDGETPU_DEVICE, delegate_loader))
        elif detector.type != "cpu":
            raise ConfigError(f"detectors.type: LiteRT runs cpu or edgetpu detectors, not {detector.type!r}")
        try:
            self._interpreter = Interpreter(
                model_path=str(model_file),
                experimental_delegates=delegates or None,
                # The Edge TPU runs the graph itself; threads only matter for the CPU (XNNPACK).
                num_threads=detector.num_threads,
            )
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise DetectorUnavailable(f"cannot load model {model_file}: {exc}") from exc

        spec = spec or ModelSpec.from_config(model)
        inp = self._interpreter.get_input_details()[0]
        _, height, width, _ = (int(d) for d in inp["shape"])
        spec.check_file_size(model_file.name, width, height)
        # The model file, not the config, knows whether it takes bytes or normalised floats.
        spec = replace(spec, input_dtype="float32" if inp["dtype"] == np.float32 else "uint8")
        super().__init__(spec, min_score=min_score)
        self._input_index: int = inp["index"]
        outputs = self._interpreter.get_output_details()
        self._output_indexes = [outputs[i]["index"] for i in spec.output_order]
        logger.info(
            "loaded %s on %s%s (%dx%d %s)",
            model_file.name,
            detector.type,
            f" {detector.device}" if detector.type == "edgetpu" and detector.device else "",
            width,
            height,
            spec.input_dtype,
        )

    def _set_input(self, tensor: np.ndarray) -> None:
        # set_tensor is one memcpy; writing through interpreter.tensor()'s view measured the
        # same (≈2.7 µs for 300×300×3) and a view held across invoke() makes LiteRT refuse to run.
        self._interpreter.set_tensor(self._input_index, tensor[np.newaxis])

    def _invoke(self) -> SSDOutputs:
        self._interpreter.invoke()
        get = self._interpreter.get_tensor  # copies; the four outputs are tiny
        boxes, classes, scores, count = (get(i) for i in self._output_indexes)
        return SSDOutputs(boxes, classes, scores, count)

    def close(self) -> None:
        # Dropping the interpreter before its delegate is the order the Coral library needs.
        self._interpreter = None


def _edgetpu_delegate(device: str, loader: DelegateLoader) -> Any:
    options = {"device": device} if device else {}
    where = device or "any"
    try:
        return loader(EDGETPU_LIBRARY, options)
    except (ValueError, OSError) as exc:
        raise DetectorUnavailable(
            f"no Edge TPU found at device {where!r} (is the Coral plugged in and libedgetpu installed?): "
            f"{str(exc).strip()}"
        ) from exc

