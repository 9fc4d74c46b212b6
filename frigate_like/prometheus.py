"""``/metrics``: this node's figures in the Prometheus text format, every sample labelled with its node.

Built with ``prometheus_client`` at scrape time from the sources the API already has (the node's
own ``/api/stats`` document, never the merged cluster one: each node is scraped for itself), so
there is no second set of counters to keep in step. A source that fails (the database away) leaves
its families out of that scrape and counts in ``frigate_like_scrape_errors``; the rest still answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from frigate_like.stats import camera_entries

logger = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
PREFIX = "frigate_like"
CAMERA_GAUGES = {  # /api/stats key -> (metric, help)
    "camera_fps": ("camera_fps", "frames per second the camera delivers"),
    "process_fps": ("camera_process_fps", "frames per second processed (motion, tracking)"),
    "detection_fps": ("camera_detection_fps", "object detections per second"),
    "skipped_fps": ("camera_skipped_fps", "frames per second skipped (the pipeline could not keep up)"),
}


@dataclass
class MetricSources:
    """Where the figures come from; None for a part this node runs without."""

    node_id: str
    stats: Callable[[], Mapping[str, Any]]  # this node's own /api/stats document
    detector_calls: Callable[[], Mapping[str, int]] | None = None  # inferences answered per detector
    event_counts: Callable[[], list[tuple[str, str, int]]] | None = None  # (camera, label, rows) of this node
    leases_held: Callable[[], int] | None = None  # cluster: cameras this node holds a lease on


class NodeCollector(Collector):
    """A ``prometheus_client`` collector reading :class:`MetricSources` on every scrape."""

    def __init__(self, sources: MetricSources) -> None:
        self._sources = sources
        self.errors: dict[str, int] = {}

    def collect(self) -> Iterator[Metric]:
        node = self._sources.node_id
        stats = self._read("stats", self._sources.stats) or {}
        yield from _camera_metrics(node, stats)
        yield from _detector_metrics(node, stats, self._read("detector_calls", self._sources.detector_calls))
        yield from _health_metrics(node, stats)
        counts = self._read("event_counts", self._sources.event_counts)
        if counts is not None:
            events = GaugeMetricFamily(
                f"{PREFIX}_events", "events in the database written by this node", labels=["node", "camera", "label"]
            )
            for camera, label, rows in counts:
                events.add_metric([node, camera, label], rows)
            yield events
        leases = self._read("leases_held", self._sources.leases_held)
        if leases is not None:
            yield _node_gauge(f"{PREFIX}_leases_held", "camera leases this node holds", node, leases)
        errors = CounterMetricFamily(
            f"{PREFIX}_scrape_errors", "sources that could not be read during a scrape", labels=["node", "source"]
        )
        for source, count in sorted(self.errors.items()):
            errors.add_metric([node, source], count)
        yield errors

    def _read(self, name: str, source: Callable[[], Any] | None) -> Any:
        if source is None:
            return None
        try:
            return source()
        except Exception as exc:  # one source down must not take the scrape down
            logger.debug("metrics source %s failed: %s", name, exc)
            self.errors[name] = self.errors.get(name, 0) + 1
            return None


def _camera_metrics(node: str, stats: Mapping[str, Any]) -> Iterator[Metric]:
    cameras = camera_entries(stats)
    for key, (name, help_text) in CAMERA_GAUGES.items():
        family = GaugeMetricFamily(f"{PREFIX}_{name}", help_text, labels=["node", "camera"])
        for camera, entry in sorted(cameras.items()):
            if isinstance(entry.get(key), int | float):
                family.add_metric([node, camera], float(entry[key]))
        yield family


def _detector_metrics(node: str, stats: Mapping[str, Any], calls: Mapping[str, int] | None) -> Iterator[Metric]:
    detectors = stats.get("detectors") or {}
    speed = GaugeMetricFamily(
        f"{PREFIX}_detector_inference_ms", "inference time, moving average (ms)", labels=["node", "detector"]
    )
    up = GaugeMetricFamily(f"{PREFIX}_detector_up", "1 while the detector process runs", labels=["node", "detector"])
    for name, detector in sorted(detectors.items()):
        speed.add_metric([node, name], float(detector.get("inference_speed") or 0.0))
        up.add_metric([node, name], 0.0 if detector.get("pid") is None else 1.0)
    yield speed
    yield up
    if calls is not None:
        total = CounterMetricFamily(f"{PREFIX}_detector_calls", "inferences answered", labels=["node", "detector"])
        for name, count in sorted(calls.items()):
            total.add_metric([node, name], float(count))
        yield total


def _health_metrics(node: str, stats: Mapping[str, Any]) -> Iterator[Metric]:
    """``service.health`` (database, mqtt, each thread and process) as 1/0, and the two links on their own."""
    health = (stats.get("service") or {}).get("health") or {}
    ok = GaugeMetricFamily(f"{PREFIX}_health_ok", "1 while the part is healthy", labels=["node", "part"])
    for part, entry in sorted(health.items()):
        if isinstance(entry, dict):
            ok.add_metric([node, part], 1.0 if entry.get("ok", True) else 0.0)
    yield ok
    for part in ("database", "mqtt"):
        entry = health.get(part)
        if isinstance(entry, dict):
            up = 1.0 if entry.get("ok", True) else 0.0
            yield _node_gauge(f"{PREFIX}_{part}_up", f"1 while the {part} link is healthy", node, up)
    uptime = (stats.get("service") or {}).get("uptime")
    if isinstance(uptime, int | float):
        yield _node_gauge(f"{PREFIX}_uptime_seconds", "seconds since the daemon started", node, uptime)


def _node_gauge(name: str, help_text: str, node: str, value: float) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, help_text, labels=["node"])
    gauge.add_metric([node], float(value))
    return gauge


class MetricsExport:
    """The ``/metrics`` body of one node: its own registry (never the process-wide default one)."""

    def __init__(self, sources: MetricSources) -> None:
        self.collector = NodeCollector(sources)
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self.collector)

    def render(self) -> bytes:
        return generate_latest(self._registry)
