"""Builds the /api/stats document (Frigate 0.8's shape) from the live metrics."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frigate_like import __version__
from frigate_like.metrics import CameraMetrics
from frigate_like.video.capture import CaptureMetrics


@dataclass
class CameraStatsSource:
    metrics: CameraMetrics
    capture: CaptureMetrics


def mount_type(path: Path, mounts_file: Path = Path("/proc/mounts")) -> str:
    """The file-system type of the mount that holds ``path`` (longest matching mount point)."""
    try:
        lines = mounts_file.read_text().splitlines()
    except OSError:
        return "unknown"
    target = str(path.resolve())
    best, best_type = "", "unknown"
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > len(best):
            best, best_type = mount_point, fields[2]
    return best_type


def storage_of(path: Path) -> dict[str, Any]:
    usage = shutil.disk_usage(path)
    kind = mount_type(path)
    mb = 1024 * 1024
    return {
        "total": round(usage.total / mb, 1),
        "used": round(usage.used / mb, 1),
        "free": round(usage.free / mb, 1),
        "mnt_type": kind,
        "mount_type": kind,  # the name Frigate 0.8 emitted
    }


class StatsCollector:
    """Reads every process's counters; cheap enough to call per request."""

    def __init__(
        self,
        detector_stats: Callable[[], dict[str, dict[str, Any]]],
        storage_paths: list[Path],
        started: float | None = None,
    ) -> None:
        self._cameras: dict[str, CameraStatsSource] = {}  # the registry's StatsSubscriber adds them
        self._detector_stats = detector_stats
        self._storage_paths = storage_paths
        self._started = started if started is not None else time.time()
        self._camera_sections: list[Callable[[], dict[str, dict[str, Any]]]] = []
        self._service_sections: dict[str, Callable[[], Any]] = {}

    def add_camera_section(self, source: Callable[[], dict[str, dict[str, Any]]]) -> None:
        """Adds keys to cameras' entries: ``source()`` returns ``{camera: {key: value}}`` (e.g. recording)."""
        self._camera_sections.append(source)

    def add_service_section(self, key: str, source: Callable[[], Any]) -> None:
        """Adds ``service[key] = source()`` (e.g. ``health``: the supervisor's per-subsystem health)."""
        self._service_sections[key] = source

    def add_camera(self, name: str, source: CameraStatsSource) -> None:
        """A camera added (or restarted) at run time; replaces an entry of the same name."""
        self._cameras = {**self._cameras, name: source}

    def remove_camera(self, name: str) -> None:
        self._cameras = {k: v for k, v in self._cameras.items() if k != name}

    def camera_entries(self) -> dict[str, dict[str, Any]]:
        """The per-camera entries alone (``{camera: {...}}``), cheap: what a cluster node publishes in its row."""
        doc: dict[str, dict[str, Any]] = {}
        for name, source in self._cameras.items():  # add/remove swap in a new dict: never changed mid-loop
            capture = source.capture
            detection_fps = float(source.metrics.detection_fps.value)
            doc[name] = {
                "camera_fps": round(float(capture.camera_fps.value), 2),
                "detection_fps": round(detection_fps, 2),
                "capture_pid": int(capture.capture_pid.value) or None,
                "pid": int(source.metrics.pid.value) or None,
                "process_fps": round(float(source.metrics.process_fps.value), 2),
                "skipped_fps": round(float(capture.skipped_fps.value), 2),
                "reconnects_last_hour": capture.reconnects_last_hour(),
                "detection_enabled": bool(source.metrics.detect_enabled.value),
                "storage_full": bool(capture.storage_full.value),
                "stalled": bool(capture.stalled.value),
            }
        for section in self._camera_sections:
            for name, values in section().items():
                if name in doc:
                    doc[name].update(values)
        return doc

    def stats(self) -> dict[str, Any]:
        doc: dict[str, Any] = dict(self.camera_entries())
        doc["detection_fps"] = round(sum(entry["detection_fps"] for entry in doc.values()), 2)
        doc["detectors"] = self._detector_stats()
        storage: dict[str, Any] = {}
        for path in self._storage_paths:
            if path.exists():
                storage[str(path)] = storage_of(path)
        doc["service"] = {
            "uptime": int(time.time() - self._started),
            "version": __version__,
            "storage": storage,
            "pid": os.getpid(),
        }
        for key, section in self._service_sections.items():
            doc["service"][key] = section()
        return doc
