"""Manual recordings (the seed's record/start and record/stop): every active camera into one named folder.

A recording is ``<recording_directory>/<recording_name>/`` holding one video per camera,
``<recording_name>.camera.id<camera>.idx<index>.mp4`` (``index``: the camera's position in
the config), per-frame timestamps in ``timestamps/camera_timestamps/<video_id>.csv``, an
optional ``<recording_name>.audio.wav`` from a microphone, and at stop
``timestamps/<recording_name>_statistics.json``.

One clock for every camera: a frame's time is when capture read it (``time.time()`` of this
host), and ``timestamp_from_zero_s`` counts from the moment the recording started. Only
frames captured at or after that moment are written, so every camera's first frame lies
within one frame interval of the start, and of each other.

The tracking thread calls :meth:`ManualRecorder.on_frame` for every FrameUpdate; it copies the
frame out of the ring and hands it to the camera's :class:`CameraWriter`, never waiting.
"""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from frigate_like.devices.alsa import Microphone, list_microphones, pick_microphone
from frigate_like.errors import BadRequest, Conflict
from frigate_like.record.camera_writer import CameraSource, CameraWriter, close_ffmpeg_log, log_ffmpeg, utc_iso
from frigate_like.record.roots import AllowedRoots

logger = logging.getLogger(__name__)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
TIMESTAMPS_DIR = Path("timestamps") / "camera_timestamps"
AUDIO_STOP_TIMEOUT_S = 10.0


class FrameUpdateLike(Protocol):
    @property
    def camera(self) -> str: ...
    @property
    def frame_time(self) -> float: ...
    @property
    def slot(self) -> int: ...


def default_recording_name(now: float) -> str:
    """A file-safe ISO local datetime, e.g. ``2024-09-15T14_30_00``."""
    return datetime.fromtimestamp(now).strftime("%Y-%m-%dT%H_%M_%S")


def video_id(recording_name: str, source: CameraSource) -> str:
    return f"{recording_name}.camera.id{source.name}.idx{source.index}"


@dataclass
class _Session:
    name: str
    folder: Path
    zero: float
    writers: dict[str, CameraWriter]
    microphone: Microphone | None = None
    audio: subprocess.Popen[bytes] | None = None
    audio_path: Path | None = None
    audio_launched: float | None = None
    audio_log: threading.Thread | None = None
    sources: dict[str, CameraSource] = field(default_factory=dict)


class ManualRecorder:
    """Starts and stops the one manual recording the daemon runs at a time."""

    def __init__(
        self,
        sources: Sequence[CameraSource],
        roots: AllowedRoots,
        ffmpeg_bin: str,
        *,
        microphones: Callable[[], list[Microphone]] = list_microphones,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sources = {source.name: source for source in sources}
        self.roots = roots
        self._ffmpeg_bin = ffmpeg_bin
        self._microphones = microphones
        self._clock = clock
        self._control = threading.Lock()  # one start or stop at a time
        self._frames_lock = threading.Lock()  # the session as on_frame sees it
        self._session: _Session | None = None

    def add_source(self, source: CameraSource) -> None:
        """A camera joins the next recording (a running one keeps its cameras)."""
        self.sources = {**self.sources, source.name: source}

    def remove_source(self, name: str) -> None:
        self.sources = {k: v for k, v in self.sources.items() if k != name}

    @property
    def recording(self) -> bool:
        return self._session is not None

    # -- start ----------------------------------------------------------------------------------
    def start(
        self,
        recording_name: str | None = None,
        recording_directory: str | None = None,
        mic_device_index: int = -1,
    ) -> Path:
        """Starts recording every active camera; returns the recording's folder.

        ``BadRequest``: a bad name, a folder outside the allowed roots or not creatable, an
        unknown microphone. ``Conflict``: a recording runs already, the name exists, no camera.
        """
        with self._control:
            if self._session is not None:
                raise Conflict(f"recording {self._session.name!r} is already running; stop it first")
            sources = self.sources
            if not sources:
                raise Conflict("no camera delivers frames (a camera needs an input with the detect role)")
            name = recording_name if recording_name else default_recording_name(self._clock())
            if not NAME.match(name) or ".." in name:
                raise BadRequest(
                    f"recording_name {name!r} must be 1-128 letters, digits, '.', '_' or '-', "
                    "starting with a letter or digit"
                )
            microphone = pick_microphone(mic_device_index, self._microphones)
            folder = self._create_folder(recording_directory, name)
            session = _Session(name, folder, 0.0, {}, microphone=microphone, sources=dict(sources))
            for source in sources.values():
                vid = video_id(name, source)
                session.writers[source.name] = CameraWriter(
                    source, folder / f"{vid}.mp4", folder / TIMESTAMPS_DIR / f"{vid}.csv", self._ffmpeg_bin
                )
            if microphone is not None:
                self._start_audio(session)
            with self._frames_lock:  # no frame is looked at between choosing zero and publishing it
                session.zero = self._clock()
                for writer in session.writers.values():
                    writer.zero = session.zero
                self._session = session
            logger.info(
                "manual recording %s started in %s: %s%s", name, folder, ", ".join(session.writers),
                f" and microphone {microphone.index} ({microphone.name})" if microphone else "",
            )  # fmt: skip
            return folder

    def _create_folder(self, recording_directory: str | None, name: str) -> Path:
        directory = self.roots.resolve(recording_directory or self.roots.base)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadRequest(f"cannot create the recording directory {directory}: {exc.strerror or exc}") from exc
        if not directory.is_dir():
            raise BadRequest(f"{directory} is not a directory")
        folder = directory / name
        try:
            folder.mkdir()
        except FileExistsError:
            raise Conflict(f"a recording named {name!r} already exists in {directory}") from None
        except OSError as exc:
            raise BadRequest(f"cannot create {folder}: {exc.strerror or exc}") from exc
        if not self.roots.contains(folder.resolve()):  # a link swapped in meanwhile
            folder.rmdir()
            raise BadRequest(f"{folder} is outside the allowed folders")
        return folder

    def _start_audio(self, session: _Session) -> None:
        assert session.microphone is not None
        session.audio_path = session.folder / f"{session.name}.audio.wav"
        args = [
            self._ffmpeg_bin, "-hide_banner", "-nostdin", "-loglevel", "error",
            *session.microphone.input_args,
            "-c:a", "pcm_s16le",  # uncompressed: nothing to lose, cheap to write
            str(session.audio_path),
        ]  # fmt: skip
        try:
            session.audio = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE)
        except OSError as exc:
            session.folder.rmdir()
            raise BadRequest(f"cannot record microphone {session.microphone.index}: {exc}") from exc
        session.audio_launched = self._clock()
        session.audio_log = log_ffmpeg(session.audio, "ffmpeg.manual.microphone")

    # -- frames (tracking thread) ---------------------------------------------------------------
    def on_frame(self, update: FrameUpdateLike) -> None:
        """Copies the update's frame into the running recording, if any (never blocks on the encoder)."""
        if self._session is None:
            return
        with self._frames_lock:
            session = self._session
            if session is None or update.frame_time < session.zero:
                return
            writer = session.writers.get(update.camera)
        if writer is None:
            return
        frame = writer.source.read_frame(update.slot, update.frame_time)
        if frame is None:
            writer.drop()
        else:
            writer.offer(frame, update.frame_time)

    # -- stop -----------------------------------------------------------------------------------
    def stop(self) -> Path:
        """Finishes every file, writes the statistics; returns the folder. ``Conflict`` when nothing records."""
        with self._control:
            with self._frames_lock:
                session, self._session = self._session, None
            if session is None:
                raise Conflict("no recording is running")
            return self._finish(session)

    def shutdown(self) -> None:
        """Daemon stop: a running recording is finished like a normal stop."""
        try:
            folder = self.stop()
        except Conflict:
            return
        logger.info("manual recording in %s finished at shutdown", folder)

    def _finish(self, session: _Session) -> Path:
        stopped = self._clock()
        cameras = {video_id(session.name, w.source): w.finish() for w in session.writers.values()}
        audio = self._stop_audio(session)
        statistics = {
            "recording_name": session.name,
            "recording_path": str(session.folder),
            "started_utc": utc_iso(session.zero),
            "stopped_utc": utc_iso(stopped),
            "started_unix_s": session.zero,
            "clock": "capture time on this host (unix seconds); timestamp_from_zero_s counts from started",
            "microphone": audio,
            "cameras": cameras,
        }
        stats_path = session.folder / "timestamps" / f"{session.name}_statistics.json"
        stats_path.parent.mkdir(parents=True, exist_ok=True)
        stats_path.write_text(json.dumps(statistics, indent=2), encoding="utf-8")
        logger.info(
            "manual recording %s stopped after %.1f s: %s", session.name, stopped - session.zero,
            ", ".join(f"{c['camera']} {c['frames']} frames ({c['dropped_frames']} dropped)" for c in cameras.values()),
        )  # fmt: skip
        return session.folder

    def _stop_audio(self, session: _Session) -> dict[str, Any] | None:
        proc, mic = session.audio, session.microphone
        if proc is None or mic is None:
            return None
        proc.send_signal(signal.SIGINT)  # ffmpeg finishes the file (the wav header's sizes) on SIGINT
        try:
            proc.wait(timeout=AUDIO_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        close_ffmpeg_log(proc, session.audio_log)
        if proc.returncode not in (0, 255):  # 255: ffmpeg's exit code after a signal
            logger.error("microphone %d: ffmpeg exited with %s (see its log lines)", mic.index, proc.returncode)
        return {
            "index": mic.index,
            "name": mic.name,
            "file": session.audio_path.name if session.audio_path else None,
            "launched_unix_s": session.audio_launched,
            "exit_code": proc.returncode,
        }
