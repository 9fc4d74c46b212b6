"""The HTTP API's first endpoints over a real SQLite file with the real migrations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from frigate_like import __version__
from frigate_like.api import ApiServices, create_app
from frigate_like.config import config_from_dict, to_public_dict
from frigate_like.db import queries
from frigate_like.db.database import close_database, open_database
from frigate_like.migrations import MIGRATIONS_DIR


@pytest.fixture
def client(tmp_path: Path, model_path: Path, labelmap_path: Path) -> Iterator[FlaskClient]:
    cfg = config_from_dict(
        {
            "database": {"path": str(tmp_path / "frigate.db")},
            "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
            "mqtt": {"password": "hunter2"},
            "cameras": {
                "back": {
                    "ffmpeg": {"inputs": [{"path": "rtsp://viewer:pw-4711@10.0.0.2/live", "roles": ["detect"]}]},
                    "width": 640,
                    "height": 480,
                    "fps": 5,
                }
            },
        }
    )
    db = open_database(cfg.database, MIGRATIONS_DIR)
    stats: dict[str, Any] = {"back": {"camera_fps": 5.0}, "detection_fps": 0.0}
    app = create_app(
        ApiServices(config=cfg, stats=lambda: stats, public_config=lambda: to_public_dict(cfg), events=queries)
    )
    app.testing = True
    with app.test_client() as test_client:
        yield test_client
    close_database(db)


def _seed() -> list[str]:
    ids = []
    for i, (camera, label, zones, clip) in enumerate(
        [("back", "person", ["porch"], True), ("back", "car", [], False), ("front", "person", [], True)]
    ):
        start = 1_700_000_000.0 + i * 100
        ids.append(
            queries.create_event(
                camera,
                label,
                start,
                top_score=0.8,
                zones=zones,
                has_clip=clip,
                thumbnail="dGh1bWI=",
                end_time=start + 10,
            )
        )
    ids.append(queries.create_event("back", "person", 1_700_000_500.0, top_score=0.9))  # in progress
    return ids


def test_version_and_alive(client: FlaskClient) -> None:
    assert client.get("/api/version").get_data(as_text=True) == __version__
    assert client.get("/api/").status_code == 200


def test_config_masks_secrets(client: FlaskClient) -> None:
    body = client.get("/api/config").get_data(as_text=True)
    assert "pw-4711" not in body and "hunter2" not in body
    assert client.get("/api/config").get_json()["cameras"]["back"]["width"] == 640


def test_events_newest_first_ended_only_unless_asked(client: FlaskClient) -> None:
    """Frigate 0.8 listed an event once it had ended; Home Assistant computes end_time - start_time."""
    ids = _seed()
    rows = client.get("/api/events").get_json()
    assert [r["id"] for r in rows] == list(reversed(ids[:3]))
    assert rows[0]["thumbnail"] == "dGh1bWI="
    assert all(isinstance(r["end_time"], float) for r in rows)
    rows = client.get("/api/events?include_in_progress=1").get_json()
    assert [r["id"] for r in rows] == list(reversed(ids))
    assert rows[0]["end_time"] is None
    assert len(client.get("/api/events?include_in_progress=0").get_json()) == 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("camera=back", 2),
        ("camera=back&include_in_progress=1", 3),
        ("camera=back&label=person", 1),
        ("zone=porch", 1),
        ("has_clip=1", 2),
        ("has_clip=0", 1),
        ("after=1700000150", 1),
        ("before=1700000150&after=1699999999", 2),
        ("limit=1", 1),
    ],
)
def test_event_filters(client: FlaskClient, query: str, expected: int) -> None:
    _seed()
    response = client.get(f"/api/events?{query}")
    assert response.status_code == 200
    assert len(response.get_json()) == expected


def test_include_thumbnails_0_leaves_them_out(client: FlaskClient) -> None:
    _seed()
    rows = client.get("/api/events?include_thumbnails=0").get_json()
    assert rows and all("thumbnail" not in r for r in rows)


@pytest.mark.parametrize(
    "query",
    [
        "limit=-1",
        "limit=abc",
        "after=yesterday",
        "before=nan",
        "has_clip=7",
        "include_thumbnails=yes",
        "limit=0",
        "include_in_progress=2",
    ],
)
def test_bad_parameters_are_400_json(client: FlaskClient, query: str) -> None:
    response = client.get(f"/api/events?{query}")
    assert response.status_code == 400
    detail = response.get_json()["detail"]
    assert query.split("=")[0] in detail


def test_unknown_event_and_path_are_404_json(client: FlaskClient) -> None:
    response = client.get("/api/events/nope")
    assert response.status_code == 404 and "nope" in response.get_json()["detail"]
    response = client.get("/no/such/endpoint")
    assert response.status_code == 404 and "detail" in response.get_json()


def test_one_event_and_summary(client: FlaskClient) -> None:
    ids = _seed()
    event = client.get(f"/api/events/{ids[0]}").get_json()
    assert event["camera"] == "back" and event["zones"] == ["porch"]
    summary = client.get("/api/events/summary").get_json()
    assert sum(row["count"] for row in summary) == 3  # the event in progress is not counted
    assert {row["camera"] for row in summary} == {"back", "front"}
    assert sum(row["count"] for row in client.get("/api/events/summary?include_in_progress=1").get_json()) == 4
    # Home Assistant's media browser asks for the counts of events with a clip (or a snapshot)
    with_clip = client.get("/api/events/summary?has_clip=1").get_json()
    assert sum(row["count"] for row in with_clip) == 2 and all(row["has_clip"] for row in with_clip)
    assert client.get("/api/events/summary?has_snapshot=1").get_json() == []
    assert client.get("/api/events/summary?has_clip=yes").status_code == 400
