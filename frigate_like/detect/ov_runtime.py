"""OpenVINO detector: Intel CPUs and integrated GPUs, reading the .tflite file directly.

OpenVINO's TensorFlow Lite frontend has no translator for ``TFLite_Detection_PostProcess``;
``convert_partially`` keeps it as an opaque node, and the model served here is cut
before it, at the raw box and class tensors (the post-process runs in numpy).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from frigate_like.config import ModelConfig
from frigate_like.detect.api import DEFAULT_MIN_SCORE, DetectorConfigLike, ModelSpec
from frigate_like.detect.ssd import RawSSDDetector, RawSSDModel
from frigate_like.detect.tflite_file import read_graph
from frigate_like.errors import DetectorUnavailable

logger = logging.getLogger(__name__)

DEFAULT_DEVICE = "CPU"


def openvino_devices() -> list[str]:
    """The devices OpenVINO can use here (``CPU``, ``GPU``, ``GPU.1``, ``NPU``...); [] without OpenVINO."""
    try:
        import openvino as ov
    except ImportError:
        return []
    return list(ov.Core().available_devices)


class OpenVINODetector(RawSSDDetector):
    """The model cut before its post-process op, compiled for one OpenVINO device."""

    def __init__(
        self,
        model: ModelConfig,
        detector: DetectorConfigLike,
        *,
        min_score: float = DEFAULT_MIN_SCORE,
        batch: int = 1,
    ) -> None:
        try:
            import openvino as ov
            from openvino.frontend import FrontEndManager
        except ImportError as exc:
            raise DetectorUnavailable("the openvino detector needs: pip install 'frigate-like[openvino]'") from exc
        model_file = model.file_for(detector.type)
        if not model_file.is_file():
            raise DetectorUnavailable(f"model file not found: {model_file}")
        graph = read_graph(model_file)
        raw = RawSSDModel.from_graph(graph)
        input_tensor = graph.tensor(raw.input_name)
        spec = ModelSpec.from_config(model)
        spec.check_file_size(model_file.name, input_tensor.shape[2], input_tensor.shape[1])
        spec = replace(spec, input_dtype="float32" if input_tensor.dtype is np.float32 else "uint8")
        super().__init__(spec, raw, min_score=min_score)
        self.device = (detector.device or DEFAULT_DEVICE).upper()
        try:
            frontend = FrontEndManager().load_by_framework("tflite")
            full = frontend.convert_partially(frontend.load(str(model_file)))
            outputs = {name: out for op in full.get_ordered_ops() for out in op.outputs() for name in out.get_names()}
            cut = ov.Model([outputs[raw.boxes_name], outputs[raw.classes_name]], full.get_parameters(), "ssd_raw")
            if batch != 1:
                _free_batch(cut)
                cut.reshape({cut.inputs[0]: [batch, *input_tensor.shape[1:]]})
            config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
            if self.device == "CPU":
                config["INFERENCE_NUM_THREADS"] = detector.num_threads
            self._compiled = ov.Core().compile_model(cut, self.device, config)
        except (RuntimeError, KeyError) as exc:
            raise DetectorUnavailable(f"OpenVINO cannot load {model_file.name} on {self.device}: {exc}") from exc
        self._request = self._compiled.create_infer_request()
        self.batch = batch
        logger.info("loaded %s on openvino %s (raw outputs, numpy post-process)", model_file.name, self.device)

    def _run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        result = self._request.infer({0: batch})
        return np.array(result[0]), np.array(result[1])  # copies: the request's buffers are reused

    def close(self) -> None:
        self._request = None
        self._compiled = None


def _free_batch(model: Any) -> None:
    """Let a batch through the model's reshapes: their constant target shapes say batch 1.

    Each such shape gets 0 ("copy the input's dimension") as its first entry instead.
    """
    from openvino import opset13

    for op in model.get_ordered_ops():
        if op.get_type_name() != "Reshape":
            continue
        target = op.input_value(1).get_node()
        if target.get_type_name() != "Constant":
            continue
        shape = target.get_data().copy()
        if shape.size and shape[0] == 1:
            shape[0] = 0
            op.input(1).replace_source_output(opset13.constant(shape).output(0))
            op.set_special_zero(True)
