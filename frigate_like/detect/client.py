"""The camera side of the detector wire: fill the shared input tensor, ask, read the rows back."""

from __future__ import annotations

import logging
import time

import numpy as np

from frigate_like.detect.channel import COUNT, REQUEST_SEQ, RESULT_SEQ, CameraBuffers, DetectorChannel
from frigate_like.errors import DetectorUnavailable

logger = logging.getLogger(__name__)

_SEQ_MODULUS = 0xFFFFFFFF  # sequence numbers run 1..2**32-1; 0 is a fresh block's "no answer yet"


class DetectorClient:
    """Detections for one camera through the shared detector processes.

    One request at a time: use a client from one thread (one per camera).
    """

    def __init__(self, channel: DetectorChannel) -> None:
        self.channel = channel
        self._buffers = CameraBuffers.attach(channel)
        # The caller writes the RGB region here, in place, before each detect().
        self.input: np.ndarray = self._buffers.input
        # Carry on from the block's last number: an answer to a request of a previous client
        # of this camera (a restarted camera process) can then never pass for ours.
        self._seq = int(self._buffers.header[REQUEST_SEQ])
        self._closed = False

    def detect(self, timeout: float = 2.0) -> np.ndarray:
        """Detect objects in ``input``; N×6 float32 rows like ``Detector.detect_raw``.

        Raises ``DetectorUnavailable`` when no detector answers within ``timeout`` seconds
        (skip the frame; a late answer is recognised and ignored by the next call).
        """
        buffers = self._buffers
        header = buffers.header
        self._seq = seq = self._seq % _SEQ_MODULUS + 1
        header[REQUEST_SEQ] = seq
        if not self.channel.requests.put(self.channel.camera_index, seq):
            raise DetectorUnavailable("the detector request queue is full: no detector is taking requests")
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0.0 or not self.channel.response.acquire(timeout=remaining):
                raise DetectorUnavailable(f"no detector answered camera {self.channel.camera!r} within {timeout:g} s")
            if header[RESULT_SEQ] != seq:
                logger.debug("camera %s: ignoring a late detector answer", self.channel.camera)
                continue
            rows = buffers.rows[: int(header[COUNT])].copy()
            if header[RESULT_SEQ] == seq:  # not overwritten while we copied
                return rows

    def close(self) -> None:
        """Unmap the shared memory (drop any view of ``input`` you kept first)."""
        if self._closed:
            return
        self._closed = True
        del self.input
        self._buffers.close()

    def __enter__(self) -> DetectorClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
