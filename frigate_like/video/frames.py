"""A ring of yuv420p frames in one shared-memory block, written by capture and read by any process.

Layout of the block (every part 64-byte aligned)::

    header   magic, width, height, slots
    times    float64[slots]   frame time of each slot, NaN while the slot is being written
    seqs     uint64[slots]    odd while the slot is being written (a seqlock per slot)
    frames   slots x (height * 3 // 2) x width bytes (yuv420p: Y plane, then U, then V)

One writer (the capture thread) and any number of readers. A reader in the camera process
uses :meth:`FrameRing.frame` (a view; the capture never overwrites a slot that is queued or
being processed). A reader elsewhere (the main process, for snapshots and the MJPEG stream)
uses :meth:`FrameRing.read_copy`, which returns None when the slot moved on to a newer frame
meanwhile. The seqlock relies on stores and loads staying in program order across processes,
as x86-64 guarantees. On weakly ordered CPUs (ARM) numpy issues no barriers, so in rare cases
a copy that raced a write could pass the check: a torn snapshot, never a crash.

Python 3.11's ``SharedMemory`` registers every block it opens with the process's
resource_tracker, which unlinks it (with a "leaked shared_memory" warning) when the
*attaching* process exits (cpython#82300). So only the creator's block is registered (the
main process's tracker then removes it if the daemon dies without cleaning up); every
mapping, the creator's included, is an untracked ``mmap`` of the same POSIX shm object.
"""

from __future__ import annotations

import _posixshmem
import logging
import math
import mmap
import os
import secrets
import struct
from multiprocessing.shared_memory import SharedMemory
from types import TracebackType

import numpy as np

logger = logging.getLogger(__name__)

_MAGIC = b"FLRING1\0"
_HEADER = struct.Struct("<8sIII")
_ALIGN = 64


def _align(n: int) -> int:
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


def shm_name_for(camera: str, instance: str | None = None) -> str:
    """A shared-memory name for ``camera``'s ring that no other daemon on the host can hold.

    ``instance`` defaults to the calling pid plus a random token: pids repeat across
    containers that share ``/dev/shm`` (``--ipc=host``), the token does not.
    """
    if instance is None:
        instance = f"{os.getpid()}_{secrets.token_hex(3)}"
    return f"fl_{instance}_{camera}"


def ring_bytes(width: int, height: int, slots: int) -> int:
    """Size of the shared-memory block of a ring (for /dev/shm size checks)."""
    return _Layout(width, height, slots).size


class _Layout:
    def __init__(self, width: int, height: int, slots: int) -> None:
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"yuv420p needs a positive, even width and height, got {width}x{height}")
        if slots < 1:
            raise ValueError(f"a ring needs at least one slot, got {slots}")
        self.width, self.height, self.slots = width, height, slots
        self.frame_size = width * height * 3 // 2
        self.stride = _align(self.frame_size)
        self.times_at = _align(_HEADER.size)
        self.seqs_at = self.times_at + _align(8 * slots)
        self.frames_at = self.seqs_at + _align(8 * slots)
        self.size = self.frames_at + self.stride * slots


def _map(name: str) -> mmap.mmap:
    """Maps the existing POSIX shm object ``name`` without involving the resource_tracker."""
    fd = _posixshmem.shm_open("/" + name, os.O_RDWR, mode=0o600)
    try:
        return mmap.mmap(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)  # the mapping keeps the object alive; the descriptor is not needed


class FrameRing:
    """``slots`` yuv420p frames of ``width`` x ``height`` plus a frame time per slot, in shared memory."""

    def __init__(self, name: str, layout: _Layout, mapping: mmap.mmap, owner: SharedMemory | None) -> None:
        self.name = name
        self.width, self.height, self.slots = layout.width, layout.height, layout.slots
        self.frame_size = layout.frame_size
        self.shape = (layout.height * 3 // 2, layout.width)
        self._owner = owner
        self._mmap: mmap.mmap | None = mapping
        self._times = np.ndarray((layout.slots,), np.float64, mapping, layout.times_at)
        self._seqs = np.ndarray((layout.slots,), np.uint64, mapping, layout.seqs_at)
        self._whole = memoryview(mapping)
        at = [layout.frames_at + i * layout.stride for i in range(layout.slots)]
        self._buffers = [self._whole[a : a + self.frame_size] for a in at]
        self._frames = [np.frombuffer(buf, np.uint8).reshape(self.shape) for buf in self._buffers]

    # -- lifecycle ------------------------------------------------------------------------------
    @classmethod
    def create(cls, name: str, width: int, height: int, slots: int) -> FrameRing:
        """Creates the block (``FileExistsError`` if the name is taken); the caller must unlink it."""
        layout = _Layout(width, height, slots)
        # SharedMemory creates the block and registers it with this process's resource
        # tracker, so a daemon that dies without unlink() does not leak it.
        owner = SharedMemory(name, create=True, size=layout.size)
        try:
            owner.close()  # our own mapping below is the one views are taken from
            mapping = _map(name)
        except BaseException:
            owner.unlink()
            raise
        _HEADER.pack_into(mapping, 0, _MAGIC, width, height, slots)
        ring = cls(name, layout, mapping, owner)
        ring._times[:] = math.nan
        ring._seqs[:] = 0
        return ring

    @classmethod
    def attach(cls, name: str, width: int, height: int, slots: int) -> FrameRing:
        """Maps an existing ring (``FileNotFoundError`` if none); never registers it for cleanup."""
        layout = _Layout(width, height, slots)
        mapping = _map(name)
        try:
            magic, w, h, n = _HEADER.unpack_from(mapping, 0) if len(mapping) >= _HEADER.size else (b"", 0, 0, 0)
            if magic != _MAGIC or (w, h, n) != (width, height, slots) or len(mapping) < layout.size:
                raise ValueError(f"shared memory {name!r} is not a {width}x{height}x{slots} frame ring")
        except BaseException:
            mapping.close()
            raise
        return cls(name, layout, mapping, None)

    def close(self) -> None:
        """Unmaps this process's view; views from :meth:`frame` must be dropped first."""
        if self._mmap is None:
            return
        # views first: a memoryview cannot be released while an array still uses it
        self._frames = []
        del self._times, self._seqs
        for buf in self._buffers:
            buf.release()
        self._buffers = []
        self._whole.release()
        mapping, self._mmap = self._mmap, None
        try:
            mapping.close()
        except BufferError:
            # a caller still holds a frame() view: the mapping goes when that view does
            logger.warning("frame ring %s closed while frame views are still in use", self.name)

    def unlink(self) -> None:
        """Removes the block from the system (creator only); mappings stay valid until closed."""
        if self._owner is None:
            raise RuntimeError(f"frame ring {self.name!r} was attached, only its creator unlinks it")
        owner, self._owner = self._owner, None
        owner.unlink()

    def __enter__(self) -> FrameRing:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- access ---------------------------------------------------------------------------------
    def frame(self, slot: int) -> np.ndarray:
        """The slot's frame as a ``(height * 3 // 2, width)`` uint8 view into shared memory."""
        return self._frames[slot]

    def buffer(self, slot: int) -> memoryview:
        """The slot's bytes as a writable flat memoryview (for ``readinto``)."""
        return self._buffers[slot]

    def begin_write(self, slot: int) -> None:
        """Marks ``slot`` as being overwritten; :meth:`set_frame_time` ends the write."""
        seq = int(self._seqs[slot])
        if seq % 2 == 0:  # already odd after an interrupted write
            self._seqs[slot] = seq + 1
        self._times[slot] = math.nan

    def set_frame_time(self, slot: int, frame_time: float) -> None:
        """Stores the time of the frame now in ``slot`` and publishes it to readers."""
        self._times[slot] = frame_time
        seq = int(self._seqs[slot])
        if seq % 2:
            self._seqs[slot] = seq + 1

    def frame_time(self, slot: int) -> float:
        """The time of the frame in ``slot``; NaN while it is being written or never was."""
        return float(self._times[slot])

    def read_copy(self, slot: int, expected_time: float, out: np.ndarray | None = None) -> np.ndarray | None:
        """A copy of the frame of ``expected_time`` in ``slot``, or None when the slot moved on.

        ``out`` (same shape, uint8) receives the copy instead of a new array.
        """
        seq = int(self._seqs[slot])
        if seq % 2 or float(self._times[slot]) != expected_time:
            return None
        if out is None:
            out = self._frames[slot].copy()
        else:
            np.copyto(out, self._frames[slot])
        if int(self._seqs[slot]) != seq:  # the writer started on this slot during the copy
            return None
        return out

    def __repr__(self) -> str:
        return f"FrameRing({self.name!r}, {self.width}x{self.height}, slots={self.slots})"
