"""The wire between camera processes and detector processes: request pipe, shared buffers, channel.

Per camera there are two shared-memory blocks: the input tensor (H×W×3 uint8,
filled in place by the camera) and the output block::

    uint32 request_seq   written by the client before it sends a request
    uint32 result_seq    written by a detector after the rows, last
    uint32 count         number of valid rows
    uint32 (unused)
    float32[MAX_DETECTIONS, 6] rows

A request is 8 bytes on one pipe shared by every camera and every detector
(``camera_index, seq``). Writes of at most PIPE_BUF bytes are atomic and a pipe
read of 8 bytes takes exactly one whole message, so neither side needs a lock:
a detector killed at any point cannot leave a lock held and wedge the others
(a ``multiprocessing`` queue would). The answer is a per-camera POSIX semaphore.
Sequence numbers let a client that timed out ignore a late answer, and let a
detector skip a request its camera has already given up on.
"""

from __future__ import annotations

import contextlib
import os
import select
import struct
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from multiprocessing.shared_memory import SharedMemory
from multiprocessing.synchronize import Semaphore
from typing import Any

import numpy as np

from frigate_like.detect.api import MAX_DETECTIONS

REQUEST_SEQ, RESULT_SEQ, COUNT = 0, 1, 2
_HEADER_WORDS = 4
_HEADER_BYTES = _HEADER_WORDS * 4
OUTPUT_BYTES = _HEADER_BYTES + MAX_DETECTIONS * 6 * 4

# A stop sentinel's camera index: it only wakes a detector so that it looks at the stop event.
WAKE = -1

_MESSAGE = struct.Struct("=iI")  # camera index, sequence number


class RequestQueue:
    """One pipe of fixed-size requests, any number of writers and readers, no locks.

    Both ends are non-blocking: a reader that lost the race for a message gets
    nothing and polls again; a writer facing a full pipe (thousands of requests no
    detector takes) gets ``False`` instead of blocking its camera.
    """

    def __init__(self, ctx: BaseContext) -> None:
        self._reader, self._writer = ctx.Pipe(duplex=False)
        os.set_blocking(self._reader.fileno(), False)
        os.set_blocking(self._writer.fileno(), False)
        self._poller: select.poll | None = None

    def put(self, camera_index: int, seq: int) -> bool:
        try:
            os.write(self._writer.fileno(), _MESSAGE.pack(camera_index, seq))
        except BlockingIOError:
            return False
        return True

    def get(self, timeout: float) -> tuple[int, int] | None:
        """The next request, or None after ``timeout`` seconds or when another reader took it."""
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(self._reader.fileno(), select.POLLIN)
        if not self._poller.poll(timeout * 1000.0):
            return None
        try:
            data = os.read(self._reader.fileno(), _MESSAGE.size)
        except BlockingIOError:
            return None
        camera_index, seq = _MESSAGE.unpack(data)
        return camera_index, seq

    def close(self) -> None:
        self._reader.close()
        self._writer.close()

    def __getstate__(self) -> dict[str, Any]:
        # A poll object is per process; the pipe ends travel (as duplicated fds) when spawning.
        return {"_reader": self._reader, "_writer": self._writer, "_poller": None}


@dataclass(frozen=True)
class DetectorChannel:
    """Everything a camera process needs to ask for detections (pass it as a Process argument)."""

    camera: str
    camera_index: int
    input_name: str
    output_name: str
    width: int
    height: int
    requests: RequestQueue
    response: Semaphore


class CameraBuffers:
    """Numpy views on one camera's input and output blocks."""

    def __init__(self, input_shm: SharedMemory, output_shm: SharedMemory, width: int, height: int) -> None:
        self._input_shm = input_shm
        self._output_shm = output_shm
        self._closed = False
        self.input: np.ndarray = np.ndarray((height, width, 3), dtype=np.uint8, buffer=input_shm.buf)
        self.header: np.ndarray = np.ndarray((_HEADER_WORDS,), dtype=np.uint32, buffer=output_shm.buf)
        self.rows: np.ndarray = np.ndarray(
            (MAX_DETECTIONS, 6), dtype=np.float32, buffer=output_shm.buf, offset=_HEADER_BYTES
        )

    @classmethod
    def create(cls, input_name: str, output_name: str, width: int, height: int) -> CameraBuffers:
        input_shm = SharedMemory(input_name, create=True, size=width * height * 3)
        try:
            output_shm = SharedMemory(output_name, create=True, size=OUTPUT_BYTES)
        except BaseException:
            input_shm.close()
            input_shm.unlink()
            raise
        buffers = cls(input_shm, output_shm, width, height)
        buffers.header[:] = 0
        return buffers

    @classmethod
    def attach(cls, channel: DetectorChannel) -> CameraBuffers:
        input_shm = SharedMemory(channel.input_name)
        try:
            output_shm = SharedMemory(channel.output_name)
        except BaseException:
            input_shm.close()
            raise
        return cls(input_shm, output_shm, channel.width, channel.height)

    def close(self) -> None:
        """Drop the views, then unmap (the caller must hold no views of its own)."""
        if self._closed:
            return
        self._closed = True
        del self.input, self.header, self.rows
        self._input_shm.close()
        self._output_shm.close()

    def unlink(self) -> None:
        for shm in (self._input_shm, self._output_shm):
            with contextlib.suppress(FileNotFoundError):
                shm.unlink()
