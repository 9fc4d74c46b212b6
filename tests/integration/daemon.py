"""Runs the real daemon as a subprocess on a config written for the test."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
JSON = {"Content-Type": "application/json"}  # what a state change needs from loopback without a token


def demo_config(
    tmp: Path,
    *,
    loop: bool = False,
    fps: int = 5,
    video: str = "one-by-one-person-detection.mp4",
    extra_input_args: str = "",
) -> dict[str, Any]:
    """The demo config, made absolute and private to one test (own media, cache, port)."""
    cfg = yaml.safe_load((REPO / "config" / "demo.yml").read_text())
    cfg["paths"] = {"media_dir": str(tmp / "media"), "cache_dir": str(tmp / "cache")}
    cfg["database"] = {"path": str(tmp / "media" / "frigate.db")}
    cfg["http"] = {"host": "127.0.0.1", "port": free_port()}
    cfg["mqtt"] = {"enabled": False}
    cfg["restream"] = {"rtsp_port": free_port()}  # never the shared 8554: daemons of other tests run alongside
    cfg["model"]["path"] = str(SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite")
    cfg["model"]["labelmap_path"] = str(SHARED / "models" / "coco_labelmap.txt")
    cam = cfg["cameras"]["demo"]
    cam["fps"] = fps
    inp = cam["ffmpeg"]["inputs"][0]
    inp["path"] = str(SHARED / "media" / video)
    inp["input_args"] = ("-re -stream_loop -1 " if loop else "-re ") + "-fflags +genpts " + extra_input_args
    return cfg


class Daemon:
    """``frigate-like run`` in a subprocess, with helpers to query its HTTP API."""

    def __init__(
        self,
        tmp: Path,
        cfg: dict[str, Any],
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.tmp = tmp
        self.cfg = cfg
        self.env = env or {}  # extra environment, e.g. a private HOME
        # the program before ``run -c ...``: this interpreter's package unless told otherwise (e.g. a wheel's script)
        self.command = command or [sys.executable, "-m", "frigate_like"]
        self.config_path = tmp / "config.yml"
        self.config_path.write_text(yaml.safe_dump(cfg))
        self.log_path = tmp / "daemon.log"
        self.port = int(cfg["http"]["port"])
        host = str(cfg["http"].get("host", "127.0.0.1"))
        self.host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # where the helpers send requests
        self.proc: subprocess.Popen[bytes] | None = None
        self.run_args: list[str] = []  # extra ``run`` options, e.g. --move-corrupt-database
        self._log: Any = None

    @property
    def db_path(self) -> Path:
        return Path(self.cfg["database"]["path"])

    @property
    def clips_dir(self) -> Path:
        return Path(self.cfg["paths"]["media_dir"]) / "clips"

    def start(self, timeout: float = 60) -> None:
        self._log = self.log_path.open("wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        self.proc = subprocess.Popen(
            [*self.command, "run", "-c", str(self.config_path), *self.run_args],
            cwd=self.tmp,  # nothing found through the working folder
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.close()  # no terminate() follows a start that failed
                raise AssertionError(f"daemon exited with {self.proc.returncode}:\n{self.log()}")
            try:
                self.get("/api/version")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.3)
        raise AssertionError(f"daemon did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path: str, timeout: float = 10, headers: dict[str, str] | None = None) -> bytes:
        request = urllib.request.Request(f"http://{self.host}:{self.port}{path}", headers=headers or {})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bytes(response.read())

    def get_json(self, path: str) -> Any:
        return json.loads(self.get(path))

    def wait_for(self, predicate: Any, timeout: float, interval: float = 0.5, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{self.log()[-4000:]}")

    def terminate(self, timeout: float = 30) -> tuple[int, float]:
        """SIGTERM; returns (exit code, seconds it took to exit)."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if self._log is not None:
                self._log.close()
        return code, time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing of the daemon's shutdown runs."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        if self._log is not None:
            self._log.close()

    def wait_exit(self, timeout: float = 30) -> int:
        """Waits for a daemon asked to stop some other way (e.g. ``/shutdown``); its exit code."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        finally:
            if self._log is not None:
                self._log.close()

    def shm_blocks(self) -> set[str]:
        """The shared-memory blocks this daemon made (frame rings, detector buffers), by their pid-named prefix."""
        assert self.proc is not None
        pid = self.proc.pid
        return {name for name in os.listdir("/dev/shm") if name.startswith((f"fl_{pid}_", f"fl-det-{pid}-"))}

    def child_processes_alive(self, marker: str) -> list[str]:
        """Command lines of live processes that mention ``marker`` (e.g. the tmp path)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline and "pytest" not in cmdline:
                found.append(cmdline)
        return found
