"""/metrics: the Prometheus text format of one node, parsed back with prometheus_client's own parser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from frigate_like.api import ApiServices, create_app
from frigate_like.config import config_from_dict
from frigate_like.prometheus import MetricsExport, MetricSources
from tests.asgi_client import stack_client


def _stats() -> dict[str, Any]:
    return {
        "door": {"camera_fps": 5.0, "process_fps": 4.9, "detection_fps": 1.5, "skipped_fps": 0.1, "pid": 3},
        "detection_fps": 1.5,
        "detectors": {"cpu": {"inference_speed": 12.5, "pid": 7, "detection_start": 0.0}, "coral": {"pid": None}},
        "service": {
            "uptime": 42,
            "health": {"database": {"ok": True}, "mqtt": {"ok": False, "error": "broker away"}, "events": {"ok": True}},
        },
    }


def _samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_cameras_detectors_events_leases_and_links_labelled_with_the_node() -> None:
    def events() -> list[tuple[str, str, int]]:
        return [("door", "person", 4), ("door", "car", 1)]

    export = MetricsExport(
        MetricSources("node-a", _stats, lambda: {"cpu": 120, "coral": 0}, events, leases_held=lambda: 2)
    )
    samples = _samples(export.render())
    door = (("camera", "door"), ("node", "node-a"))
    assert samples[("frigate_like_camera_fps", door)] == 5.0
    assert samples[("frigate_like_camera_detection_fps", door)] == 1.5
    assert samples[("frigate_like_camera_skipped_fps", door)] == 0.1
    cpu = (("detector", "cpu"), ("node", "node-a"))
    assert samples[("frigate_like_detector_inference_ms", cpu)] == 12.5
    assert samples[("frigate_like_detector_calls_total", cpu)] == 120
    assert samples[("frigate_like_detector_up", (("detector", "coral"), ("node", "node-a")))] == 0
    assert samples[("frigate_like_events", (("camera", "door"), ("label", "person"), ("node", "node-a")))] == 4
    node = (("node", "node-a"),)
    assert samples[("frigate_like_leases_held", node)] == 2
    assert samples[("frigate_like_database_up", node)] == 1
    assert samples[("frigate_like_mqtt_up", node)] == 0
    assert samples[("frigate_like_health_ok", (("node", "node-a"), ("part", "mqtt")))] == 0
    assert samples[("frigate_like_uptime_seconds", node)] == 42
    assert all(dict(labels).get("node") == "node-a" for _, labels in samples), "every sample names its node"


def test_a_source_that_fails_leaves_the_rest_and_is_counted() -> None:
    def broken() -> list[tuple[str, str, int]]:
        raise ConnectionError("database away")

    export = MetricsExport(MetricSources("a", _stats, event_counts=broken))
    export.render()
    samples = _samples(export.render())
    assert samples[("frigate_like_scrape_errors_total", (("node", "a"), ("source", "event_counts")))] == 2
    assert ("frigate_like_camera_fps", (("camera", "door"), ("node", "a"))) in samples
    assert not any(name == "frigate_like_events" for name, _ in samples)


def test_the_route_is_a_read_behind_the_access_policy(tmp_path: Path, model_path: Path, labelmap_path: Path) -> None:
    def app(**http: Any) -> Any:
        cfg = config_from_dict(
            {
                "database": {"path": str(tmp_path / "frigate.db")},
                "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
                "http": http,
                "cameras": {
                    "door": {
                        "ffmpeg": {"inputs": [{"path": "rtsp://10.0.0.2/live", "roles": ["detect"]}]},
                        "width": 640,
                        "height": 480,
                    },
                },
            }
        )
        export = MetricsExport(MetricSources("a", _stats))
        return create_app(ApiServices(config=cfg, stats=dict, public_config=dict, events=None, metrics=export.render))

    open_reads = stack_client(app(api_token="t0ken"))  # the whole server stack: the access policy included
    response = open_reads.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert b"frigate_like_camera_fps" in response.data
    closed = stack_client(app(api_token="t0ken", auth="required"))
    assert closed.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 401
    bearer = {"Authorization": "Bearer t0ken"}
    assert closed.get("/metrics", headers=bearer, environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 200
    none = create_app(ApiServices(config=None, stats=dict, public_config=dict, events=None)).test_client()
    assert none.get("/metrics").status_code == 503
