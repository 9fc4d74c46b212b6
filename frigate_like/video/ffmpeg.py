"""Builds each camera input's ffmpeg command line from the resolved config (pure: no I/O).

Frigate 0.8's shape, one ffmpeg per input with one output per role::

    ffmpeg <global_args> <hwaccel_args> <input_args> -i <path> <detect output> <clips output> <record output>

- ``detect``: raw yuv420p at the detect size and fps on stdout (``pipe:``), read by the capture
  straight into a shared-memory ring slot.
- ``clips`` / ``record``: ``-c copy`` segments under ``<cache_dir>/<camera>/<role>/`` named
  ``%Y%m%d%H%M%S.mp4`` (UTC: ffmpeg runs with ``TZ=UTC``, see :func:`ffmpeg_env`) plus a csv
  segment list per run, which ``record.segments`` reads.
- ``rtmp``: the stream copied (``-c copy -f flv``) to the camera's ``rtmp.url``, Frigate 0.8's
  ``rtmp://<host>/live/<camera>``; left out while the RTMP server does not listen (the caller
  says), so a missing server never stops detection.

One ffmpeg reads and demuxes the input once for every role. Its price: an output that fails (a
full disk under the segments, an RTMP server that goes away) ends the whole ffmpeg, detection
included. So once an output has failed the capture runs that input ``split`` (see
:func:`process_roles`): detection alone in one ffmpeg, the copying roles in another that fails
and is retried on its own while frames keep flowing.
"""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from frigate_like.config import CameraConfig, CameraInput

logger = logging.getLogger(__name__)

# strftime in segment names must be UTC whatever the host's zone: record.segments parses them as UTC.
FFMPEG_ENV_OVERRIDES: Mapping[str, str] = MappingProxyType({"TZ": "UTC"})

SEGMENT_ROLES = ("clips", "record")
SEGMENT_PATTERN = "%Y%m%d%H%M%S.mp4"
SURVIVABLE_MP4 = "movflags=+empty_moov+default_base_moof+frag_every_frame:flush_packets=1"

# Used only when a camera's output_args lacks a role (the config loader fills all four).
DEFAULT_OUTPUT_ARGS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "detect": ("-f", "rawvideo", "-pix_fmt", "yuv420p"),
        "record": tuple(  # audio kept (as AAC): see config/ffmpeg.py
            shlex.split(
                "-f segment -segment_time 60 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c:v copy -c:a aac"
            )
        ),
        "clips": tuple(
            shlex.split("-f segment -segment_time 10 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c copy -an")
        ),
        "rtmp": ("-c", "copy", "-f", "flv"),
    }
)

# Output options that already pick the video filter chain: the user's (e.g. a hardware
# scaler such as scale_vaapi) wins and we only add Frigate 0.8's -r/-s after it.
_FILTER_OPTIONS = frozenset({"-vf", "-filter:v", "-filter_complex", "-lavfi"})
_THREAD_OPTIONS = frozenset({"-threads", "-threads:v"})
_ANALYSIS_OPTIONS = frozenset({"-fpsprobesize", "-analyzeduration", "-probesize"})
_DEVICE_FORMATS = frozenset({"v4l2", "video4linux2", "alsa", "pulse", "x11grab", "avfoundation", "dshow"})


@dataclass(frozen=True, slots=True)
class FfmpegCommand:
    """One ffmpeg process: the roles it serves, its argv, and the bytes per raw frame (detect only)."""

    roles: tuple[str, ...]
    args: list[str]
    frame_size: int | None  # width * height * 3 // 2 when it writes detect frames to stdout

    @property
    def detect(self) -> bool:
        return self.frame_size is not None

    def __str__(self) -> str:
        return shlex.join(self.args)


def ffmpeg_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment to start ffmpeg with: ``base`` (default ``os.environ``) plus ``TZ=UTC``."""
    return {**(os.environ if base is None else base), **FFMPEG_ENV_OVERRIDES}


def segment_dir(cache_dir: Path, camera: str, role: str) -> Path:
    """Folder that receives a camera's ``clips`` or ``record`` segments."""
    return Path(cache_dir) / camera / role


def segment_list_path(cache_dir: Path, camera: str, role: str, run_id: str) -> Path:
    """The csv segment list of one ffmpeg run (a new run never truncates an older run's list)."""
    return segment_dir(cache_dir, camera, role) / f"segments-{run_id}.csv"


def frame_size(width: int, height: int) -> int:
    """Bytes of one yuv420p frame: a full-size Y plane plus quarter-size U and V planes."""
    return width * height * 3 // 2


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _role_args(cam: CameraConfig, role: str) -> list[str]:
    args = cam.ffmpeg.output_args.get(role)
    return list(DEFAULT_OUTPUT_ARGS[role] if args is None else args)


def detect_output_args(cam: CameraConfig) -> list[str]:
    """The detect output: the configured args plus the detect fps and size, to stdout."""
    args = _role_args(cam, "detect")
    fps, size = _num(cam.fps), f"{cam.width}x{cam.height}"
    if _FILTER_OPTIONS.intersection(args):
        # The user's own filter chain stays; -s appends a scaler after it, -r drops frames
        # at the output, exactly as Frigate 0.8 did.
        return [*args, "-r", fps, "-s", size, "pipe:"]
    # Frigate 0.8 used "-r <fps> -s WxH": the scaler then runs on *every* decoded frame and
    # the surplus is dropped afterwards. Dropping first (fps filter) means only the frames
    # we keep are scaled: a 1080p15 stream to 768x432@5 costs ~30 % less CPU. fast_bilinear
    # is swscale's cheapest algorithm (~5 % less than the default bicubic); motion works on a
    # downscaled Y plane and the detector on 300x300 crops, so its softer edges do not matter.
    # When the stream already has the detect size and format the scaler is a pass-through.
    return [*args, "-vf", f"fps={fps},scale={cam.width}:{cam.height}:flags=fast_bilinear", "pipe:"]


def survivable_segments(args: Sequence[str]) -> list[str]:
    """``args`` plus muxer options that keep an mp4 segment readable to its last frame when ffmpeg is
    killed mid-segment, unless the user chose segment_format_options themselves.

    A plain mp4 writes its index (moov) when the segment closes: a killed ffmpeg leaves an
    unreadable file, i.e. a hole of up to one segment. Fragmented (empty moov, one fragment per
    frame) and flushed per packet, everything written is playable; the cost is ~100 bytes of
    fragment header per frame (+5 % at the person video's 170 kb/s, ~0.3 % at 3 Mb/s).
    """
    args = list(args)
    if "-segment_format_options" in args:
        return args
    fmt = args[args.index("-segment_format") + 1] if "-segment_format" in args[:-1] else "mp4"
    if fmt != "mp4":
        return args  # e.g. mpegts survives a cut as it is
    return [*args, "-segment_format_options", SURVIVABLE_MP4]


def segment_output_args(cam: CameraConfig, role: str, cache_dir: Path, run_id: str) -> list[str]:
    """A ``clips`` or ``record`` output: ``-c copy`` segments plus this run's csv segment list."""
    folder = segment_dir(cache_dir, cam.name, role)
    return [
        *survivable_segments(_role_args(cam, role)),
        # The csv list gets "name,start,end" when a segment is *finished*, so readers never
        # pick up a file ffmpeg is still writing.
        "-segment_list", str(segment_list_path(cache_dir, cam.name, role, run_id)),
        "-segment_list_type", "csv",
        str(folder / SEGMENT_PATTERN),
    ]  # fmt: skip


def _rtsp(path: str) -> bool:
    return path.lower().startswith(("rtsp://", "rtsps://"))


def active_roles(cam: CameraConfig, inp: CameraInput, *, rtmp_server_up: bool = True) -> tuple[str, ...]:
    """The roles of ``inp`` that get an output: record only when enabled, rtmp only when enabled
    and its server listens (``rtmp_server_up``)."""
    roles: list[str] = []
    for role in ("detect", "rtmp", "clips", "record"):
        if role not in inp.roles:
            continue
        if role == "record" and not cam.record.enabled:
            continue
        if role == "rtmp" and not (cam.rtmp.enabled and cam.rtmp.url and rtmp_server_up):
            continue
        roles.append(role)
    return tuple(roles)


def ignored_roles(cam: CameraConfig, inp: CameraInput) -> tuple[str, ...]:
    """Roles of ``inp`` that never get an output: record or rtmp while disabled."""
    served = active_roles(cam, inp)
    return tuple(role for role in inp.roles if role not in served)


def process_roles(
    cam: CameraConfig, inp: CameraInput, *, named_pipe: bool = False, split: bool = False
) -> list[tuple[str, ...]]:
    """The roles of ``inp`` grouped by ffmpeg process: all in one, or (``split``) detect alone and the
    copying roles (segments, rtmp) together.

    One ffmpeg reads the input once (the second reader cost ~0.3-0.4 % of a core per busy camera,
    BENCHMARKS.md), but a failing output ends it and detection with it; ``split`` is what the capture
    falls back to after an output failed (:func:`output_failure`). An input that opens once (a device,
    a named pipe: ``named_pipe`` says the caller found a FIFO, see :func:`opens_once`) is never split.
    """
    roles = active_roles(cam, inp)
    if not split or opens_once(inp, named_pipe=named_pipe):
        return [roles] if roles else []
    groups = [tuple(r for r in roles if r == "detect"), tuple(r for r in roles if r != "detect")]
    return [group for group in groups if group]


# How ffmpeg says that writing an output failed, not reading the input: 5.1 prints the first three
# (e.g. "av_interleaved_write_frame(): No space left on device" / "Broken pipe"), 6.x and 7.x the
# others ("Error muxing a packet", "Error submitting a packet to the muxer", "Error writing trailer").
OUTPUT_FAILURE_MARKERS = (
    "av_interleaved_write_frame()",
    "Failed to open segment",
    "Error writing trailer",
    "Error muxing a packet",
    "Error submitting a packet to the muxer",
)


def output_failure(line: str) -> bool:
    """ffmpeg's stderr ``line`` says an output could not be written."""
    return any(marker in line for marker in OUTPUT_FAILURE_MARKERS)


def opens_once(inp: CameraInput, *, named_pipe: bool = False) -> bool:
    """A local capture device (``/dev/video0``, ``-f v4l2``/``alsa``): a second ffmpeg would find it busy,
    so all of its roles share one ffmpeg, as in Frigate 0.8. Likewise a named pipe (``named_pipe``,
    ``mkfifo``): two readers would each get part of its bytes, and both a corrupt stream."""
    args = list(inp.input_args)
    device_format = any(a == "-f" and b in _DEVICE_FORMATS for a, b in zip(args, args[1:], strict=False))
    return inp.path.startswith("/dev/") or device_format or named_pipe


def build_command(
    cam: CameraConfig,
    inp: CameraInput,
    cache_dir: Path,
    ffmpeg_bin: str,
    run_id: str,
    roles: Sequence[str] | None = None,
    *,
    rtmp_server_up: bool = True,
) -> FfmpegCommand | None:
    """The ffmpeg command of one input for ``roles`` (default: all its active roles), or None when
    none of them has an output."""
    served = active_roles(cam, inp, rtmp_server_up=rtmp_server_up)
    roles = served if roles is None else tuple(r for r in served if r in roles)
    if not roles:
        return None
    input_args = list(inp.input_args)
    decode_args: list[str] = []
    if "detect" in roles and not _THREAD_OPTIONS.intersection(input_args):
        # One decoder thread (-threads before -i = the decoder's): frame threading costs ~10 %
        # more CPU in hand-offs plus a frame of delay per thread, and one thread decodes 1080p
        # H.264 ~25x faster than real time here. A 4K/H.265 detect stream on a weak CPU may
        # need more: a -threads in input_args is kept as it is.
        decode_args = ["-threads", "1"]
    if "detect" in roles and _rtsp(inp.path) and not _ANALYSIS_OPTIONS.intersection(input_args):
        # Before its first frame ffmpeg reads 20 frames to estimate the frame rate (2 s of a
        # 10 fps camera, at every (re)connect). The detect output sets its own rate (fps filter
        # or -r) from the timestamps RTP always carries, and copied segments time their frames by
        # the same timestamps (the same segment list, frame rates and durations with and without
        # the estimate, checked with ffprobe on the test camera); codec parameters are still probed
        # in full. Only RTSP (an HTTP MJPEG stream may have no timestamps but the estimated rate),
        # only an ffmpeg that detects (its first frame is what a reconnect waits for), and not when
        # input args tune the analysis.
        decode_args.extend(["-fpsprobesize", "0"])
    outputs: list[str] = []
    if "detect" in roles:
        outputs += detect_output_args(cam)
    if "rtmp" in roles and cam.rtmp.url:
        outputs += [*_role_args(cam, "rtmp"), cam.rtmp.url]
    for role in SEGMENT_ROLES:
        if role in roles:
            outputs += segment_output_args(cam, role, cache_dir, run_id)
    args = [
        ffmpeg_bin,
        *inp.global_args,
        *inp.hwaccel_args,
        *input_args,
        *decode_args,
        "-i", inp.path,
        *outputs,
    ]  # fmt: skip
    size = frame_size(cam.width, cam.height) if "detect" in roles else None
    return FfmpegCommand(roles=roles, args=[a for a in args if a != ""], frame_size=size)


def build_commands(cam: CameraConfig, cache_dir: Path, ffmpeg_bin: str, run_id: str) -> list[FfmpegCommand]:
    """The commands of every input in config order, one per :func:`process_roles` group (not split)."""
    commands: list[FfmpegCommand] = []
    # Inputs are named by index in logs: their paths often carry the camera's password.
    for index, inp in enumerate(cam.ffmpeg.inputs):
        for role in ignored_roles(cam, inp):
            reason = f"{role} is disabled"
            logger.info("camera %s input %d: role %s has no output (%s)", cam.name, index, role, reason)
        for roles in process_roles(cam, inp):
            command = build_command(cam, inp, cache_dir, ffmpeg_bin, run_id, roles)
            if command is not None:
                commands.append(command)
    return commands
