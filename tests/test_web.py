"""The web UI's files and the switches endpoint, on the real app with a real ``Switches`` object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from frigate_like.api import ApiServices, create_app
from frigate_like.cameras.subscribers import SwitchesSubscriber
from frigate_like.comms.switches import Switches
from frigate_like.metrics import CameraMetrics
from frigate_like.web import STATIC_DIR
from tests.asgi_client import StackClient, stack_client
from tests.registry_support import PlainRuntimes, registry_with
from tests.test_switches import Recorder  # a Publisher that keeps what MQTT would have been sent
from tests.track_support import load_camera


def _client(tmp_path: Path, shared_dir: Path, **http: Any) -> tuple[StackClient, CameraMetrics, Recorder]:
    cfg, cam = load_camera(
        tmp_path,
        shared_dir,
        camera={"ffmpeg": {"inputs": [{"path": "rtsp://127.0.0.1/stream", "roles": ["detect"]}]}},
    )
    cfg.http = cfg.http.model_copy(update=http)
    runtimes, recorder = PlainRuntimes(), Recorder()
    switches = Switches(recorder)
    registry_with([SwitchesSubscriber(switches, runtimes)], [cam])
    recorder.published.clear()  # the states published as the camera was added
    metrics = runtimes.metrics("cam")
    app = create_app(ApiServices(config=cfg, stats=dict, public_config=dict, events=None, switches=switches))
    app.testing = True
    return stack_client(app), metrics, recorder  # the whole server stack: the access policy is in front of Flask


@pytest.fixture
def client(tmp_path: Path, shared_dir: Path) -> tuple[StackClient, CameraMetrics, Recorder]:
    return _client(tmp_path, shared_dir)


def test_the_page_and_its_modules_are_served_from_the_package(client: tuple[StackClient, Any, Any]) -> None:
    http, _, _ = client
    with http.get("/") as page:
        assert page.status_code == 200 and page.mimetype == "text/html"
        html = page.get_data(as_text=True)
    assert 'src="ui/app.js"' in html and "http://" not in html and "https://" not in html  # no CDN
    for path in sorted(STATIC_DIR.iterdir()):
        with http.get(f"/ui/{path.name}") as served:
            assert served.status_code == 200, path.name
            assert served.get_data() == path.read_bytes()
        if path.suffix == ".js":
            assert served.mimetype in ("text/javascript", "application/javascript")  # module scripts need it
            assert "https://" not in path.read_text(), f"{path.name} loads something from outside"


@pytest.mark.parametrize("name", ["nope.js", "..%2Fweb%2F__init__.py", "%2E%2E", "index.html%00"])
def test_only_the_ui_files_are_served(client: tuple[StackClient, Any, Any], name: str) -> None:
    http, _, _ = client
    response = http.get(f"/ui/{name}")
    assert response.status_code == 404 and "detail" in response.get_json()


def test_switches_are_read_and_set_through_the_switches_object(
    client: tuple[StackClient, CameraMetrics, Recorder],
) -> None:
    http, metrics, recorder = client
    assert http.get("/api/switches").get_json() == {"cam": {"detect": True, "clips": False, "snapshots": False}}
    response = http.post("/api/cam/switches", json={"detect": False, "snapshots": True})
    assert response.status_code == 200
    assert response.get_json() == {"detect": False, "clips": False, "snapshots": True}
    assert not metrics.detect_enabled.value  # what the camera process reads every frame
    assert ("cam/detect/state", "OFF", True) in recorder.published  # MQTT hears of it as of a command
    # clips without an input that has the clips role stay off, and the answer says so
    assert http.post("/api/cam/switches", json={"clips": True}).get_json()["clips"] is False


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "expected a JSON object"),
        ([True], "expected a JSON object"),
        ({"detect": "OFF"}, "detect must be true or false"),
        ({"motion": True}, "unknown switch 'motion'"),
    ],
)
def test_bad_switch_requests_say_what_is_wrong(
    client: tuple[StackClient, CameraMetrics, Any], body: Any, detail: str
) -> None:
    http, metrics, _ = client
    response = http.post("/api/cam/switches", json=body)
    assert response.status_code == 400 and detail in response.get_json()["detail"]
    assert metrics.detect_enabled.value


def test_a_switch_change_must_be_json_and_name_a_camera(client: tuple[StackClient, CameraMetrics, Any]) -> None:
    http, metrics, _ = client
    # a cross-site HTML form can only send form or text bodies: refused, nothing changes
    form = http.post("/api/cam/switches", data="detect=false", content_type="application/x-www-form-urlencoded")
    text = http.post("/api/cam/switches", data='{"detect": false}', content_type="text/plain")
    # api/access.py refuses them before the view runs: 415, naming the content type it wants
    assert form.status_code == text.status_code == 415 and "application/json" in text.get_json()["detail"]
    assert metrics.detect_enabled.value
    missing = http.post("/api/other/switches", json={"detect": False})
    assert missing.status_code == 404 and missing.get_json() == {"detail": "camera 'other' not found"}


def test_with_an_api_token_a_switch_change_needs_it(tmp_path: Path, shared_dir: Path) -> None:
    http, metrics, _ = _client(tmp_path, shared_dir, api_token="s3cret")
    refused = http.post("/api/cam/switches", json={"detect": False})
    assert refused.status_code == 401 and metrics.detect_enabled.value
    assert http.get("/api/switches").status_code == 200  # reads stay open
    allowed = http.post("/api/cam/switches", json={"detect": False}, headers={"Authorization": "Bearer s3cret"})
    assert allowed.status_code == 200 and not metrics.detect_enabled.value
