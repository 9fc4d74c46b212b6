"""Groups a camera's recordings by day and hour for ``/api/<camera>/recordings``, with events and gaps (pure).

Days and hours are the daemon's local time (like ``/api/events/summary``); a segment belongs
to the hour it starts in. Every hole between two consecutive segments longer than
``gap_min`` is a gap, listed once, in the hour where footage stopped, with its full length
(an outage of two days is one gap, not 48 hours that silently have no entry). A camera that
should be recording but whose last segment ended long ago has an ``ongoing`` gap up to now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

GAP_MIN_S = 1.0


def find_gaps(rows: Sequence[Mapping[str, Any]], gap_min: float = GAP_MIN_S) -> list[tuple[int, dict[str, Any]]]:
    """``(index of the segment before the gap, gap)`` for every hole longer than ``gap_min`` (rows by start)."""
    gaps: list[tuple[int, dict[str, Any]]] = []
    reached = None  # the furthest end so far: overlapping segments do not open a gap
    for index, row in enumerate(rows):
        start, end = float(row["start_time"]), float(row["end_time"])
        if reached is not None and start - reached > gap_min:
            gaps.append((index - 1, _gap(reached, start)))
        reached = end if reached is None else max(reached, end)
    return gaps


def _gap(start: float, end: float, ongoing: bool = False) -> dict[str, Any]:
    return {"start": start, "end": end, "duration": round(end - start, 3), "ongoing": ongoing}


def timeline(
    rows: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    *,
    now: float,
    ongoing_after: float | None = None,
    gap_min: float = GAP_MIN_S,
    tz: tzinfo | None = None,
) -> list[dict[str, Any]]:
    """Days (oldest first), each with its hours: start, end, duration, segments, events and gaps.

    ``ongoing_after``: when the camera records now, how long after its last segment's end
    the missing footage counts as an ongoing gap (None: the camera is not recording).
    """
    days: dict[str, dict[str, dict[str, Any]]] = {}

    def hour_of(epoch: float) -> dict[str, Any]:
        when = datetime.fromtimestamp(epoch, tz)
        date, hour = when.strftime("%Y-%m-%d"), when.strftime("%H")
        hours = days.setdefault(date, {})
        if hour not in hours:
            hour_start = when.replace(minute=0, second=0, microsecond=0).timestamp()
            hours[hour] = {
                "hour": hour, "delay": round(epoch - hour_start, 3), "start": epoch, "end": epoch,
                "duration": 0.0, "segments": 0, "events": [], "gaps": [],
            }  # fmt: skip
        return hours[hour]

    entries = []
    for row in rows:
        entry = hour_of(float(row["start_time"]))
        entry["end"] = max(entry["end"], float(row["end_time"]))
        entry["duration"] += float(row["duration"])
        entry["segments"] += 1
        entries.append(entry)
    for index, gap in find_gaps(rows, gap_min):
        entries[index]["gaps"].append(gap)
    if rows and ongoing_after is not None:
        last_end = max(float(row["end_time"]) for row in rows)
        if now - last_end > ongoing_after:
            entries[-1]["gaps"].append(_gap(last_end, now, ongoing=True))
    for event in sorted(events, key=lambda e: float(e["start_time"])):
        when = datetime.fromtimestamp(float(event["start_time"]), tz)
        hour_entry = days.get(when.strftime("%Y-%m-%d"), {}).get(when.strftime("%H"))
        if hour_entry is not None:
            hour_entry["events"].append(dict(event))
    result = []
    for date in sorted(days):
        hours = [days[date][hour] for hour in sorted(days[date])]
        for entry in hours:
            entry["duration"] = round(entry["duration"], 3)
        result.append(
            {
                "date": date,
                "events": sum(len(entry["events"]) for entry in hours),
                "duration": round(sum(entry["duration"] for entry in hours), 3),
                "recordings": hours,
            }
        )
    return result
