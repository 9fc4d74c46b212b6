"""Builds the /api/stats document (Frigate 0.8's shape) from the live metrics; in a cluster, merged with the
other nodes' rows (:class:`ClusterStats`), and what a node writes to its row (:func:`node_stats_row`)."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frigate_like import __version__
from frigate_like.cluster.directory import ClusterDirectory, NodeInfo
from frigate_like.metrics import CameraMetrics
from frigate_like.video.capture import CaptureMetrics

logger = logging.getLogger(__name__)


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


# -- the cluster: one document from every node's row ----------------------------------------------------
NON_CAMERA_KEYS = frozenset({"detection_fps", "detectors", "service"})


def camera_entries(stats: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The per-camera entries of an ``/api/stats`` document (every key but the three of the service)."""
    return {name: entry for name, entry in stats.items() if name not in NON_CAMERA_KEYS and isinstance(entry, dict)}


def node_stats_row(stats: Mapping[str, Any]) -> dict[str, Any]:
    """What a node writes to its ``cluster_node.stats`` (JSON): its cameras' entries, its detectors and its
    service, from its own :meth:`StatsCollector.stats` document: ``json.dumps(node_stats_row(collector.stats()))``.
    """
    return {
        "cameras": camera_entries(stats),
        "detectors": dict(stats.get("detectors") or {}),
        "service": dict(stats.get("service") or {}),
    }


def merge_cluster_stats(local: Mapping[str, Any], node_id: str, others: Iterable[NodeInfo]) -> dict[str, Any]:
    """One ``/api/stats`` document in Frigate 0.8's shape for the whole cluster: this node's live ``local``
    document, plus the cameras and detectors of every other alive node's row (``node_stats_row``).

    Each camera entry and detector gains ``node_id`` (the node running it), and detectors are keyed
    ``<node>:<detector>`` so two nodes' ``cpu`` do not clash; ``service`` is this node's, with
    ``service.node_id`` and ``service.nodes`` (each node's liveness and cameras). A camera listed by two
    nodes (it just moved) is the running node's: this one first, then the freshest heartbeat.
    """
    doc: dict[str, Any] = {}
    detectors: dict[str, Any] = {}
    for name, entry in camera_entries(local).items():
        doc[name] = {**entry, "node_id": node_id}
    for name, detector in (local.get("detectors") or {}).items():
        detectors[f"{node_id}:{name}"] = {**detector, "node_id": node_id}
    nodes: dict[str, Any] = {}
    for info in sorted(others, key=lambda n: -n.heartbeat_at):
        nodes[info.node_id] = {"alive": info.alive, "url": info.url, "cameras": list(info.cameras)}
        if info.node_id == node_id or not info.alive:
            continue
        cameras, their_detectors = info.stats.get("cameras"), info.stats.get("detectors")
        for name, entry in (cameras if isinstance(cameras, dict) else {}).items():
            if name not in doc and isinstance(entry, dict):
                doc[name] = {**entry, "node_id": info.node_id}
        for name, detector in (their_detectors if isinstance(their_detectors, dict) else {}).items():
            if isinstance(detector, dict):
                detectors[f"{info.node_id}:{name}"] = {**detector, "node_id": info.node_id}
    doc["detection_fps"] = round(sum(float(e.get("detection_fps") or 0.0) for e in doc.values()), 2)
    doc["detectors"] = detectors
    doc["service"] = {**(local.get("service") or {}), "node_id": node_id, "nodes": dict(sorted(nodes.items()))}
    return doc


class ClusterStats:
    """``/api/stats`` (and MQTT ``stats``) of a node in a cluster: its live document merged with the rows of
    the others. The database away: this node's own cameras, with ``service.cluster_error`` saying why."""

    def __init__(self, local: Callable[[], dict[str, Any]], node_id: str, directory: ClusterDirectory) -> None:
        self._local = local
        self._node_id = node_id
        self._directory = directory

    def stats(self) -> dict[str, Any]:
        local = self._local()
        try:
            nodes = self._directory.nodes()
        except Exception as exc:  # a database outage must not take /api/stats down with it
            logger.debug("cluster rows unreadable", exc_info=True)
            doc = merge_cluster_stats(local, self._node_id, [])
            doc["service"]["cluster_error"] = f"the other nodes' stats are unreadable: {exc}"
            return doc
        return merge_cluster_stats(local, self._node_id, nodes)
