"""The container health check: the judgement on /api/stats documents, and the check over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from frigate_like.health import (
    DEFAULT_PORT,
    NOT_OK_FOR_S,
    STUCK_DETECTION_S,
    check,
    configured_port,
    configured_token,
    pipeline_problems,
)

NOW = 1_700_000_000.0


def stats(**cameras: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {name: {"camera_fps": 5.0, "paused": False, **entry} for name, entry in cameras.items()}
    doc["detection_fps"] = 1.0
    doc["detectors"] = {"cpu": {"detection_start": 0.0, "inference_speed": 10.0, "pid": 42}}
    doc["service"] = {"uptime": 100}
    return doc


def test_a_running_pipeline_is_healthy() -> None:
    assert pipeline_problems(stats(front={}, back={}), NOW) == []


def test_a_camera_without_frames_is_a_problem_unless_paused() -> None:
    assert pipeline_problems(stats(front={"camera_fps": 0.0}), NOW) == ["camera front: no frames (camera_fps 0)"]
    assert pipeline_problems(stats(front={"camera_fps": 0.0, "paused": True}), NOW) == []


def test_a_detector_stuck_or_gone_is_a_problem() -> None:
    doc = stats(front={})
    doc["detectors"]["cpu"]["detection_start"] = NOW - 5  # one inference under way: fine
    assert pipeline_problems(doc, NOW) == []
    doc["detectors"]["cpu"]["detection_start"] = NOW - STUCK_DETECTION_S - 1
    assert pipeline_problems(doc, NOW) == [f"detector cpu: one inference has run for {STUCK_DETECTION_S + 1:.0f} s"]
    doc["detectors"]["cpu"]["pid"] = None
    assert pipeline_problems(doc, NOW) == ["detector cpu: not running"]


def test_port_comes_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    assert configured_port(config) == DEFAULT_PORT  # no file
    config.write_text("http:\n  port: 5123\n")
    assert configured_port(config) == 5123
    config.write_text("cameras: {}\n")
    assert configured_port(config) == DEFAULT_PORT
    assert configured_token(config) is None


def test_token_comes_from_the_config_file_with_its_environment_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yml"
    monkeypatch.setenv("FRIGATE_API_TOKEN", "s3cret")
    config.write_text("http:\n  api_token: '{FRIGATE_API_TOKEN}'\n  auth: required\n")
    assert configured_token(config) == "s3cret"


@pytest.fixture
def server() -> Iterator[tuple[ThreadingHTTPServer, dict[str, Any]]]:
    answer: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            body = json.dumps(answer).encode()
            wanted = answer.get("_token")  # like http.auth: required
            allowed = wanted is None or self.headers.get("Authorization") == f"Bearer {wanted}"
            self.send_response(401 if not allowed else 200 if self.path == "/api/stats" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, answer
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_check_over_http(server: tuple[ThreadingHTTPServer, dict[str, Any]]) -> None:
    httpd, answer = server
    port = int(httpd.server_address[1])
    answer.update(stats(front={}))
    assert check(port) == []
    answer["front"]["camera_fps"] = 0.0
    assert check(port) == ["camera front: no frames (camera_fps 0)"]
    answer["_token"] = "s3cret"
    assert check(port)[0].endswith("does not answer: HTTP Error 401: Unauthorized")
    assert check(port, "s3cret") == ["camera front: no frames (camera_fps 0)"]
    httpd.shutdown()
    httpd.server_close()
    (problem,) = check(port)
    assert problem.startswith(f"http://127.0.0.1:{port}/api/stats does not answer")


def health_entry(ok: bool, since: float | None = None, error: str | None = None) -> dict[str, Any]:
    return {
        "ok": ok, "error": error, "last_error": error, "last_error_time": since, "restarts": 1, "backlog": None,
        "failing_since": since,
    }  # fmt: skip


def test_a_part_not_ok_for_longer_than_the_limit_is_named_with_its_error() -> None:
    doc = stats(front={})
    doc["service"]["health"] = {
        "events": health_entry(True),
        "camera:front": health_entry(True, None),  # replaced, works again: its last error is history
        "ffmpeg:front:clips+record": health_entry(False, NOW - NOT_OK_FOR_S - 5, "disk full at /cache/front"),
        "ffmpeg:front:detect": health_entry(False, NOW - 10, "ffmpeg exited with code -9"),  # being restarted
    }
    assert pipeline_problems(doc, NOW) == [
        f"ffmpeg:front:clips+record: not ok for {NOT_OK_FOR_S + 5:.0f} s: disk full at /cache/front"
    ]


def test_an_entry_without_failing_since_counts_from_its_last_error() -> None:
    doc = stats(front={})
    old = health_entry(False, NOW - NOT_OK_FOR_S - 1, "database is locked")
    del old["failing_since"]  # a daemon from before failing_since
    doc["service"]["health"] = {"events": old}
    assert pipeline_problems(doc, NOW) == [f"events: not ok for {NOT_OK_FOR_S + 1:.0f} s: database is locked"]
