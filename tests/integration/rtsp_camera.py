"""A camera on RTSP for the integration tests: tests/rtsp_server.py (GStreamer's server) in a subprocess."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.daemon import SHARED

PERSON = SHARED / "media" / "one-by-one-person-detection.mp4"
RTSP_SERVER = Path(__file__).resolve().parents[1] / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"  # python3-gi lives in the system python, not in the venv


@contextlib.contextmanager
def rtsp_server(port: int, video: Path = PERSON, count_file: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """``video`` over RTSP at ``rtsp://127.0.0.1:<port>/cam`` (skips when python3-gi lacks the server);
    with ``count_file``, the server keeps "<streaming sessions now> <most at once>" in it.

    Its stderr goes to a file, not a pipe: nobody reads a pipe after "ready", and GStreamer's
    warnings would fill it and block the server mid-stream."""
    extra = [str(count_file)] if count_file is not None else []
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SERVER), str(port), str(video), *extra], stdout=subprocess.PIPE, stderr=stderr
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != b"ready":
            proc.kill()
            proc.communicate()
            stderr.seek(0)
            pytest.skip(f"no GStreamer RTSP server (scripts/test.sh installs it): {stderr.read().decode()[-300:]}")
        try:
            yield proc
        finally:
            proc.kill()
            proc.communicate()  # reaps it and closes its pipe
            stderr.seek(0)
            said = stderr.read().decode(errors="replace").strip()
            if said:
                print(f"RTSP server on {port} said:\n{said[-2000:]}")  # shown with a failing test's output
