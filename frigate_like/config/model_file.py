"""Read a .tflite model's input size from the file itself, without a runtime (so edgetpu models work too).

A .tflite file is a FlatBuffer of the schema ``tflite::Model``: ``subgraphs[0].inputs[0]`` is
the index of the input tensor in ``subgraphs[0].tensors``, whose ``shape`` is ``[1, h, w, 3]``.
Only the few offsets needed for that are followed here.
"""

from __future__ import annotations

import struct
from pathlib import Path

_IDENTIFIER = b"TFL3"
# field numbers in the tflite schema
_MODEL_SUBGRAPHS = 2
_SUBGRAPH_TENSORS = 0
_SUBGRAPH_INPUTS = 1
_TENSOR_SHAPE = 0


class ModelFileError(ValueError):
    """The file is not a .tflite model whose input can be read."""


class _Buffer:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def _u32(self, pos: int) -> int:
        if pos < 0 or pos + 4 > len(self.data):
            raise ModelFileError("truncated FlatBuffer")
        return int(struct.unpack_from("<I", self.data, pos)[0])

    def _field(self, table: int, number: int) -> int:
        """Absolute position of ``number``'s value in ``table``; 0 when the field is absent."""
        vtable = table - struct.unpack_from("<i", self.data, table)[0]
        vtable_size = struct.unpack_from("<H", self.data, vtable)[0]
        slot = 4 + 2 * number
        if slot >= vtable_size:
            return 0
        offset = struct.unpack_from("<H", self.data, vtable + slot)[0]
        return table + offset if offset else 0

    def _ref(self, table: int, number: int) -> int:
        """Position a reference field (table or vector) points to."""
        pos = self._field(table, number)
        if not pos:
            raise ModelFileError(f"field {number} missing")
        return pos + self._u32(pos)

    def vector(self, table: int, number: int) -> tuple[int, int]:
        """(position of the first element, length) of a vector field."""
        start = self._ref(table, number)
        return start + 4, self._u32(start)

    def table_at(self, element: int) -> int:
        return element + self._u32(element)

    def int32s(self, table: int, number: int) -> list[int]:
        first, count = self.vector(table, number)
        return list(struct.unpack_from(f"<{count}i", self.data, first))


def input_shape(path: Path) -> tuple[int, ...]:
    """The shape of the model's first input tensor, e.g. ``(1, 300, 300, 3)``.

    Raises ``OSError`` when the file cannot be read, ``ModelFileError`` when it is not a tflite model.
    """
    data = path.read_bytes()
    if data[4:8] != _IDENTIFIER:
        raise ModelFileError("not a .tflite model (no TFL3 identifier)")
    buf = _Buffer(data)
    try:
        model = buf.table_at(0)
        subgraphs, count = buf.vector(model, _MODEL_SUBGRAPHS)
        if not count:
            raise ModelFileError("the model has no subgraph")
        graph = buf.table_at(subgraphs)
        inputs = buf.int32s(graph, _SUBGRAPH_INPUTS)
        tensors, tensor_count = buf.vector(graph, _SUBGRAPH_TENSORS)
        if not inputs or not 0 <= inputs[0] < tensor_count:
            raise ModelFileError("the model has no input tensor")
        tensor = buf.table_at(tensors + 4 * inputs[0])
        return tuple(buf.int32s(tensor, _TENSOR_SHAPE))
    except struct.error as exc:
        raise ModelFileError(f"truncated FlatBuffer ({exc})") from None
