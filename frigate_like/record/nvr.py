"""What the NVR endpoints ask of 24/7 recordings: a camera's timeline with events and gaps, and exports."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from frigate_like.errors import NotFound
from frigate_like.record.export import RecordingExporter
from frigate_like.record.timeline import timeline

ONGOING_SLACK_S = 15.0  # past two segment lengths: time for ffmpeg to close a segment and us to move it


class TimelineStore(Protocol):
    def recordings(
        self, camera: str, *, after: float | None = ..., before: float | None = ...
    ) -> list[dict[str, Any]]: ...
    def cameras(self) -> list[str]: ...


class Recordings:
    """Reads for ``/api/<camera>/recordings``; ``cameras`` are the running ones (read at each request)."""

    def __init__(
        self,
        cameras: Mapping[str, Any],
        segment_time: Callable[[str], float | None],
        store: TimelineStore,
        events: Any,  # db.queries: list_events(camera=..., after=..., before=..., ...)
        exporter: RecordingExporter,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._cameras = cameras
        self._segment_time = segment_time  # of a camera recording now, else None
        self._store = store
        self._events = events
        self._exporter = exporter
        self._clock = clock

    def _check_camera(self, camera: str) -> None:
        if camera not in self._cameras and camera not in self._store.cameras():
            raise NotFound(f"camera {camera!r} not found")

    def timeline(self, camera: str, *, after: float | None = None, before: float | None = None) -> list[dict[str, Any]]:
        """Days and hours of footage with each hour's events and gaps (record/timeline.py)."""
        self._check_camera(camera)
        rows = self._store.recordings(camera, after=after, before=before)
        events: list[dict[str, Any]] = []
        if rows:
            events = self._events.list_events(
                camera=camera,
                after=float(rows[0]["start_time"]) - 3600.0,
                before=float(rows[-1]["end_time"]) + 3600.0,
                limit=None,
                include_thumbnails=False,
                include_in_progress=True,  # a running event stays on the timeline (the web UI shows it)
            )
        segment_time = self._segment_time(camera)
        ongoing_after = 2 * segment_time + ONGOING_SLACK_S if segment_time is not None and before is None else None
        return timeline(rows, events, now=self._clock(), ongoing_after=ongoing_after)

    def export(self, camera: str, start: float, end: float) -> Path:
        """An mp4 of ``[start, end]`` joined from the segments without re-encoding."""
        self._check_camera(camera)
        return self._exporter.export(camera, start, end)

    def stream_export(self, camera: str, start: float, end: float) -> Iterator[bytes]:
        """The same span as a fragmented mp4 made as it is sent, stored nowhere (record/export.py)."""
        self._check_camera(camera)
        return self._exporter.stream(camera, start, end)
