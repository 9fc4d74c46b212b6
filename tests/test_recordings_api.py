"""/api/<camera>/recordings and the mp4 export over real record segments moved by the maintainer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from frigate_like.api import ApiServices, create_app
from frigate_like.cameras.subscribers import RecorderSubscriber
from frigate_like.db import queries
from frigate_like.db import recordings as rows
from frigate_like.db.database import close_database
from frigate_like.errors import BadRequest, Unavailable
from frigate_like.record.export import RecordingExporter
from frigate_like.record.maintainer import RecordingMaintainer
from frigate_like.record.nvr import Recordings
from frigate_like.video.binaries import find_ffmpeg
from tests.record_support import car_record_cache, decodes_cleanly, duration, open_test_db, streams
from tests.registry_support import record_camera, registry_with
from tests.segment_footage import copy_cache


@pytest.fixture(scope="module")
def record_cache(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path) -> Path:
    return car_record_cache(tmp_path_factory.mktemp("cache"), shared_dir)


@pytest.fixture
def recorded(tmp_path: Path, record_cache: Path) -> Iterator[list[dict[str, Any]]]:
    db = open_test_db(tmp_path)
    cache = copy_cache(record_cache, tmp_path / "cache")
    keeper = RecordingMaintainer(cache, tmp_path / "media" / "recordings", rows, threading.Event())
    registry_with([RecorderSubscriber(keeper)], [record_camera("car", 5.0)])
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
    running = queries.create_event("car", "car", recorded[2]["start_time"] + 1.0)  # in progress: on the timeline too
    days = client.get("/api/car/recordings").get_json()
    hours = [hour for day in days for hour in day["recordings"]]
    assert sum(hour["segments"] for hour in hours) == 4
    assert sum(hour["duration"] for hour in hours) == pytest.approx(20.0, abs=0.1)
    assert [gap for hour in hours for gap in hour["gaps"]] == []
    events = [event for hour in hours for event in hour["events"]]
    assert {e["id"]: e["end_time"] for e in events} == {event_id: recorded[1]["end_time"], running: None}
    assert all("thumbnail" not in e for e in events)
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


STRANGER = {"REMOTE_ADDR": "192.0.2.7"}  # not loopback, no token: may read, may not change state


def test_a_caller_who_may_not_change_state_gets_a_streamed_export_and_no_file(
    client: FlaskClient, recorded: list[dict[str, Any]], tmp_path: Path
) -> None:
    start = recorded[0]["start_time"] + 2.0
    end = recorded[2]["start_time"] + 2.0
    answer = client.get(f"/api/car/recordings/{start}/{end}.mp4", environ_base=STRANGER)
    data = answer.get_data()
    assert answer.status_code == 200 and answer.mimetype == "video/mp4"
    assert answer.headers["Cache-Control"] == "no-store" and "Accept-Ranges" not in answer.headers
    streamed = tmp_path / "streamed.mp4"
    streamed.write_bytes(data)
    assert streams(streamed) == {"video": "h264", "audio": "aac"}
    assert end - start <= duration(streamed) <= end - start + 5.0
    assert decodes_cleanly(streamed, find_ffmpeg())
    exports = tmp_path / "media" / "exports"
    assert not exports.exists() or not any(exports.iterdir()), "a read anyone may make stored a file"
    refused = client.get("/api/car/recordings/1000/1010.mp4", environ_base=STRANGER)
    assert refused.status_code == 404 and refused.get_json()["detail"]


def test_streamed_exports_share_the_slots_and_free_them_when_the_client_goes(
    recorded: list[dict[str, Any]], tmp_path: Path
) -> None:
    exporter = RecordingExporter(tmp_path / "exports", rows, find_ffmpeg(), max_concurrent=1)
    start, end = recorded[0]["start_time"], recorded[-1]["end_time"]
    chunks = exporter.stream("car", start, end)
    first = next(chunks)
    assert first[4:8] == b"ftyp"
    with pytest.raises(Unavailable):
        exporter.stream("car", start, end)  # the one slot is taken
    chunks.close()  # the client went away: ffmpeg ends, the slot is free
    assert b"".join(exporter.stream("car", start, end))[4:8] == b"ftyp"
    never_read = exporter.stream("car", start, end)  # a client gone before the body started
    proc = never_read._proc  # type: ignore[attr-defined]
    never_read.close()  # type: ignore[attr-defined]  # what the WSGI server calls
    assert proc.poll() is not None, "ffmpeg left running"
    exporter.stream("car", start, end).close()  # type: ignore[attr-defined]  # the slot was freed


def test_a_stored_export_never_digs_into_the_free_space_floor(recorded: list[dict[str, Any]], tmp_path: Path) -> None:
    """record.min_free_mb is what retention defends with recordings: an export may not take it."""
    mb = 1024 * 1024
    free = {"bytes": 2000 * mb}
    exporter = RecordingExporter(
        tmp_path / "exports", rows, find_ffmpeg(), min_free_mb=1000, free_bytes=lambda _path: free["bytes"]
    )
    spans = [(r["start_time"], r["end_time"]) for r in recorded[:2]]
    first = exporter.export("car", *spans[0])
    free["bytes"] = 1000 * mb + first.stat().st_size // 2  # the disk filled: under the floor with another
    second = exporter.export("car", *spans[1])  # the older export goes to make room
    assert second.is_file() and not first.exists()
    free["bytes"] = 1000 * mb  # at the floor, and no export left to give up
    second.unlink()
    with pytest.raises(Unavailable, match="min_free_mb"):
        exporter.export("car", *spans[1])
    assert not list((tmp_path / "exports").glob("*.mp4"))


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


def test_an_export_swapped_for_a_link_out_of_the_folder_is_not_served(
    client: FlaskClient, recorded: list[dict[str, Any]], tmp_path: Path
) -> None:
    url = f"/api/car/recordings/{recorded[0]['start_time'] + 1.0}/{recorded[0]['start_time'] + 3.0}.mp4"
    first = client.get(url)
    first.close()
    assert first.status_code == 200
    (export,) = (tmp_path / "media" / "exports").glob("*.mp4")
    (tmp_path / "outside.mp4").write_bytes(b"not yours")
    for target in (Path("/etc/passwd"), Path("/proc/self/environ"), Path("..") / ".." / "outside.mp4"):
        export.unlink()
        export.symlink_to(target)
        answer = client.get(url)
        body = answer.get_data()
        answer.close()
        assert answer.status_code == 404 and b"root:" not in body and b"not yours" not in body, target


def test_the_exports_folder_stays_under_its_cap_oldest_first(recorded: list[dict[str, Any]], tmp_path: Path) -> None:
    largest = max(int(r["size_bytes"]) for r in recorded)
    folder = tmp_path / "exports"
    exporter = RecordingExporter(folder, rows, find_ffmpeg(), max_bytes=largest)  # room for one
    spans = [(r["start_time"] + 0.5, r["end_time"] - 0.5) for r in recorded[:3]]
    for start, end in spans:
        exporter.export("car", start, end)
        assert sum(p.stat().st_size for p in folder.glob("*.mp4")) <= largest
    (left,) = folder.glob("*.mp4")  # each new one made room by removing the one before
    assert left == exporter.export("car", *spans[2]), "the newest stays and is served from the cache"
    with pytest.raises(BadRequest, match="cap"):
        exporter.export("car", recorded[0]["start_time"], recorded[-1]["end_time"])  # alone over the cap


def test_exports_written_at_once_are_bounded(recorded: list[dict[str, Any]], tmp_path: Path) -> None:
    exporter = RecordingExporter(tmp_path / "exports", rows, find_ffmpeg(), max_concurrent=1)
    start, end = recorded[0]["start_time"] + 0.5, recorded[0]["end_time"] - 0.5
    assert exporter._slots.acquire(blocking=False)  # another request is writing one
    with pytest.raises(Unavailable):
        exporter.export("car", start, end)
    exporter._slots.release()
    assert exporter.export("car", start, end).is_file()
