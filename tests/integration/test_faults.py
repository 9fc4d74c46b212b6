"""Faults injected into a running daemon on the person video, and what it holds afterwards.

Each scenario waits for a person event to start (MQTT ``new``), injects its fault, lets the
daemon get over it, stops it, then checks the database, the clips folder and MQTT (a fresh
topic prefix per test): every event seen on MQTT is in the database, ended, with the files its
flags claim, one new → updates → end per id, and no half-written or live leftovers.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pytest

from frigate_like.comms.mqtt import OUTBOX_LIMIT
from tests.broker import PrivateBroker, Received, Subscriber, unique_prefix
from tests.integration.checks import db_events, descendants, event_clip, is_gone
from tests.integration.daemon import SHARED, Daemon, demo_config, free_port
from tests.integration.rtsp_camera import rtsp_server
from tests.integration.test_mqtt_daemon import _check_lifecycles, _events, _mqtt
from tests.mounts import fill, tmpfs
from tests.named_pipes import pipe_writer

PERSON = SHARED / "media" / "one-by-one-person-detection.mp4"

RECORD_ARGS = "-f segment -segment_time 5 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c:v copy -an"
GAP_S = 1.5  # more footage than this missing between two recordings is a gap

pytestmark = pytest.mark.slow


def fault_config(tmp_path: Path, prefix: str) -> dict[str, Any]:
    """The person video played once in real time, with clips and 24/7 recording, MQTT on ``prefix``."""
    cfg = demo_config(tmp_path, loop=False, fps=5)
    cfg["mqtt"] = _mqtt(prefix, 1883, stats_interval=5)
    cam = cfg["cameras"]["demo"]
    cam["ffmpeg"]["inputs"][0]["roles"] = ["detect", "clips", "record"]
    cam["ffmpeg"]["output_args"] = {"record": RECORD_ARGS}
    cam["record"] = {"enabled": True}
    return cfg


def recording_gaps(db_path: Path) -> list[tuple[float, float]]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT start_time, end_time FROM recordings ORDER BY start_time").fetchall()
    assert rows, "nothing was recorded"
    gaps, last_end = [], rows[0][1]
    for start, end in rows[1:]:
        if start - last_end > GAP_S:
            gaps.append((last_end, start))
        last_end = max(last_end, end)
    return gaps


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[tuple[Daemon, Subscriber]]:
    """A daemon on the person video, played once in real time, publishing under a fresh prefix."""
    prefix = unique_prefix("faults")
    daemon = Daemon(tmp_path, fault_config(tmp_path, prefix))
    with Subscriber(prefix) as sub:
        daemon.start()
        try:
            yield daemon, sub
        finally:
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.terminate()


def first_event(sub: Subscriber, timeout: float = 60) -> str:
    found = sub.wait_for(
        lambda ms: [e for e in _events(ms) if e["type"] == "new"], timeout, "a person event to start"
    )
    return str(found[0]["after"]["id"])


def wait_ended(sub: Subscriber, event_id: str, timeout: float = 60) -> None:
    sub.wait_for(
        lambda ms: [e for e in _events(ms) if e["type"] == "end" and e["after"]["id"] == event_id],
        timeout,
        f"event {event_id} to end",
    )


def open_on_mqtt(messages: list[Received]) -> set[str]:
    """Events MQTT heard start and not end."""
    kinds = {e["after"]["id"]: e["type"] for e in _events(messages)}
    return {event_id for event_id, kind in kinds.items() if kind != "end"}


def health(daemon: Daemon) -> dict[str, Any]:
    return dict(daemon.get_json("/api/stats")["service"]["health"])


def check_aftermath(
    daemon: Daemon,
    messages: list[Received],
    *,
    all_ended_on_mqtt: bool = True,
    clips_required: bool = True,
    fault: tuple[float, float] | None = None,
    recorded: bool = True,
    recovered: Collection[str] = (),
) -> None:
    """Every MQTT event in the DB, ended, with its files; lifecycles whole; no leftovers; no gap in
    the recordings (``recorded``: 24/7 recording was on) except within ``fault`` (epoch seconds).
    ``recovered``: events a crash left open, ended on MQTT by the next run."""
    for gap_start, gap_end in recording_gaps(daemon.db_path) if recorded else []:
        assert fault is not None and fault[0] <= gap_start and gap_end <= fault[1], (
            f"recordings miss {gap_start:.1f}-{gap_end:.1f} (fault: {fault})"
        )
    by_id = _check_lifecycles(_events(messages), all_ended=all_ended_on_mqtt, recovered=recovered)
    rows = {row["id"]: row for row in db_events(daemon.db_path)}
    assert by_id, "no event was published"
    for event_id in by_id:
        row = rows.get(event_id)
        assert row is not None, f"event {event_id} was published on MQTT but is not in the database"
        assert row["end_time"] is not None and row["end_time"] >= row["start_time"], row
        clip = event_clip(daemon.clips_dir, row["camera"], event_id)
        snapshot = daemon.clips_dir / f"{row['camera']}-{event_id}.jpg"
        assert bool(row["has_clip"]) == clip.exists(), (event_id, row["has_clip"])
        assert bool(row["has_snapshot"]) == snapshot.exists(), (event_id, row["has_snapshot"])
        assert row["has_clip"] or not clips_required, f"event {event_id} has no clip"
        # a clip lacks footage only where the fault was, and says so in the event's data
        for gap_start, gap_end in json.loads(row["clip_gaps"]):
            assert gap_start < gap_end, row
            assert fault is not None and gap_end >= fault[0] and gap_start <= fault[1], (event_id, row, fault)
    leftovers = [p.name for p in daemon.clips_dir.iterdir() if p.name.endswith((".tmp", ".live.json", ".best.jpg"))]
    assert leftovers == [], leftovers
    assert "Traceback" not in daemon.log(), daemon.log()[-3000:]


def test_sqlite_held_exclusive_queues_events_that_land_afterwards(faulty: tuple[Daemon, Subscriber]) -> None:
    daemon, sub = faulty
    event_id = first_event(sub)
    threads = {"events", "tracked-objects", "event-retention", "watchdog", "recordings", "mqtt-stats", "ws-frames"}
    assert threads <= set(health(daemon)), "every background thread is supervised and reported"
    daemon.wait_for(lambda: any(r["id"] == event_id for r in db_events(daemon.db_path)), 20, what="the row")
    holder = sqlite3.connect(daemon.db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # longer than the writer's 10 s busy timeout
    try:
        refused = daemon.wait_for(lambda: not health(daemon)["events"]["ok"], 40, what="the writer to report")
        assert refused
        wait_ended(sub, event_id)  # the event ends on MQTT while its DB row cannot be written
        daemon.wait_for(lambda: health(daemon)["events"]["backlog"], 20, what="a backlog")
        during = health(daemon)["events"]
        assert "database is locked" in during["error"] and during["restarts"] == 0
    finally:
        holder.execute("COMMIT")
        holder.close()
    daemon.wait_for(lambda: health(daemon)["events"]["ok"], 30, what="the writer to recover")
    daemon.wait_for(lambda: health(daemon)["events"]["backlog"] == 0, 30, what="the backlog to drain")
    code, _ = daemon.terminate()
    assert code == 0
    messages = sub.snapshot()
    check_aftermath(daemon, messages)
    mqtt_health = [json.loads(m.payload)["service"]["health"]["events"] for m in messages if m.topic == "stats"]
    assert any(not h["ok"] for h in mqtt_health), "MQTT stats never showed the refusal"


def test_a_detector_stopped_mid_event_is_restarted_and_the_visit_stays_one_event(
    faulty: tuple[Daemon, Subscriber],
) -> None:
    daemon, sub = faulty
    event_id = first_event(sub)
    old_pid = int(daemon.get_json("/api/stats")["detectors"]["cpu"]["pid"])
    os.kill(old_pid, signal.SIGSTOP)  # between inferences most likely: detection_start is 0
    try:
        daemon.wait_for(
            lambda: daemon.get_json("/api/stats")["detectors"]["cpu"]["pid"] not in (None, old_pid),
            40,
            what="the watchdog to restart the stopped detector",
        )
    finally:
        if not is_gone(old_pid):
            os.kill(old_pid, signal.SIGKILL)
    detector = health(daemon)["detector:cpu"]
    assert detector["restarts"] >= 1 and "no sign of life" in detector["last_error"]
    wait_ended(sub, event_id, timeout=90)
    code, _ = daemon.terminate()
    assert code == 0
    messages = sub.snapshot()
    check_aftermath(daemon, messages)  # one new → updates → end per id: no new/end/new
    assert "already exists" not in daemon.log()


def test_a_killed_camera_process_is_restarted_and_reported(faulty: tuple[Daemon, Subscriber]) -> None:
    daemon, _ = faulty

    def camera_pid() -> int:
        return int(daemon.get_json("/api/stats")["demo"]["pid"] or 0)

    def ffmpeg_pid() -> int:
        return int(daemon.get_json("/api/stats")["demo"]["capture_pid"] or 0)

    daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["camera_fps"] > 0, 60, what="frames")
    old_pid, old_ffmpeg = camera_pid(), ffmpeg_pid()
    assert health(daemon)["camera:demo"]["ok"] and health(daemon)["camera:demo"]["restarts"] == 0
    os.kill(old_pid, signal.SIGKILL)
    daemon.wait_for(lambda: camera_pid() not in (0, old_pid), 30, what="the watchdog to restart the camera process")
    camera = health(daemon)["camera:demo"]
    assert camera["restarts"] == 1 and camera["last_error"] == f"camera process exited with code -{signal.SIGKILL}"
    daemon.wait_for(lambda: ffmpeg_pid() not in (0, old_ffmpeg), 30, what="the new process's ffmpeg")
    code, _ = daemon.terminate()
    assert code == 0
    assert "Traceback" not in daemon.log(), daemon.log()[-3000:]


def test_events_left_open_by_kill_9_are_closed_at_the_next_start(faulty: tuple[Daemon, Subscriber]) -> None:
    daemon, sub = faulty
    event_id = first_event(sub)
    time.sleep(7)  # at least one live update (every 5 s) on disk
    stats = daemon.get_json("/api/stats")
    children = [stats["demo"]["pid"], stats["demo"]["capture_pid"], stats["detectors"]["cpu"]["pid"]]
    killed_at = time.time()
    daemon.kill()
    open_at_kill = open_on_mqtt(sub.snapshot())
    daemon.wait_for(lambda: all(is_gone(pid) for pid in children if pid), 15, what="the children to exit")
    [row] = [r for r in db_events(daemon.db_path) if r["id"] == event_id]
    assert row["end_time"] is None  # left open by the crash

    restarted_at = time.time()
    daemon.start()
    daemon.wait_for(lambda: db_events(daemon.db_path)[0]["end_time"] is not None, 30, what="recovery")
    time.sleep(12)  # record segments of the new run
    code, _ = daemon.terminate()
    assert code == 0
    [row] = [r for r in db_events(daemon.db_path) if r["id"] == event_id]
    assert row["start_time"] + 5 <= row["end_time"] <= time.time()  # its last update, not the restart time
    assert "was left open by a crash" in daemon.log()
    # The killed run never sent "end" for it: the next run does, as stored (and every event since ends).
    # The segment being written at the kill is salvaged to its last frame: the only hole is the downtime.
    messages = sub.snapshot()
    [end] = [e for e in _events(messages) if e["type"] == "end" and e["after"]["id"] == event_id]
    assert end["after"]["end_time"] == pytest.approx(row["end_time"]) and end["after"]["has_clip"] == row["has_clip"]
    check_aftermath(daemon, messages, fault=(killed_at - GAP_S, restarted_at + 20), recovered=open_at_kill)


def test_a_full_cache_disk_stops_segments_never_detection_and_writing_resumes(tmp_path: Path) -> None:
    prefix = unique_prefix("diskfull")
    with tmpfs(tmp_path / "small", "size=24m") as small, Subscriber(prefix) as sub:
        cfg = fault_config(tmp_path, prefix)
        cfg["paths"]["cache_dir"] = str(small / "cache")
        daemon = Daemon(tmp_path, cfg)
        daemon.start()
        try:
            first_event(sub)

            def camera() -> dict[str, Any]:
                return dict(daemon.get_json("/api/stats")["demo"])

            filled_at = time.time()
            fill(small / "filler")
            daemon.wait_for(lambda: camera()["storage_full"], 40, what="storage_full in stats")
            # the input's one ffmpeg ended with its segment output; detection started again on its own
            daemon.wait_for(lambda: camera()["capture_pid"], 10, what="the detect ffmpeg")
            detect_pid, processed = camera()["capture_pid"], daemon.get_json("/api/stats")["demo"]["process_fps"]
            time.sleep(8)
            assert camera()["capture_pid"] == detect_pid, "the detect ffmpeg was restarted"
            assert camera()["process_fps"] > 0 and processed > 0, "detection stopped with the disk full"
            (small / "filler").unlink()
            freed_at = time.time()
            daemon.wait_for(lambda: not camera()["storage_full"], 60, what="writing to resume")
            time.sleep(6)  # a record segment after the fault
        finally:
            code, _ = daemon.terminate()
        assert code == 0
        log = daemon.log()
        assert log.count("disk full at") == 1, [line for line in log.splitlines() if "disk full" in line]
        assert log.count("detection goes on at once in an ffmpeg of its own") == 1  # split once
        assert f"disk full at {small / 'cache' / 'demo'}" in log
        check_aftermath(daemon, sub.snapshot(), clips_required=False, fault=(filled_at - 10, freed_at + 20))


@contextlib.contextmanager
def mute_port(port: int) -> Iterator[list[float]]:
    """Something on ``port`` that accepts and hangs up without a word (a camera still booting):
    yields the times it accepted a connection."""
    accepted: list[float] = []
    server = socket.create_server(("127.0.0.1", port))  # SO_REUSEADDR: the server's old connections linger

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return  # shut down
            accepted.append(time.monotonic())
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield accepted
    finally:
        server.shutdown(socket.SHUT_RDWR)  # wakes accept()
        server.close()
        thread.join(5)


def test_a_network_camera_that_goes_away_is_probed_and_frames_resume(tmp_path: Path) -> None:
    port = free_port()
    cfg = demo_config(tmp_path, loop=False, fps=5)
    cam = cfg["cameras"]["demo"]["ffmpeg"]["inputs"][0]
    cam["path"], cam["input_args"] = f"rtsp://127.0.0.1:{port}/cam", "-rtsp_transport tcp"
    daemon = Daemon(tmp_path, cfg)

    def latest() -> bytes:
        return daemon.get("/api/demo/latest.jpg")

    def reconnects() -> int:
        return int(daemon.get_json("/api/stats")["demo"]["reconnects_last_hour"])

    with rtsp_server(port):
        daemon.start()
        try:
            daemon.wait_for(lambda: daemon.get_json("/api/stats")["demo"]["camera_fps"] > 0, 60, what="frames")
            frames_before = latest()
            daemon.wait_for(lambda: latest() != frames_before, 10, 0.2, what="a new frame")
        except BaseException:
            daemon.terminate()
            raise
    try:
        down_at = time.monotonic()
        time.sleep(3)
        stalled, before = latest(), reconnects()
        with mute_port(port) as accepted:  # the probes made visible: a port that accepts but is no RTSP server
            time.sleep(8)
        time.sleep(3)  # nothing listening again
        assert latest() == stalled, "frames while the camera is down?"
        assert reconnects() == before, "an ffmpeg was started while the camera did not answer"
        # a probe about every second (NETWORK_PROBE), on the 0.5 s tick
        assert 5 <= len(accepted) <= 9, f"{len(accepted)} probes in 8 s"
        inputs = {name: entry for name, entry in health(daemon).items() if name.startswith("ffmpeg:demo:")}
        assert set(inputs) == {"ffmpeg:demo:detect+clips"}, "an entry per ffmpeg of the camera"
        for entry in inputs.values():
            assert not entry["ok"] and entry["error"].startswith("the source does not answer"), entry
        with rtsp_server(port):
            back_at = time.monotonic()
            daemon.wait_for(lambda: latest() != stalled, 30, 0.2, what="frames after the camera came back")
            resumed = time.monotonic() - back_at
            print(f"camera down {back_at - down_at:.1f} s; frames resumed {resumed:.1f} s after it came back")
            daemon.wait_for(
                lambda: all(health(daemon)[name]["ok"] for name in inputs), 20, what="the entries ok again"
            )
    finally:
        code, _ = daemon.terminate()
    assert code == 0
    # The target is 5 s; ~1.5 s is typical here (probe ≤ 1.5 s, ffmpeg to its first frame ~0.7 s, a key
    # frame every 1 s). No extra slack: over 5 s means a slow probe or a slow ffmpeg start, not load.
    assert resumed < 5.0, f"frames resumed {resumed:.1f} s after the camera came back"
    assert daemon.log().count("is down; probing every") == 1  # the input's ffmpeg: once per outage


def test_a_broker_down_at_start_is_waited_for_and_the_events_meanwhile_arrive_in_order(tmp_path: Path) -> None:
    prefix = unique_prefix("latebroker")
    broker = PrivateBroker(tmp_path / "broker", persistence=True)
    where = f"127.0.0.1:{broker.port}"
    # The subscriber's kept session is made on the broker, which then goes away and saves it: once
    # back, it holds what the daemon sends for the subscriber, whichever of the two reconnects first.
    broker.start()
    sub = Subscriber(prefix, broker.port, persistent=True)
    sub.start()
    sub.stop()
    broker.stop()
    cfg = demo_config(tmp_path, loop=True, fps=5)
    cfg["mqtt"] = _mqtt(prefix, broker.port, stats_interval=5)
    daemon = Daemon(tmp_path, cfg)

    def mqtt_health() -> dict[str, Any]:
        return dict(health(daemon)["mqtt"])

    try:
        daemon.start()  # answers although the broker is not there
        down = daemon.wait_for(lambda: (h := mqtt_health()) and not h["ok"] and h, 20, what="MQTT reported down")
        assert down["error"].startswith(f"broker at {where} unreachable (ConnectionRefusedError: "), down
        # events are found and stored meanwhile; wait for one that ended: its new, updates and end all wait
        daemon.wait_for(
            lambda: any(r["end_time"] is not None for r in db_events(daemon.db_path)), 120, what="an event to end"
        )
        stored = [r["id"] for r in db_events(daemon.db_path)]
        waiting = mqtt_health()
        assert not waiting["ok"] and 0 < waiting["backlog"] <= OUTBOX_LIMIT, waiting

        broker.start()
        sub.start()
        sub.wait_topic("available", "online", timeout=30)  # paho retries every ≤ 10 s
        daemon.wait_for(lambda: (h := mqtt_health())["ok"] and h["backlog"] == 0, 30, what="healthy, outbox sent")
        sub.wait_for(
            lambda ms: {e["after"]["id"] for e in _events(ms)} >= set(stored), 30, "the events stored meanwhile"
        )
        sub.wait_topic("stats", timeout=15)  # every 5 s, only while connected
    finally:
        code, took = daemon.terminate()
        sub.stop()
        broker.stop()
    assert code == 0 and took < 15, (code, took)
    messages = sub.snapshot()
    # in order: each event new → updates → end, each "before" the previous "after", and the events
    # in the order they started
    check_aftermath(daemon, messages, recorded=False)
    first_seen = list(dict.fromkeys(e["after"]["id"] for e in _events(messages)))
    assert first_seen[: len(stored)] == stored
    log = daemon.log()
    unreachable = [line for line in log.splitlines() if "unreachable" in line]
    assert len(unreachable) == 1 and f"MQTT broker at {where} unreachable (ConnectionRefusedError: " in unreachable[0]
    assert log.count("MQTT connected to") == 1
    assert "queued while the broker was away" in log and "dropped" not in log
    stats = [json.loads(m.payload)["service"]["health"]["mqtt"] for m in messages if m.topic == "stats"]
    assert stats and all(h["ok"] and h["last_error"] == down["last_error"] for h in stats)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (gone ones count 0)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of proc(5)
    return ticks / os.sysconf("SC_CLK_TCK")


def test_a_stalled_named_pipe_is_waited_for_and_the_other_camera_runs_on(tmp_path: Path) -> None:
    fifo = tmp_path / "piped.ts"
    os.mkfifo(fifo)
    writer_log = tmp_path / "writer.log"
    broker = PrivateBroker(tmp_path / "broker")
    broker.start()
    prefix = unique_prefix("fifo")
    cfg = demo_config(tmp_path, loop=True, fps=5, video="car-detection.mp4")  # "demo": the other camera
    cfg["mqtt"] = _mqtt(prefix, broker.port)
    piped = json.loads(json.dumps(cfg["cameras"]["demo"]))
    piped["ffmpeg"]["inputs"][0].update(path=str(fifo), input_args="-fflags +genpts")  # no -re: the writer paces it
    cfg["cameras"]["piped"] = piped
    daemon = Daemon(tmp_path, cfg)
    other_fps: list[float] = []  # the demo camera's camera_fps at every look at the stats, once it ran

    def camera(name: str = "piped") -> dict[str, Any]:
        stats = daemon.get_json("/api/stats")
        if other_fps or stats["demo"]["camera_fps"] > 3:
            other_fps.append(stats["demo"]["camera_fps"])
        return dict(stats[name])

    def latest() -> bytes:
        return daemon.get("/api/piped/latest.jpg")

    def watch(seconds: float) -> dict[str, Any]:
        """The piped camera's stats every second for ``seconds``; the last ones."""
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            piped = camera()
            time.sleep(1)
        return piped

    with Subscriber(prefix, broker.port) as sub, pipe_writer(fifo, PERSON, writer_log) as writer:
        daemon.start()
        try:
            daemon.wait_for(lambda: camera()["camera_fps"] > 3 and camera("demo")["camera_fps"] > 3, 60, what="frames")
            sub.wait_for(lambda ms: [e for e in _events(ms) if e["after"]["camera"] == "piped"], 60, "a piped event")

            # the writer stalls for 15 s with a person in view: the pipe's reader waits, nothing spins
            piped_events = [e for e in _events(sub.snapshot()) if e["after"]["camera"] == "piped"]
            in_progress = {e["after"]["id"] for e in piped_events} - {
                e["after"]["id"] for e in piped_events if e["type"] == "end"
            }
            assert in_progress
            before = camera()
            reader, readers = before["capture_pid"], [before["pid"], before["capture_pid"]]
            cpu, frame = cpu_seconds(readers), latest()
            faults_from = time.time()
            os.kill(writer.pid, signal.SIGSTOP)
            stalled = watch(15)
            cpu = (cpu_seconds(readers) - cpu) / 15
            assert stalled["stalled"] and stalled["camera_fps"] < 1, stalled
            assert (stalled["capture_pid"], stalled["reconnects_last_hour"]) == (reader, before["reconnects_last_hour"])
            assert latest() == frame
            assert cpu < 0.1, f"the piped camera used {cpu:.0%} of a core while its writer was stopped"
            print(f"writer stopped 15 s: camera_fps {stalled['camera_fps']}, cpu {cpu:.1%} of a core")
            os.kill(writer.pid, signal.SIGCONT)
            daemon.wait_for(lambda: latest() != frame, 20, 0.2, what="frames once the writer went on")
            daemon.wait_for(lambda: (c := camera())["camera_fps"] > 3 and not c["stalled"], 20, what="the rate back")

            # the writer dies: the pipe's next reader waits for the next writer, which comes 10 s later
            writer.kill()
            writer.wait()
            daemon.wait_for(lambda: camera()["capture_pid"] not in (None, reader), 10, what="the next reader")
            waiting = camera()
            cpu = cpu_seconds([waiting["pid"], waiting["capture_pid"]])
            awaited = watch(10)
            cpu = (cpu_seconds([waiting["pid"], waiting["capture_pid"]]) - cpu) / 10
            assert awaited["stalled"] and awaited["capture_pid"] == waiting["capture_pid"], awaited
            assert awaited["reconnects_last_hour"] == before["reconnects_last_hour"] + 1  # no restart while it waits
            assert cpu < 0.1, f"the piped camera used {cpu:.0%} of a core while its pipe had no writer"
            print(f"no writer 10 s: cpu {cpu:.1%} of a core")
            frame = latest()
            with pipe_writer(fifo, PERSON, writer_log) as writer:
                back_at = time.monotonic()
                daemon.wait_for(lambda: latest() != frame, 20, 0.2, what="frames from the next writer")
                print(f"frames {time.monotonic() - back_at:.1f} s after the next writer started")
                faults_until = time.time()
                daemon.wait_for(lambda: (c := camera())["camera_fps"] > 3 and not c["stalled"], 20, what="the rate")
                assert camera()["capture_pid"] == waiting["capture_pid"]
                watch(3)
                assert daemon.proc is not None
                children = descendants(daemon.proc.pid)
                code, took = daemon.terminate()
        finally:
            if daemon.proc is not None and daemon.proc.poll() is None:
                daemon.terminate()
            broker.stop()
    assert code == 0 and took < 15, (code, took)
    assert len(children) >= 4  # two camera processes, their ffmpegs, the detector
    assert [pid for pid in children if not is_gone(pid)] == [], "processes of the daemon outlived it"
    assert min(other_fps) > 3, other_fps  # the demo camera never stopped
    # each event, the ones in progress through the stall too: new → updates → end, in the database,
    # ended, with its clip; a clip across the stall or the writer's absence names that gap
    check_aftermath(daemon, sub.snapshot(), recorded=False, fault=(faults_from - 2, faults_until + 2))
    rows = {r["id"]: r for r in db_events(daemon.db_path)}
    assert in_progress <= set(rows)
    # the writer stopped for 15 s while an event ran on: its clip lacks those seconds and says so
    holes = [b - a for event_id in in_progress for a, b in json.loads(rows[event_id]["clip_gaps"])]
    assert any(hole >= 10 for hole in holes), [rows[event_id] for event_id in in_progress]
    log = daemon.log()
    assert "ffmpeg.piped.clips:" not in log and "ffmpeg.piped.detect:" not in log  # one reader of the pipe
    assert log.count("the writer of piped's named pipe closed it; waiting for the next one") == 1
    assert log.count("the named pipe of piped delivers again after") == 1
    assert "no frame from piped" not in log  # a 15 s stall is shorter than the no-frame timeout (20 s)
