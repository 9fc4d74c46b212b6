"""A fresh clone runs its demo on its own: no ``../shared`` beside it, only the README's first command.

The repository's HEAD is cloned into an empty temporary folder and ``./scripts/demo.sh`` runs
there as a user would run it (it makes its own virtualenv; pip uses its normal cache), with the
two ports moved off the defaults: HTTP on a free port, MQTT on a free port nothing listens on
(so nothing reaches a broker other tests share). The daemon must answer ``/api/version``, use
only files inside the clone, and turn the demo clip's person into a finished event whose clip is
a real video; SIGTERM must then end it with status 0 and leave no process behind.
Commit first: the test sees HEAD, not the working tree.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.checks import clip_duration
from tests.integration.daemon import free_port

REPO = Path(__file__).resolve().parents[1]
SETUP_TIMEOUT = 600  # venv + pip install of the project and its dependencies (fast with a warm pip cache)
EVENT_TIMEOUT = 180  # the clip is 23 s and loops: its person comes and goes within the first pass

pytestmark = pytest.mark.timeout(SETUP_TIMEOUT + EVENT_TIMEOUT + 180)


def _head_commit() -> str:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip("not a git checkout: nothing to clone")
    return done.stdout.strip()


def _session_processes(sid: int, marker: str) -> list[str]:
    """Live processes (not zombies) in session ``sid`` or whose command line mentions ``marker``."""
    table = subprocess.run(["ps", "-eww", "-o", "pid=,sid=,stat=,args="], capture_output=True, text=True, check=True)
    rows = (line.split(None, 3) for line in table.stdout.splitlines())
    return [
        " ".join(row)
        for row in rows
        if len(row) == 4 and not row[2].startswith("Z") and (int(row[1]) == sid or marker in row[3])
    ]


def _clean_env(http_port: int, mqtt_port: int) -> dict[str, str]:
    """This environment minus the test's own virtualenv, plus the demo's two ports."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    env.update(FRIGATE_DEMO_PORT=str(http_port), FRIGATE_DEMO_MQTT_PORT=str(mqtt_port), PYTHONUNBUFFERED="1")
    return env


def _config_paths(cfg: dict[str, Any]) -> list[str]:
    """Every file or folder the running config names."""
    paths = [cfg["model"]["path"], cfg["model"]["labelmap_path"], cfg["database"]["path"]]
    paths += [v for v in cfg["paths"].values() if isinstance(v, str)]
    paths += [i["path"] for cam in cfg["cameras"].values() for i in cam["ffmpeg"]["inputs"]]
    return paths


def test_a_fresh_clone_runs_the_demo_on_its_own(tmp_path: Path) -> None:
    head = _head_commit()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-local", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", head], check=True)
    assert not (tmp_path / "shared").exists() and not (clone / "media").exists()

    port = free_port()
    log_path = tmp_path / "demo.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["./scripts/demo.sh"],
            cwd=clone,
            env=_clean_env(port, free_port()),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its session id is its pid: the scan below finds every descendant
        )

    def log_tail() -> str:
        return log_path.read_text(errors="replace")[-4000:]

    def get(path: str) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return bytes(response.read())

    def wait_for(what: str, timeout: float, probe: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"demo.sh exited with {proc.returncode} while waiting for {what}:\n{log_tail()}")
            try:
                value = probe()
            except (urllib.error.URLError, ConnectionError, OSError):
                value = None
            if value:
                return value
            time.sleep(0.5)
        pytest.fail(f"no {what} within {timeout} s:\n{log_tail()}")

    stopped = False
    try:
        version = wait_for("/api/version", SETUP_TIMEOUT, lambda: get("/api/version").decode())
        answered = time.monotonic()
        assert version.strip()

        cfg = json.loads(get("/api/config"))
        for named in _config_paths(cfg):
            assert Path(named).resolve().is_relative_to(clone.resolve()), f"{named} is outside the clone"

        def finished_person_event() -> dict[str, Any] | None:
            events = json.loads(get("/api/events?camera=demo&label=person&has_clip=1"))
            return next((e for e in events if e["end_time"] is not None and e["has_clip"]), None)

        event = wait_for("finished person event with a clip", EVENT_TIMEOUT, finished_person_event)
        evented = time.monotonic()
        clip = tmp_path / "event.mp4"
        clip.write_bytes(get(f"/clips/demo-{event['id']}.mp4"))
        assert clip_duration(clip) > 1.0

        proc.send_signal(signal.SIGTERM)  # demo.sh execs the daemon: this is the daemon itself
        code = proc.wait(60)
        stopped = True
        assert code == 0, log_tail()
    finally:
        if not stopped:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        # multiprocessing's resource tracker exits once it reads the daemon's end of its pipe: give it a moment
        settle = time.monotonic() + 10
        while (leftover := _session_processes(proc.pid, str(clone))) and time.monotonic() < settle:
            time.sleep(0.2)
        for line in leftover:  # leave nothing running, whatever the outcome
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split()[0]), signal.SIGKILL)
    assert not leftover, leftover
    print(
        f"fresh clone: /api/version after {answered - started:.0f} s (venv + pip), "
        f"finished person event after {evented - answered:.0f} s more"
    )
