"""The daemon's side of the RTSP restream: runs ``gst_server.py`` under the system python3 and keeps its mounts.

GStreamer's RTSP server (Debian ``gir1.2-gst-rtsp-server-1.0`` + ``python3-gi``) was chosen over MediaMTX
or go2rtc because it is a distribution package (the Dockerfile and scripts/test.sh install it with apt, the
tests already use it), while those two ship no package on the registries reachable here. The daemon's venv
cannot import ``gi``, hence a subprocess of the system python3, which this class supervises:

- ``start()``: spawns it and waits for its ``ready`` line. A port already in use, a host without the
  packages or a server that does not answer is not fatal: one warning line, the ``restream`` health entry
  says why, and :meth:`routes` is empty, so every ffmpeg opens its camera directly as before.
- a CameraSubscriber: a camera added gets its mounts (``routes.mounts``), a removed one loses them.
- ``run()`` (a supervised thread) reads the per-mount figures the server prints each second; when the
  server dies it raises, and the supervisor's next ``run()`` starts a new one with every mount again
  (the readers' ffmpegs exit with it and come back through their capture's retry).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from frigate_like.cameras import Camera
from frigate_like.config import CameraConfig
from frigate_like.redact import redact_text
from frigate_like.restream import routes as routing
from frigate_like.supervise import Health

logger = logging.getLogger(__name__)

SERVER_SCRIPT = Path(__file__).with_name("gst_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # where Debian's python3-gi lives
READY_TIMEOUT = 10.0  # s for the server to import GStreamer and listen


class RestreamServer:
    """GStreamer's RTSP server relaying each camera once (a ``CameraSubscriber``)."""

    def __init__(
        self,
        host: str,
        port: int,
        password: str | None,
        health: Health,
        *,
        python: str | None = None,
    ) -> None:
        self.host, self.port, self._password, self._health = host, port, password, health
        # what the daemon's own ffmpegs log in with (routes.READER_USER): never the API token, which their
        # command lines would show to every local user; new for each run of the daemon
        self._reader_password = secrets.token_urlsafe(24) if password else None
        self._python = python or os.environ.get("FRIGATE_LIKE_GST_PYTHON") or SYSTEM_PYTHON
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._mounts: dict[str, list[routing.Mount]] = {}  # camera → its mounts
        self._figures: dict[str, dict[str, int]] = {"clients": {}, "bytes": {}}
        self.running = False  # listening: readers go through it
        self.stopped = threading.Event()  # stop() was called: run() returning is the end, not a failure

    # -- life -----------------------------------------------------------------------------------
    def start(self) -> bool:
        """Starts the server; False (with one warning line and the health entry) when it cannot."""
        error = self._spawn()
        if error is not None:
            logger.warning("RTSP restream off (%s): every camera is read directly", error)
            self._health.failed(f"restream off: {error}")
            return False
        self.running = True
        self._health.ok()
        logger.info("RTSP restream on rtsp://%s:%d/<camera>", self.host, self.port)
        return True

    def _spawn(self) -> str | None:
        if shutil.which(self._python) is None:
            return f"{self._python} not found (GStreamer's RTSP server needs python3-gi)"
        env = {**os.environ}
        if self._password:
            env.update(RESTREAM_USER=routing.RESTREAM_USER, RESTREAM_PASSWORD=self._password,
                       RESTREAM_READER_USER=routing.READER_USER, RESTREAM_READER_PASSWORD=self._reader_password or "")
        address = "0.0.0.0" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104 - the http.host choice
        try:
            proc = subprocess.Popen(
                [self._python, str(SERVER_SCRIPT), address, str(self.port)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1, env=env,
            )  # fmt: skip
        except OSError as exc:
            return f"cannot start {self._python}: {exc}"
        assert proc.stdout is not None and proc.stderr is not None
        threading.Thread(target=self._log_stderr, args=(proc.stderr,), name="restream-log", daemon=True).start()
        first = _read_line(proc.stdout, READY_TIMEOUT)
        try:
            said = json.loads(first) if first else {}
        except ValueError:
            said = {}
        if not said.get("ready"):
            proc.kill()
            proc.wait()
            proc.stdin.close()  # type: ignore[union-attr]
            proc.stdout.close()
            return str(said.get("error") or f"the server did not start (exit code {proc.returncode})")
        with self._lock:
            self._proc = proc
            for mounts in self._mounts.values():
                for mount in mounts:
                    self._send({"op": "add", "mount": mount.path, "url": mount.source})
        return None

    def run(self) -> None:
        """Reads the server's figures until it exits; a server that died is started again (supervised)."""
        if not self.running:
            return
        with self._lock:
            proc = self._proc
        if proc is None or proc.poll() is not None:
            error = self._spawn()
            if error is not None:
                raise RuntimeError(f"the RTSP restream server cannot start again: {error}")
            self._health.ok()
            with self._lock:
                proc = self._proc
        assert proc is not None and proc.stdout is not None
        for line in proc.stdout:
            try:
                figures = json.loads(line)
            except ValueError:
                continue
            if "clients" in figures:
                self._figures = figures
        code = proc.wait()
        self._figures = {"clients": {}, "bytes": {}}  # its sessions went with it
        if not self.stopped.is_set():
            raise RuntimeError(f"the RTSP restream server exited with code {code}")

    def stop(self) -> None:
        self.stopped.set()
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # the server stops at its stdin's end
        try:
            proc.wait(3.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _log_stderr(self, stderr: IO[str]) -> None:
        with stderr:
            for line in stderr:
                if line.strip():
                    # GStreamer's errors name the camera's URI, credentials included
                    logger.warning("restream: %s", redact_text(line.rstrip()))

    def _send(self, command: dict[str, str]) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            return
        try:
            proc.stdin.write(json.dumps(command) + "\n")
            proc.stdin.flush()
        except (OSError, ValueError):  # it died: run() starts a new one, which gets every mount
            pass

    # -- routes ---------------------------------------------------------------------------------
    def routes(self, cam: CameraConfig) -> dict[str, str]:
        """``{input path: restream URL}`` for the camera's readers; empty while the restream is off."""
        if not self.running:
            return {}
        login = (routing.READER_USER, self._reader_password) if self._reader_password else None
        return routing.routes(cam, routing.base_url(self.port, login))

    # -- CameraSubscriber -----------------------------------------------------------------------
    def camera_added(self, camera: Camera) -> None:
        mounts = routing.mounts(camera.config)
        with self._lock:
            self._mounts[camera.name] = mounts
            for mount in mounts:
                self._send({"op": "add", "mount": mount.path, "url": mount.source})

    def camera_updated(self, old: Camera, new: Camera) -> None:
        self.camera_removed(old)
        self.camera_added(new)

    def camera_paused(self, camera: Camera) -> None:
        pass  # readers stay connected while paused (capture.py): so does the camera's session

    def camera_resumed(self, camera: Camera) -> None:
        pass

    def camera_removed(self, camera: Camera) -> None:
        with self._lock:
            for mount in self._mounts.pop(camera.name, []):
                self._send({"op": "remove", "mount": mount.path})

    # -- stats ----------------------------------------------------------------------------------
    def stats(self) -> dict[str, dict[str, Any]]:
        """Per camera: ``restream_clients`` (RTSP sessions on its mounts, the daemon's own readers
        included) and ``restream_bytes_out`` (RTP bytes sent to them)."""
        clients: Mapping[str, int] = self._figures.get("clients", {})
        sent: Mapping[str, int] = self._figures.get("bytes", {})
        with self._lock:
            cameras = {name: list(mounts) for name, mounts in self._mounts.items()}
        return {
            name: {
                "restream": self.running and bool(mounts),
                "restream_clients": sum(int(clients.get(m.path, 0)) for m in mounts),
                "restream_bytes_out": sum(int(sent.get(m.path, 0)) for m in mounts),
            }
            for name, mounts in cameras.items()
        }


def _read_line(stream: IO[str], timeout: float) -> str:
    """One line from ``stream`` within ``timeout`` s ("" when none came)."""
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return got[0] if got else ""
