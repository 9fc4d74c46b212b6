"""A full disk under the running daemon's media and cache: clips and snapshots are written once space returns.

Media and cache share one small tmpfs. The disk is filled (and kept full) as soon as the first
person event ends (MQTT ``end``), so its clip (still waiting for post-capture footage) and its
snapshot are written into a full disk; it is freed once that event is closed in the database. Afterwards
every ended event whose footage was in the cache has a clip ffprobe plays and a snapshot, no
clip is marked good without a playable file, and no temp file is left.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest

from tests.broker import Subscriber, unique_prefix
from tests.integration.checks import clip_duration, db_events, event_clip
from tests.integration.daemon import Daemon, demo_config
from tests.integration.test_mqtt_daemon import _check_lifecycles, _events, _mqtt
from tests.mounts import kept_full, tmpfs

pytestmark = pytest.mark.slow

PRE_CAPTURE = POST_CAPTURE = 5  # config/demo.yml
TEMP_SUFFIXES = (".tmp", ".partial")
LEFTOVER_SUFFIXES = (*TEMP_SUFFIXES, ".live.json", ".best.jpg")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "small", "size=64m") as folder:
        yield folder


def row_of(daemon: Daemon, event_id: str) -> dict[str, Any] | None:
    return next((row for row in db_events(daemon.db_path) if row["id"] == event_id), None)


def test_clips_and_snapshots_lost_to_a_full_disk_are_written_once_space_returns(
    tmp_path: Path, small_disk: Path
) -> None:
    prefix = unique_prefix("mediafull")
    cfg = demo_config(tmp_path, loop=False, fps=5)  # the person video once, in real time
    cfg["mqtt"] = _mqtt(prefix, 1883)
    cfg["paths"] = {"media_dir": str(small_disk / "media"), "cache_dir": str(small_disk / "cache")}
    cfg["database"] = {"path": str(tmp_path / "db" / "frigate.db")}  # the events' rows are not what is tested
    daemon = Daemon(tmp_path, cfg)
    with Subscriber(prefix) as sub:
        daemon.start()
        try:
            first = sub.wait_for(lambda ms: [e for e in _events(ms) if e["type"] == "end"], 90, "an event to end")
            event_id = first[0]["after"]["id"]
            # its clip waits for post-capture footage, then its clip and snapshot are written into a full disk
            with kept_full(small_disk / "filler"):
                filled_at = time.time()
                row = daemon.wait_for(
                    lambda: (r := row_of(daemon, event_id)) is not None and r["end_time"] is not None and r,
                    60, what=f"event {event_id} to be closed",
                )  # fmt: skip
                assert not row["has_clip"] and not row["has_snapshot"], "written into a full disk?"
                assert leftovers(daemon.clips_dir, TEMP_SUFFIXES) == []  # (live events keep their live files)
            freed_at = time.time()
            daemon.wait_for(
                lambda: (r := row_of(daemon, event_id)) is not None and r["has_clip"] and r["has_snapshot"],
                60, what=f"event {event_id}'s clip and snapshot once space returned",
            )  # fmt: skip
            # the next event: it started while the disk was full and ends after
            daemon.wait_for(
                lambda: [r for r in db_events(daemon.db_path) if r["id"] != event_id and r["end_time"]],
                90, what="a second event to end",
            )  # fmt: skip
        finally:
            code, _ = daemon.terminate()
    assert code == 0
    log = daemon.log()
    assert "Traceback" not in log, log[-3000:]
    assert f"event {event_id}: clip written at attempt" in log
    assert f"event {event_id}: snapshot written at attempt" in log

    rows = db_events(daemon.db_path)
    assert len(rows) >= 2
    for row in rows:
        assert row["end_time"] is not None, row
        clip = event_clip(daemon.clips_dir, row["camera"], row["id"])
        snapshot = daemon.clips_dir / f"{row['camera']}-{row['id']}.jpg"
        assert bool(row["has_clip"]) == clip.exists() and bool(row["has_snapshot"]) == snapshot.exists(), row
        # only an event whose clip range meets the time the cache could not be written may lack footage
        # (one that began in the fault can end with the video, before footage after the fault is cut)
        meets_fault = row["start_time"] - PRE_CAPTURE <= freed_at and row["end_time"] + POST_CAPTURE >= filled_at
        assert row["has_clip"] or meets_fault, f"event {row['id']} has no clip"
        assert row["has_snapshot"], f"event {row['id']} has no snapshot"
        if row["has_clip"]:
            assert clip_duration(clip) > 1.0, f"{clip.name} is marked good but does not play"
        assert cv2.imread(str(snapshot)) is not None, f"{snapshot.name} is not a picture"
    for clip in daemon.clips_dir.glob("*.mp4"):  # none a clip row does not vouch for, none that does not play
        assert clip_duration(clip) > 1.0, clip.name
    assert leftovers(daemon.clips_dir) == []
    assert [p.name for p in (small_disk / "cache").rglob("*.partial")] == []
    _check_lifecycles(_events(sub.snapshot()))


def leftovers(clips_dir: Path, suffixes: tuple[str, ...] = LEFTOVER_SUFFIXES) -> list[str]:
    return [p.name for p in clips_dir.iterdir() if p.name.endswith(suffixes)]
