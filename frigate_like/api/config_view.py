"""``/api/config``: the public config plus what only the running daemon knows, in Frigate 0.8.4's shape.

Home Assistant's integration reads ``cameras.<c>.rtmp.enabled`` to decide whether to offer a
live stream, and shows the switches' states; Frigate 0.8 changed its config object in place
when a switch was set, so its ``/api/config`` said what was in force. Here the switches'
current states and whether the camera's RTMP stream is published are laid over the config.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from frigate_like.comms.topics import SWITCHES, Switch
from frigate_like.config import CameraConfig, FrigateConfig, to_public_dict
from frigate_like.redact import redact_text
from frigate_like.video.ffmpeg import build_command

# the run id only names the segment lists in the commands shown; the real one changes per ffmpeg start
_SHOWN_RUN_ID = "<run>"


def ffmpeg_cmds(cam: CameraConfig, cache_dir: Path, ffmpeg_bin: str) -> list[dict[str, Any]]:
    """Frigate 0.8's ``ffmpeg_cmds``: per input with an output, its roles and the command line (passwords masked)."""
    cmds = []
    for inp in cam.ffmpeg.inputs:
        command = build_command(cam, inp, cache_dir, ffmpeg_bin, _SHOWN_RUN_ID)
        if command is not None:
            cmds.append({"roles": list(inp.roles), "cmd": redact_text(" ".join(command.args))})
    return cmds


def running_config(
    cfg: FrigateConfig,
    *,
    switch_state: Callable[[str, Switch], bool] | None = None,
    rtmp_published: Callable[[str | None], bool] | None = None,
    ffmpeg_bin: str = "ffmpeg",
) -> dict[str, Any]:
    """``to_public_dict(cfg)`` with each camera's ``ffmpeg_cmds``, switch states and RTMP state.

    ``switch_state(camera, switch)`` may raise ``KeyError`` for a camera it does not know
    (yet); the config's value is shown then. ``rtmp.enabled`` is true only for a camera with
    rtmp on and an input with the rtmp role whose ``rtmp.url`` ``rtmp_published(url)`` says is live.
    """
    data = to_public_dict(cfg)
    for detector in data["detectors"].values():  # Frigate 0.8 always had a device string ("usb" its default)
        if detector.get("device") is None:
            detector["device"] = "usb" if detector["type"] == "edgetpu" else ""
    for name, cam in cfg.cameras.items():
        shown = data["cameras"][name]
        shown["ffmpeg_cmds"] = ffmpeg_cmds(cam, cfg.paths.cache_dir, ffmpeg_bin)
        offered = cam.rtmp.enabled and cam.input_for("rtmp") is not None
        shown["rtmp"]["enabled"] = offered and rtmp_published is not None and rtmp_published(cam.rtmp.url)
        if switch_state is None:
            continue
        for switch in SWITCHES:
            with contextlib.suppress(KeyError):  # a camera being added: its switches start as its config says
                shown[switch]["enabled"] = switch_state(name, switch)
    return data
