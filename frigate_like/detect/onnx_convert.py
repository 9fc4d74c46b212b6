"""Convert a quantised SSD .tflite model, cut before its post-process op, into ONNX (QLinear operators).

ONNX Runtime cannot read .tflite files and no converter on PyPI handles this model
without TensorFlow itself (tf2onnx imports TensorFlow; tflite2onnx stops at the
custom ``TFLite_Detection_PostProcess`` op). The graph of these models is small —
uint8 CONV_2D / DEPTHWISE_CONV_2D, RESHAPE and CONCATENATION — so it is translated
here operator by operator with the same quantisation parameters (``QLinearConv`` with
the file's uint8 weights, int32 biases and scales), which keeps the outputs within a
rounding step of LiteRT's. The result ends at the raw box and class tensors, as
float32 (``DequantizeLinear``), with a free batch dimension.

Run it once with ``frigate-like convert-model``; the ONNX detector does it itself
into the cache folder when the file is missing (``cached_onnx_model``).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from frigate_like.detect.ssd import RawSSDModel
from frigate_like.detect.tflite_file import TensorInfo, TFLiteGraph, read_graph
from frigate_like.errors import DetectorUnavailable

logger = logging.getLogger(__name__)

OPSET = 13
_PADDING = {0: "SAME_UPPER", 1: "VALID"}  # TF "SAME" pads the extra pixel at the end, as SAME_UPPER
_ACTIVATION_RANGE = {0: None, 1: (0.0, None), 2: (-1.0, 1.0), 3: (0.0, 6.0)}  # NONE, RELU, RELU_N1_TO_1, RELU6


class _Builder:
    def __init__(self, graph: TFLiteGraph) -> None:
        from onnx import helper

        self.helper = helper
        self.graph = graph
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: dict[int, str] = {}  # tflite tensor index -> ONNX value name
        self.nchw: set[int] = set()  # tensors held as NCHW (conv outputs); the rest keep the TFLite layout
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}__{self._count}"

    def constant(self, hint: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def quant(self, tensor: TensorInfo) -> tuple[str, str]:
        if not tensor.scale:
            raise DetectorUnavailable(f"tensor {tensor.name} is not quantised: only uint8 models convert")
        return (
            self.constant(f"{tensor.name}_scale", np.array(tensor.scale, np.float32)),
            self.constant(f"{tensor.name}_zero", np.array(tensor.zero_point, np.uint8)),
        )

    def node(self, op: str, inputs: list[str], hint: str, **attrs: Any) -> str:
        out = self.fresh(hint)
        self.nodes.append(self.helper.make_node(op, inputs, [out], **attrs))
        return out

    def native(self, index: int) -> str:
        """The tensor in TFLite's (NHWC) layout."""
        name = self.names[index]
        if index in self.nchw:
            return self.node("Transpose", [name], "nhwc", perm=[0, 2, 3, 1])
        return name

    def conv(self, op_kind: str, inputs: tuple[int, ...], output: int, options: dict[str, Any]) -> None:
        x, w, b = (self.graph.tensors[i] for i in inputs)
        y = self.graph.tensors[output]
        if w.data is None or b.data is None:
            raise DetectorUnavailable(f"{y.name}: weights are not constants")
        if op_kind == "CONV_2D":
            weights = w.data.transpose(0, 3, 1, 2)  # OHWI -> OIHW
            group = 1
        else:
            if options.get("depth_multiplier", 1) != 1:
                raise DetectorUnavailable(f"{y.name}: depth multiplier {options['depth_multiplier']} unsupported")
            weights = w.data.transpose(3, 0, 1, 2)  # 1HWC -> C1HW
            group = weights.shape[0]
        if options.get("dilation_w", 1) != 1 or options.get("dilation_h", 1) != 1:
            raise DetectorUnavailable(f"{y.name}: dilated convolutions unsupported")
        x_name = self.names[inputs[0]] if inputs[0] in self.nchw else self._to_nchw(inputs[0])
        out = self.node(
            "QLinearConv",
            [
                x_name,
                *self.quant(x),
                self.constant(f"{y.name}_w", weights),
                *self.quant(w),
                *self.quant(y),
                self.constant(f"{y.name}_b", b.data.astype(np.int32)),
            ],
            y.name,
            auto_pad=_PADDING[int(options.get("padding", 0))],
            strides=[int(options["stride_h"]), int(options["stride_w"])],
            group=group,
            kernel_shape=list(weights.shape[2:]),
        )
        span = _ACTIVATION_RANGE.get(int(options.get("activation", 0)))
        if span is not None:
            low = 0 if span[0] is None else max(0, round(span[0] / y.scale) + y.zero_point)
            high = 255 if span[1] is None else min(255, round(span[1] / y.scale) + y.zero_point)
            if (low, high) != (0, 255):
                out = self.node(
                    "Clip",
                    [out, self.constant("lo", np.array(low, np.uint8)), self.constant("hi", np.array(high, np.uint8))],
                    "act",
                )
        self.names[output] = out
        self.nchw.add(output)

    def _to_nchw(self, index: int) -> str:
        return self.node("Transpose", [self.names[index]], "nchw", perm=[0, 3, 1, 2])

    def reshape(self, inputs: tuple[int, ...], output: int, options: dict[str, Any]) -> None:
        shape = options.get("new_shape") or []
        shape_data = self.graph.tensors[inputs[1]].data if len(inputs) > 1 else None
        if not shape and shape_data is not None:
            shape = [int(v) for v in shape_data.reshape(-1)]
        if not shape:
            shape = list(self.graph.tensors[output].shape)
        shape = [0, *shape[1:]]  # keep the batch dimension free (0 = copy it)
        self.names[output] = self.node(
            "Reshape", [self.native(inputs[0]), self.constant("shape", np.array(shape, np.int64))], "reshape"
        )

    def concat(self, inputs: tuple[int, ...], output: int, options: dict[str, Any]) -> None:
        # The inputs have scales of their own: dequantise, join, quantise to the output's scale (as LiteRT).
        floats = [
            self.node("DequantizeLinear", [self.native(i), *self.quant(self.graph.tensors[i])], "deq") for i in inputs
        ]
        joined = self.node("Concat", floats, "concat", axis=int(options.get("axis", 0)))
        y = self.graph.tensors[output]
        self.names[output] = self.node("QuantizeLinear", [joined, *self.quant(y)], y.name)


def convert(tflite_path: Path, onnx_path: Path) -> None:
    """Write ``onnx_path``: the model at ``tflite_path`` up to its raw SSD tensors."""
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError as exc:
        raise DetectorUnavailable("converting to ONNX needs: pip install 'frigate-like[onnx]'") from exc
    graph = read_graph(tflite_path)
    raw = RawSSDModel.from_graph(graph)
    wanted = {graph.tensor(raw.boxes_name).index, graph.tensor(raw.classes_name).index}
    needed = _needed_operators(graph, wanted)
    builder = _Builder(graph)
    input_tensor = graph.tensors[graph.inputs[0]]
    if input_tensor.dtype is not np.uint8:
        raise DetectorUnavailable(f"{tflite_path.name}: only uint8 (quantised) models convert to ONNX")
    builder.names[input_tensor.index] = "input"
    for op in needed:
        if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            builder.conv(op.kind, op.inputs[:3], op.outputs[0], op.options)
        elif op.kind in ("RESHAPE", "SQUEEZE"):
            builder.reshape(op.inputs, op.outputs[0], op.options)
        elif op.kind == "CONCATENATION":
            builder.concat(op.inputs, op.outputs[0], op.options)
        else:
            raise DetectorUnavailable(f"{tflite_path.name}: operator {op.kind} cannot be converted to ONNX here")
    outputs = []
    for name in (raw.boxes_name, raw.classes_name):
        tensor = graph.tensor(name)
        value = builder.node("DequantizeLinear", [builder.native(tensor.index), *builder.quant(tensor)], "out")
        builder.nodes.append(helper.make_node("Identity", [value], [name]))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", *tensor.shape[1:]]))
    onnx_graph = helper.make_graph(
        builder.nodes,
        "ssd_raw",
        [helper.make_tensor_value_info("input", TensorProto.UINT8, ["batch", *input_tensor.shape[1:]])],
        outputs,
        builder.initializers,
    )
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="frigate-like")
    onnx.checker.check_model(model)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = onnx_path.with_name(onnx_path.name + ".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(onnx_path)


def _needed_operators(graph: TFLiteGraph, wanted: set[int]) -> list[Any]:
    """The operators producing ``wanted`` tensors, in file (topological) order."""
    producers = {out: op for op in graph.operators for out in op.outputs}
    needed: set[int] = set()
    stack = list(wanted)
    while stack:
        op = producers.get(stack.pop())
        if op is None or id(op) in needed:
            continue
        needed.add(id(op))
        stack.extend(op.inputs)
    return [op for op in graph.operators if id(op) in needed]


def cached_onnx_model(tflite_path: Path, cache_dir: Path) -> Path:
    """The converted model for ``tflite_path`` in ``cache_dir`` (converted now if missing).

    Named after the file's content hash, so a replaced model is converted again.
    """
    digest = hashlib.sha256(tflite_path.read_bytes()).hexdigest()[:16]
    target = cache_dir / f"{tflite_path.stem}-{digest}.onnx"
    if not target.is_file():
        logger.info("converting %s to ONNX: %s", tflite_path.name, target)
        convert(tflite_path, target)
    return target
