"""Grouping a camera's recordings by day and hour, with events and every gap (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from frigate_like.record.timeline import find_gaps, timeline

BASE = datetime(2024, 9, 15, 13, 50, tzinfo=UTC).timestamp()


def seg(start: float, length: float = 10.0) -> dict[str, Any]:
    return {"start_time": BASE + start, "end_time": BASE + start + length, "duration": length}


def test_hours_with_footage_events_and_a_gap_reported_once() -> None:
    rows = [seg(0), seg(10), seg(20.5), seg(600), seg(610), seg(4000)]  # 13:50 ... 14:56
    events = [
        {"id": "b", "start_time": BASE + 600, "label": "car"},
        {"id": "a", "start_time": BASE + 5, "label": "person"},
        {"id": "c", "start_time": BASE + 9000, "label": "dog"},  # no footage in that hour: not listed
    ]
    days = timeline(rows, events, now=BASE + 4010, ongoing_after=35, tz=UTC)
    assert [d["date"] for d in days] == ["2024-09-15"]
    (day,) = days
    assert day["events"] == 2 and day["duration"] == 60.0
    h13, h14 = day["recordings"]
    assert (h13["hour"], h13["segments"], h13["start"], h13["end"]) == ("13", 3, BASE, BASE + 30.5)
    assert h13["delay"] == 3000.0  # 50 minutes into the hour
    assert [e["id"] for e in h13["events"]] == ["a"]
    # 0.5 s between the 2nd and 3rd segment is estimation noise, not a gap; 13:50:30 → 14:00 is one
    assert h13["gaps"] == [{"start": BASE + 30.5, "end": BASE + 600, "duration": 569.5, "ongoing": False}]
    assert (h14["segments"], h14["duration"], [e["id"] for e in h14["events"]]) == (3, 30.0, ["b"])
    assert [g["duration"] for g in h14["gaps"]] == [3380.0]
    assert all(not g["ongoing"] for g in h14["gaps"])


def test_a_camera_that_stopped_delivering_has_an_ongoing_gap_up_to_now() -> None:
    rows = [seg(0), seg(10)]
    (day,) = timeline(rows, [], now=BASE + 200, ongoing_after=35, tz=UTC)
    (hour,) = day["recordings"]
    assert hour["gaps"] == [{"start": BASE + 20, "end": BASE + 200, "duration": 180.0, "ongoing": True}]
    (day,) = timeline(rows, [], now=BASE + 50, ongoing_after=35, tz=UTC)
    assert day["recordings"][0]["gaps"] == [], "the newest segment is still being written"
    (day,) = timeline(rows, [], now=BASE + 200, ongoing_after=None, tz=UTC)
    assert day["recordings"][0]["gaps"] == [], "a camera that does not record now has no ongoing gap"


def test_overlapping_segments_are_no_gap_and_days_are_ordered() -> None:
    rows = [seg(0, 30), seg(10, 5), seg(31), seg(86400)]
    assert [g["start"] - BASE for _, g in find_gaps(rows)] == [41]
    days = timeline(rows, [], now=BASE, tz=UTC)
    assert [d["date"] for d in days] == ["2024-09-15", "2024-09-16"]
    assert timeline([], [], now=BASE) == []
