"""How many detector processes to run when the config names none.

Rule: one single-threaded detector per two usable cores, at least one, at most four.
One thread per inference is the most work per CPU-second (two XNNPACK threads make
an inference ~1.5x faster for 2x the CPU), so throughput comes from processes that
share the request queue, not from threads. Half of the cores stay for what every
camera needs whatever the detector does (ffmpeg decode, motion, tracking); an
accelerator (``edgetpu``, ``openvino`` GPU, ``onnx`` cuda) is configured explicitly.
"""

from __future__ import annotations

import os

MAX_DEFAULT_DETECTORS = 4


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, so containers with a CPU set count right)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_detector_count(cores: int | None = None) -> int:
    cores = usable_cores() if cores is None else cores
    return max(1, min(MAX_DEFAULT_DETECTORS, cores // 2))
