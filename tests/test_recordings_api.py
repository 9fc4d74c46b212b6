"""/api/<camera>/recordings and the mp4 export over real record segments moved by the maintainer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from frigate_like.api import ApiServices, create_app
from frigate_like.db import queries
from frigate_like.db import recordings as rows
from frigate_like.db.database import close_database
from frigate_like.record.export import RecordingExporter
from frigate_like.record.maintainer import RecordCamera, RecordingMaintainer
from frigate_like.record.nvr import Recordings
from frigate_like.video.binaries import find_ffmpeg
from tests.record_support import car_record_cache, decodes_cleanly, duration, open_test_db, streams
from tests.segment_footage import copy_cache


@pytest.fixture(scope="module")
def record_cache(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    return car_record_cache(tmp_path_factory.mktemp("cache"), shared_dir)


@pytest.fixture
def recorded(tmp_path: Path, record_cache: Path) -> Iterator[list[dict[str, Any]]]:
    db = open_test_db(tmp_path)
    cache = copy_cache(record_cache, tmp_path / "cache")
    keeper = RecordingMaintainer({"car": RecordCamera("car", 5.0)}, cache, tmp_path / "media" / "recordings", rows,
                                 threading.Event())
    assert keeper.run_once() == 4
    yield rows.recordings("car")
    close_database(db)


@pytest.fixture
def client(tmp_path: Path, recorded: list[dict[str, Any]]) -> Iterator[FlaskClient]:
    exporter = RecordingExporter(tmp_path / "media" / "exports", rows, find_ffmpeg())
    now = recorded[-1]["end_time"] + 1.0
    service = Recordings({"car": object(), "side": object()}, {"car": 5.0}.get, rows, queries, exporter,
                         clock=lambda: now)
    app = create_app(ApiServices(config=None, stats=dict, public_config=dict, events=queries, recordings=service))
    app.testing = True
    with app.test_client() as test_client:
        yield test_client


def test_recordings_by_day_and_hour_with_events(client: FlaskClient, recorded: list[dict[str, Any]]) -> None:
    event_id = queries.create_event("car", "car", recorded[1]["start_time"] + 1.0, end_time=recorded[1]["end_time"])
    days = client.get("/api/car/recordings").get_json()
    hours = [hour for day in days for hour in day["recordings"]]
    assert sum(hour["segments"] for hour in hours) == 4
    assert sum(hour["duration"] for hour in hours) == pytest.approx(20.0, abs=0.1)
    assert [gap for hour in hours for gap in hour["gaps"]] == []
    events = [event for hour in hours for event in hour["events"]]
    assert [e["id"] for e in events] == [event_id] and "thumbnail" not in events[0]
    assert min(hour["start"] for hour in hours) == recorded[0]["start_time"]
    assert client.get("/api/side/recordings").get_json() == []
    response = client.get("/api/nowhere/recordings")
    assert response.status_code == 404 and "nowhere" in response.get_json()["detail"]


def test_export_joins_segments_without_reencoding_and_serves_ranges(
    client: FlaskClient, recorded: list[dict[str, Any]], tmp_path: Path
) -> None:
    start = recorded[0]["start_time"] + 2.0
    end = recorded[2]["start_time"] + 2.0  # across three segments
    url = f"/api/car/recordings/{start}/{end}.mp4"
    whole = client.get(url)
    data = whole.get_data()
    whole.close()  # send_file streams from an open file
    assert whole.status_code == 200 and whole.mimetype == "video/mp4"
    assert whole.headers["Accept-Ranges"] == "bytes"
    export = tmp_path / "export.mp4"
    export.write_bytes(data)
    assert streams(export) == {"video": "h264", "audio": "aac"}
    # stream copy starts at the key frame at or before the start: never shorter, up to one GOP longer
    assert end - start <= duration(export) <= end - start + 5.0
    assert decodes_cleanly(export, find_ffmpeg())
    part = client.get(url, headers={"Range": "bytes=1000-1999"})
    piece = part.get_data()
    part.close()
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    assert piece == data[1000:2000]
    assert len(list((tmp_path / "media" / "exports").glob("*.mp4"))) == 1, "written once, served again"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/car/recordings/20/10.mp4", 400),
        ("/api/car/recordings/abc/10.mp4", 400),
        ("/api/car/recordings/0/100000.mp4", 400),  # longer than a day
        ("/api/car/recordings/1000/1010.mp4", 404),  # no footage then
        ("/api/nowhere/recordings/1000/1010.mp4", 404),
    ],
)
def test_export_refusals(client: FlaskClient, url: str, status: int) -> None:
    response = client.get(url)
    assert response.status_code == status and response.get_json()["detail"]
