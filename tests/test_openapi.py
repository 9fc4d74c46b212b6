"""The OpenAPI document and the routes agree both ways; /docs serves Swagger UI from the package, no CDN."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.exceptions import NotFound as RouteNotFound

from frigate_like.api import ApiServices, create_app
from frigate_like.api.openapi_models import SwitchStates
from frigate_like.comms.topics import SWITCHES
from frigate_like.config import config_from_dict

# Routes the document leaves out on purpose: the Swagger UI page's own static files.
UNDOCUMENTED = {"/docs/<asset>"}


@pytest.fixture
def app(model_path: Path, labelmap_path: Path, tmp_path: Path) -> Flask:
    cfg = config_from_dict(
        {
            "database": {"path": str(tmp_path / "frigate.db")},
            "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
            "cameras": {
                "front": {
                    "ffmpeg": {"inputs": [{"path": "rtsp://10.0.0.2/live", "roles": ["detect"]}]},
                    "width": 640,
                    "height": 480,
                }
            },
        }
    )
    return create_app(ApiServices(config=cfg, stats=dict, public_config=dict, events=None))


def _document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    return dict(document)


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def test_every_route_is_documented(app: Flask) -> None:
    patterns = [_template_regex(path) for path in _document(app)["paths"]]
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule in UNDOCUMENTED:
            continue
        sample = re.sub(r"<[^>]+>", "x-1.5-abcdef.mp4" if rule.rule.startswith("/clips/") else "x", rule.rule)
        assert any(p.fullmatch(sample) for p in patterns), f"{rule.rule} is not in the OpenAPI document"


def test_every_documented_path_is_served(app: Flask) -> None:
    adapter = app.url_map.bind("localhost")
    for path, item in _document(app)["paths"].items():
        url = re.sub(r"\{[^}]+\}", "x", path)
        (method,) = item  # one operation per path
        try:
            endpoint, _ = adapter.match(url, method=method.upper())
        except RouteNotFound:
            pytest.fail(f"{path} is documented but not served")
        assert endpoint != "static"


def test_parameters_and_errors_are_described(app: Flask) -> None:
    paths = _document(app)["paths"]
    mjpeg = paths["/api/{camera_name}"]["get"]
    names = {p["name"] for p in mjpeg["parameters"]}
    assert names == {"camera_name", "fps", "h", "height", "bbox", "timestamp", "zones", "mask", "motion", "regions"}
    camera = next(p for p in mjpeg["parameters"] if p["name"] == "camera_name")
    assert camera["example"] == "front"  # the interactive page opens on a real camera
    events = {p["name"]: p for p in paths["/api/events"]["get"]["parameters"]}
    assert events["limit"]["schema"]["default"] == 100 and events["include_thumbnails"]["schema"]["default"] == 1
    assert events["include_in_progress"]["schema"]["default"] == 0  # ended events only, as Frigate 0.8
    summary = {p["name"] for p in paths["/api/events/summary"]["get"]["parameters"]}
    assert summary == {"has_clip", "has_snapshot", "include_in_progress"}
    height = next(p for p in paths["/api/{camera_name}/latest.jpg"]["get"]["parameters"] if p["name"] == "h")
    assert (height["schema"]["minimum"], height["schema"]["maximum"]) == (1, 2160)
    assert not re.search(r'"(ge|le|gt|lt)":', json.dumps(paths)), "a range pydantic could not say in JSON Schema"
    for path, item in paths.items():
        for operation in item.values():
            if any(p["in"] in ("path", "query") for p in operation.get("parameters", [])):
                assert set(operation["responses"]) & {"400", "404"}, path


# A value of the wrong type for each kind of documented query parameter; every kind the document uses must
# be here, so a new kind fails the test below until it gets one.
WRONG = {"integer": "x1", "number": "soon", "boolean": "maybe", "string": "s" * 5000}


def _wrong_value(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "not-one-of-them"
    return WRONG[schema["type"]]


def _documented_query_parameters(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], str]]:
    cases = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                if parameter["in"] != "query" or (
                    schema["type"] == "string" and not {"enum", "maxLength"} & set(schema)
                ):
                    continue  # a path parameter, or a free string: any value is a valid one
                cases.append((path, method, schema, parameter["name"]))
    return cases


def test_each_documented_query_parameter_of_the_wrong_type_is_a_400_naming_it(app: Flask) -> None:
    document = _document(app)
    cases = _documented_query_parameters(document)
    # the document holds the event filters, the live view's switches, the device query...: all of them are run
    assert len(cases) >= 40 and {"limit", "h", "fps", "format", "backend_id", "filter_virtual"} <= {
        name for _, _, _, name in cases
    }
    client = app.test_client()
    for path, method, schema, name in cases:
        url = re.sub(r"\{[^}]+\}", "front", path)
        response = client.open(url, method=method.upper(), query_string={name: _wrong_value(schema)})
        assert response.status_code == 400, (path, name, response.status_code, response.get_data()[:200])
        detail = response.get_json()["detail"]
        assert detail.startswith(name), (path, name, detail)


def test_a_query_parameter_keeps_its_rules(app: Flask) -> None:
    client = app.test_client()
    detail = client.get("/api/front/latest.jpg?h=0").get_json()["detail"]
    assert detail == "h must be at least 1, got 0"
    assert client.get("/api/front/latest.jpg?height=99999&h=10").get_json()["detail"].startswith("height must be at")
    assert client.get("/api/front?fps=31").get_json()["detail"] == "fps must be at most 30, got 31"
    assert client.get("/api/front?bbox=2").get_json()["detail"] == "bbox must be 0 or 1, got '2'"
    assert client.get("/api/events?limit=x").get_json()["detail"] == "limit must be an integer, got 'x'"
    assert client.get("/api/events?after=inf").get_json()["detail"] == "after must be a finite number, got 'inf'"
    assert client.get("/api/events?camera=" + "c" * 201).get_json()["detail"] == "camera is too long"
    # an empty value is an absent one: the default applies (503: this app runs without the events)
    assert client.get("/api/events?limit=&has_clip=&camera=").status_code == 503
    twice = client.get("/api/events?before=1&before=2").get_json()["detail"]
    assert twice == "before is given 2 different values; give it once"  # not the first quietly taken
    assert client.get("/api/events?limit=5&limit=5").status_code == 503  # the same value twice is that value
    wrong = client.get("/api/events/x/thumbnail.jpg?format=png").get_json()["detail"]
    assert wrong == "format must be one of ios, android, got 'png'"


def test_docs_page_and_its_assets_are_local(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html  # nothing from a CDN
    for asset in re.findall(r'(?:src|href)="(docs/[^"]+)"', html):
        with client.get(f"/{asset}") as response:  # a file body: close it
            assert response.status_code == 200 and len(response.get_data()) > 100, asset
    assert '"api/openapi.json"' in html
    for name in ("index.html", "..%2f__init__.py", "swagger-ui.js.map"):
        assert client.get(f"/docs/{name}").status_code == 404


def test_method_not_allowed_names_the_allowed_ones(app: Flask) -> None:
    response = app.test_client().post("/api/openapi.json")
    assert response.status_code == 405 and "detail" in response.get_json()
    assert "GET" in response.headers["Allow"]


def test_the_operations_that_need_the_token_are_the_state_changes(app: Flask) -> None:
    document = _document(app)
    assert set(document["components"]["securitySchemes"]) == {"bearerAuth", "cookieAuth"}
    adapter = app.url_map.bind("localhost")
    secured = set()
    for path, item in document["paths"].items():
        ((method, op),) = item.items()
        endpoint, _ = adapter.match(re.sub(r"\{[^}]+\}", "x", path), method=method.upper())
        kind = getattr(app.view_functions[endpoint], "access_kind", "read" if method == "get" else "write")
        assert ("security" in op) == (kind == "write"), path
        if kind != "read":  # a state-changing GET is a plain GET (seed 000): no body type asked for
            assert {"403", "415"} & set(op["responses"]) == ({"403"} if method == "get" else {"403", "415"}), path
        secured |= {path} if "security" in op else set()
    assert {"/shutdown", "/skellycam/camera/group/all/pause_unpause", "/skellycam/playback/load"} <= secured


def test_the_switch_answer_names_every_switch() -> None:
    assert tuple(SwitchStates.model_fields) == SWITCHES
