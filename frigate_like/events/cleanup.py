"""Retention of events: clips (and their events) and snapshots expire per camera and per label."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from frigate_like.errors import Unavailable

logger = logging.getLogger(__name__)

DAY = 86_400.0
CLEANUP_INTERVAL = 3600.0  # retention is in days: once an hour is plenty
OUTAGE_RETRY = 60.0  # s before the next try when the database was away


class RetentionStore(Protocol):
    """The DB operations retention needs (db/queries.py)."""

    def delete_events_before(
        self, before: float, *, camera: str | None = ..., labels: Any = ..., exclude_labels: Any = ...
    ) -> list[dict[str, Any]]: ...

    def list_events(
        self,
        *,
        before: float | None = ...,
        camera: str | None = ...,
        label: str | None = ...,
        limit: int | None = ...,
        has_snapshot: bool | None = ...,
        include_thumbnails: bool = ...,
        own_only: bool = ...,
    ) -> list[dict[str, Any]]: ...

    def update_event(self, event_id: str, **fields: Any) -> bool: ...


class Discarder(Protocol):
    def discard(self, name: str) -> None: ...


class EventCleanup:
    """Deletes expired events with their clip and snapshot files; the thread runs it hourly."""

    def __init__(
        self,
        cameras: Mapping[str, Any],
        clips_dir: Path,
        store: RetentionStore,
        stop: threading.Event,
        clock: Callable[[], float] = time.time,
        deferred: Discarder | None = None,
    ) -> None:
        """``deferred``: the clips not cut yet (record/deferred.py), whose kept footage goes with the event."""
        self._cameras = cameras
        self._deferred = deferred
        self._clips_dir = clips_dir
        self._store = store
        self._stop = stop
        self._clock = clock

    def run(self) -> None:
        next_run = 0.0
        while not self._stop.wait(1.0 if next_run else 0.0):
            now = time.monotonic()
            if now < next_run:
                continue
            next_run = now + CLEANUP_INTERVAL
            try:
                self.run_once()
            except Unavailable as exc:  # the database is away (logged there): not worth an hour's wait
                next_run = now + OUTAGE_RETRY
                logger.warning("event retention waits for the database (%s); retrying in a minute", exc)
            except Exception:
                logger.exception("event retention failed; retrying in an hour")

    def run_once(self) -> tuple[int, int]:
        """One pass; returns (events deleted, snapshots expired)."""
        now = self._clock()
        deleted = expired_snapshots = 0
        for name, cam in self._cameras.items():
            deleted += self._expire_events(name, cam.clips.retain, now)
            expired_snapshots += self._expire_snapshots(name, cam.snapshots.retain, now)
        if deleted or expired_snapshots:
            logger.info("retention: deleted %d event(s), expired %d snapshot(s)", deleted, expired_snapshots)
        return deleted, expired_snapshots

    def _expire_events(self, camera: str, retain: Any, now: float) -> int:
        rows: list[dict[str, Any]] = []
        for label, days in retain.objects.items():
            rows += self._store.delete_events_before(now - days * DAY, camera=camera, labels=[label])
        rows += self._store.delete_events_before(
            now - retain.default * DAY, camera=camera, exclude_labels=list(retain.objects)
        )
        for row in rows:
            if self._deferred is not None:
                self._deferred.discard(f"{camera}-{row['id']}.mp4")
            self._remove(camera, row["id"], ".mp4")
            self._remove(camera, row["id"], ".jpg")
        return len(rows)

    def _expire_snapshots(self, camera: str, retain: Any, now: float) -> int:
        expired = 0
        labels = list(retain.objects.items()) + [(None, retain.default)]
        for label, days in labels:
            rows = self._store.list_events(
                before=now - days * DAY,
                camera=camera,
                label=label,
                has_snapshot=True,
                limit=None,
                include_thumbnails=False,
                own_only=True,  # another node's snapshot files are on that node
            )
            for row in rows:
                if label is None and row["label"] in retain.objects:
                    continue  # that label has its own retention
                if row["end_time"] is None:
                    continue
                self._remove(camera, row["id"], ".jpg")
                self._store.update_event(row["id"], has_snapshot=False)
                expired += 1
        return expired

    def _remove(self, camera: str, event_id: str, suffix: str) -> None:
        path = self._clips_dir / f"{camera}-{event_id}{suffix}"
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("could not delete %s: %s", path.name, exc)
