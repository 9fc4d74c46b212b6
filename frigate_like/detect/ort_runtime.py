"""ONNX Runtime detector: CPU, or NVIDIA GPUs through the CUDA provider.

ONNX Runtime needs an ONNX file: the .tflite model is converted once (``onnx_convert``)
into the cache folder, cut before its post-process op (which runs in numpy).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from frigate_like.config import ModelConfig
from frigate_like.detect.api import DEFAULT_MIN_SCORE, DetectorConfigLike, ModelSpec
from frigate_like.detect.onnx_convert import cached_onnx_model
from frigate_like.detect.ssd import RawSSDDetector, RawSSDModel
from frigate_like.errors import DetectorUnavailable

logger = logging.getLogger(__name__)

# detectors.<name>.device for type onnx -> the provider list (ONNX Runtime falls back in order).
PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
}


def onnx_devices() -> list[str]:
    """Devices of ``PROVIDERS`` whose first provider this ONNX Runtime build has; [] without it."""
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    available = set(ort.get_available_providers())
    return [device for device, providers in PROVIDERS.items() if providers[0] in available]


class ONNXDetector(RawSSDDetector):
    def __init__(
        self,
        model: ModelConfig,
        detector: DetectorConfigLike,
        cache_dir: Path,
        *,
        min_score: float = DEFAULT_MIN_SCORE,
    ) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise DetectorUnavailable("the onnx detector needs ONNX Runtime: pip install 'frigate-like[onnx]'") from exc
        model_file = model.file_for(detector.type)
        if not model_file.is_file():
            raise DetectorUnavailable(f"model file not found: {model_file}")
        self.device = (detector.device or "cpu").lower()
        if self.device not in PROVIDERS:
            raise DetectorUnavailable(f"onnx device {self.device!r} unknown ({', '.join(PROVIDERS)})")
        if PROVIDERS[self.device][0] not in ort.get_available_providers():
            raise DetectorUnavailable(f"this ONNX Runtime has no {PROVIDERS[self.device][0]}")
        raw = RawSSDModel.from_file(model_file)
        path = cached_onnx_model(model_file, cache_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = detector.num_threads
        options.inter_op_num_threads = 1
        # Idle pool threads would otherwise spin on the other cores between requests.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(str(path), options, providers=PROVIDERS[self.device])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise DetectorUnavailable(f"ONNX Runtime cannot load {path.name}: {exc}") from exc
        (inp,) = self._session.get_inputs()
        height, width = (int(d) for d in inp.shape[1:3])
        spec = ModelSpec.from_config(model)
        spec.check_file_size(model_file.name, width, height)
        super().__init__(spec, raw, min_score=min_score)
        self._input_name = inp.name
        self._outputs = [raw.boxes_name, raw.classes_name]
        logger.info("loaded %s on onnxruntime %s (raw outputs, numpy post-process)", model_file.name, self.device)

    def _run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        boxes, classes = self._session.run(self._outputs, {self._input_name: batch})
        return boxes, classes

    def close(self) -> None:
        self._session = None
