"""Build the detector a ``detectors:`` entry asks for; ``type: auto`` measures the candidates and keeps the fastest.

| type | runtime | device |
|---|---|---|
| ``cpu`` | LiteRT, XNNPACK, ``num_threads`` threads | — |
| ``edgetpu`` | LiteRT with the Coral delegate (``libedgetpu.so.1``) | ``usb``, ``usb:0``, ``pci``... |
| ``openvino`` | OpenVINO, the .tflite read directly | ``CPU`` (default), ``GPU``, ``AUTO``... |
| ``onnx`` | ONNX Runtime on a cached ONNX conversion | ``cpu`` (default), ``cuda`` |
| ``auto`` | the fastest of the above that loads here | — |

Every one of them answers ``Detector.detect_raw`` with the same rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from frigate_like.config import ModelConfig
from frigate_like.detect.api import Detector, DetectorConfigLike
from frigate_like.detect.tflite import DelegateLoader, LiteRTDetector, load_edgetpu_delegate
from frigate_like.errors import ConfigError, DetectorUnavailable

logger = logging.getLogger(__name__)

TYPES = ("cpu", "edgetpu", "openvino", "onnx", "auto")
# type: auto times this many inferences per candidate after as many warm-up ones.
AUTO_WARMUP = 3
AUTO_RUNS = 10


@dataclass(frozen=True)
class Candidate:
    """One runtime and device ``type: auto`` may pick, as a plain detector config."""

    type: str
    device: str | None
    num_threads: int

    @property
    def label(self) -> str:
        return f"{self.type}:{self.device}" if self.device else self.type


@dataclass(frozen=True)
class Choice:
    """The detector built, the runtime it runs on and why it was picked (shown in /api/stats)."""

    detector: Detector
    runtime: str
    reason: str


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "frigate-like" / "models"


def create_detector(
    model: ModelConfig,
    detector: DetectorConfigLike,
    *,
    cache_dir: Path | None = None,
    delegate_loader: DelegateLoader = load_edgetpu_delegate,
) -> Detector:
    """Build the detector one ``detectors:`` entry asks for (not ``auto``: see ``choose_detector``)."""
    kind = detector.type
    if kind in ("cpu", "edgetpu"):
        return LiteRTDetector(model, detector, delegate_loader=delegate_loader)
    if kind == "openvino":
        from frigate_like.detect.ov_runtime import OpenVINODetector

        return OpenVINODetector(model, detector)
    if kind == "onnx":
        from frigate_like.detect.ort_runtime import ONNXDetector

        return ONNXDetector(model, detector, cache_dir or default_cache_dir())
    raise ConfigError(f"detectors.type: unknown detector type {kind!r} ({', '.join(TYPES)})")


def candidates(num_threads: int) -> list[Candidate]:
    """What ``auto`` tries here: the Edge TPU, OpenVINO's devices, ONNX Runtime's, LiteRT's CPU."""
    from frigate_like.detect.ort_runtime import onnx_devices
    from frigate_like.detect.ov_runtime import openvino_devices

    found = [Candidate("edgetpu", None, num_threads)]
    found += [Candidate("openvino", device, num_threads) for device in openvino_devices()]
    found += [Candidate("onnx", device, num_threads) for device in onnx_devices()]
    found.append(Candidate("cpu", None, num_threads))
    return found


def measure(detector: Detector, shape: tuple[int, int, int], warmup: int = AUTO_WARMUP, runs: int = AUTO_RUNS) -> float:
    """Median ms of one ``detect_raw`` on a fixed noise image (decode and NMS included)."""
    tensor = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    for _ in range(warmup):
        detector.detect_raw(tensor)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        detector.detect_raw(tensor)
        times.append((time.perf_counter() - started) * 1000.0)
    return float(np.median(times))


def choose_detector(
    model: ModelConfig,
    detector: DetectorConfigLike,
    *,
    cache_dir: Path | None = None,
    options: list[Candidate] | None = None,
    build: Callable[[ModelConfig, Candidate], Detector] | None = None,
) -> Choice:
    """The detector for one entry; for ``auto`` the fastest candidate that loads, by a short measurement.

    An Edge TPU that loads wins without a measurement: it frees the CPU whatever its speed.
    """
    make = build or (lambda m, c: create_detector(m, c, cache_dir=cache_dir))
    if detector.type != "auto":
        chosen = make(model, Candidate(detector.type, detector.device, detector.num_threads))
        label = Candidate(detector.type, detector.device, detector.num_threads).label
        return Choice(chosen, label, "configured")
    shape = (model.height, model.width, 3)
    timings: dict[str, float] = {}
    failures: dict[str, str] = {}
    best: tuple[float, Candidate, Detector] | None = None
    for option in options if options is not None else candidates(detector.num_threads):
        try:
            built = make(model, option)
        except (DetectorUnavailable, ConfigError, OSError) as exc:
            failures[option.label] = str(exc).splitlines()[0][:120]
            continue
        if option.type == "edgetpu":
            if best is not None:
                best[2].close()
            return Choice(built, option.label, "auto: an Edge TPU loaded (it takes the work off the CPU)")
        timings[option.label] = ms = measure(built, shape)
        if best is None or ms < best[0]:
            if best is not None:
                best[2].close()
            best = (ms, option, built)
        else:
            built.close()
    if best is None:
        tried = "; ".join(f"{label}: {error}" for label, error in failures.items())
        raise DetectorUnavailable(f"auto: no detector runtime loads: {tried}")
    ms, option, built = best
    measured = ", ".join(f"{label} {t:.1f} ms" for label, t in sorted(timings.items(), key=lambda kv: kv[1]))
    skipped = f"; not available: {', '.join(sorted(failures))}" if failures else ""
    reason = f"auto: fastest median detection of {AUTO_RUNS} ({measured}){skipped}"
    logger.info("detector runtime %s chosen: %s", option.label, reason)
    return Choice(built, option.label, reason)

