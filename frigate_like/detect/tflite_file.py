"""Read the graph of a .tflite file (operators, tensors, constants) without a runtime.

The runtimes that cannot run ``TFLite_Detection_PostProcess`` (OpenVINO, ONNX Runtime)
need three things from the file: where the raw box and class tensors are, the anchors
(a constant input of that op) and its options (a FlexBuffer map: scales, NMS IoU, how
many detections). The ONNX converter also needs each operator's options. A .tflite
file is a FlatBuffer; this reads the few tables of its schema (``schema.fbs`` in
TensorFlow Lite) that these need, by field number, with the ``flatbuffers`` package
LiteRT depends on anyway.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from flatbuffers import flexbuffers
from flatbuffers import number_types as n
from flatbuffers.table import Table

from frigate_like.errors import DetectorUnavailable

# BuiltinOperator codes of the operators this project reads or converts.
BUILTIN_NAMES = {2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 14: "LOGISTIC", 22: "RESHAPE", 43: "SQUEEZE"}
CUSTOM = 32
POSTPROCESS = "TFLite_Detection_PostProcess"
# TensorType -> numpy dtype
_DTYPES: dict[int, type[np.generic]] = {
    0: np.float32,
    2: np.int32,
    3: np.uint8,
    4: np.int64,
    9: np.int8,
}


def _field(t: Table, index: int) -> int:
    """Offset of field ``index`` (0-based, in schema order; a union takes two) or 0 when absent."""
    return int(t.Offset(4 + 2 * index))


def _scalar(t: Table, index: int, kind: Any, default: int | float = 0) -> Any:
    off = _field(t, index)
    return t.Get(kind, off + t.Pos) if off else default


def _vector(t: Table, index: int, dtype: type[np.generic]) -> np.ndarray:
    off = _field(t, index)
    if not off:
        return np.zeros(0, dtype=dtype)
    start = t.Vector(off)
    length = t.VectorLen(off)
    return np.frombuffer(t.Bytes, dtype=dtype, count=length, offset=start).copy()


def _tables(t: Table, index: int) -> list[Table]:
    off = _field(t, index)
    if not off:
        return []
    start = t.Vector(off)
    return [Table(t.Bytes, t.Indirect(start + 4 * i)) for i in range(t.VectorLen(off))]


def _string(t: Table, index: int) -> str:
    off = _field(t, index)
    return t.String(off + t.Pos).decode() if off else ""


def _sub_table(t: Table, index: int) -> Table | None:
    off = _field(t, index)
    return Table(t.Bytes, t.Indirect(off + t.Pos)) if off else None


@dataclass(frozen=True)
class TensorInfo:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: type[np.generic]
    scale: float  # 0.0 for a tensor that is not quantised
    zero_point: int
    data: np.ndarray | None  # the constant's values (raw, still quantised), None for activations


@dataclass(frozen=True)
class OperatorInfo:
    kind: str  # builtin name, or the custom code for custom operators
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, int | list[int]] = field(default_factory=dict)  # builtin options this module reads
    custom_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TFLiteGraph:
    tensors: list[TensorInfo]
    operators: list[OperatorInfo]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    def tensor(self, name: str) -> TensorInfo:
        for tensor in self.tensors:
            if tensor.name == name:
                return tensor
        raise KeyError(name)

    def postprocess(self) -> OperatorInfo:
        """The ``TFLite_Detection_PostProcess`` operator (inputs: boxes, class scores, anchors)."""
        for op in self.operators:
            if op.kind == POSTPROCESS:
                return op
        raise DetectorUnavailable(f"the model has no {POSTPROCESS} operator: not an SSD post-process model")


# Builtin option tables this module reads: (field name, flatbuffers type, default), in schema order.
_OPTION_FIELDS: dict[str, tuple[tuple[str, Any, int], ...]] = {
    "CONV_2D": (
        ("padding", n.Int8Flags, 0),
        ("stride_w", n.Int32Flags, 0),
        ("stride_h", n.Int32Flags, 0),
        ("activation", n.Int8Flags, 0),
        ("dilation_w", n.Int32Flags, 1),
        ("dilation_h", n.Int32Flags, 1),
    ),
    "DEPTHWISE_CONV_2D": (
        ("padding", n.Int8Flags, 0),
        ("stride_w", n.Int32Flags, 0),
        ("stride_h", n.Int32Flags, 0),
        ("depth_multiplier", n.Int32Flags, 0),
        ("activation", n.Int8Flags, 0),
        ("dilation_w", n.Int32Flags, 1),
        ("dilation_h", n.Int32Flags, 1),
    ),
    "CONCATENATION": (("axis", n.Int32Flags, 0), ("activation", n.Int8Flags, 0)),
}


def _options(kind: str, t: Table | None) -> dict[str, int | list[int]]:
    if t is None:
        return {}
    if kind == "RESHAPE":
        return {"new_shape": [int(v) for v in _vector(t, 0, np.int32)]}
    fields = _OPTION_FIELDS.get(kind, ())
    return {name: int(_scalar(t, i, flags, default)) for i, (name, flags, default) in enumerate(fields)}


def read_graph(path: Path) -> TFLiteGraph:
    """The first subgraph of the .tflite file at ``path``."""
    try:
        buf = bytearray(path.read_bytes())
    except OSError as exc:
        raise DetectorUnavailable(f"cannot read model {path}: {exc}") from exc
    if buf[4:8] != b"TFL3":
        raise DetectorUnavailable(f"{path} is not a TensorFlow Lite model")
    model = Table(buf, int.from_bytes(buf[0:4], "little"))
    codes = []
    for code in _tables(model, 1):
        builtin = max(int(_scalar(code, 0, n.Int8Flags)), int(_scalar(code, 3, n.Int32Flags)))
        codes.append(_string(code, 1) if builtin == CUSTOM else BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}"))
    buffers = [_vector(b, 0, np.uint8) for b in _tables(model, 4)]
    subgraph = _tables(model, 2)[0]
    tensors = []
    for index, t in enumerate(_tables(subgraph, 0)):
        dtype = _DTYPES.get(int(_scalar(t, 1, n.Int8Flags)), np.uint8)
        shape = tuple(int(v) for v in _vector(t, 0, np.int32))
        quant = _sub_table(t, 4)
        scales = _vector(quant, 2, np.float32) if quant else np.zeros(0, np.float32)
        zeros = _vector(quant, 3, np.int64) if quant else np.zeros(0, np.int64)
        raw = buffers[int(_scalar(t, 2, n.Uint32Flags))]
        data = raw.view(dtype).reshape(shape) if raw.size else None
        tensors.append(
            TensorInfo(
                index,
                _string(t, 3),
                shape,
                dtype,
                float(scales[0]) if scales.size else 0.0,
                int(zeros[0]) if zeros.size else 0,
                data,
            )
        )
    operators = []
    for op in _tables(subgraph, 3):
        kind = codes[int(_scalar(op, 0, n.Uint32Flags))]
        custom = _vector(op, 5, np.uint8)
        operators.append(
            OperatorInfo(
                kind,
                tuple(int(i) for i in _vector(op, 1, np.int32)),
                tuple(int(i) for i in _vector(op, 2, np.int32)),
                _options(kind, _sub_table(op, 4)),
                flexbuffers.Loads(custom.tobytes()) if custom.size else {},
            )
        )
    return TFLiteGraph(
        tensors,
        operators,
        tuple(int(i) for i in _vector(subgraph, 1, np.int32)),
        tuple(int(i) for i in _vector(subgraph, 2, np.int32)),
    )


def input_shape(path: Path) -> tuple[int, ...]:
    """The shape of the model's first input tensor, e.g. ``(1, 300, 300, 3)``, read without a runtime
    (so edgetpu models too). ``OSError`` when the file cannot be read, ``DetectorUnavailable`` when it
    is not a readable .tflite model."""
    buf = bytearray(path.read_bytes())
    if buf[4:8] != b"TFL3":
        raise DetectorUnavailable(f"{path.name} is not a .tflite model (no TFL3 identifier)")
    try:
        model = Table(buf, int.from_bytes(buf[0:4], "little"))
        subgraph = _tables(model, 2)[0]
        first_input = int(_vector(subgraph, 1, np.int32)[0])
        tensor = _tables(subgraph, 0)[first_input]
        return tuple(int(v) for v in _vector(tensor, 0, np.int32))
    except (IndexError, ValueError, struct.error) as exc:
        raise DetectorUnavailable(f"{path.name} is a truncated or damaged .tflite model ({exc})") from None
