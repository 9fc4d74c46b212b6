"""Which input of a camera goes through the restream, and under which mount (pure: no I/O).

- The camera's *live* input (``record`` role, else ``rtmp``, else ``detect``) is served at ``/<camera>``:
  what ``live.mp4``, Home Assistant or VLC read.
- Each other distinct RTSP input (a detect sub-stream) at ``/<camera>/<input index>``.
- Only ``rtsp://`` inputs are relayed (GStreamer's ``rtspsrc`` opens them); files, pipes, devices,
  ``rtmp://`` and ``http://`` sources are read directly by each ffmpeg, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from frigate_like.config import CameraConfig, CameraInput

LIVE_ROLES = ("record", "rtmp", "detect")  # the first input holding one of these, in this order of preference
RESTREAM_USER = "frigate"  # the RTSP basic-auth user when http.api_token is set (the token is the password)
# The daemon's own readers (its ffmpegs) log in as this user with a secret made for each run (server.py): their
# URLs are in their command lines, which every local user can read in /proc, and must not carry the API token.
READER_USER = "frigate-like-reader"


@dataclass(frozen=True, slots=True)
class Mount:
    camera: str
    path: str  # "/front" or "/front/1"
    source: str  # the camera's URL the server opens


def live_input(cam: CameraConfig) -> CameraInput | None:
    """The input whose stream is the camera's own at full quality."""
    for role in LIVE_ROLES:
        for inp in cam.ffmpeg.inputs:
            if role in inp.roles:
                return inp
    return None


def relayable(path: str) -> bool:
    return path.lower().startswith("rtsp://")


def mounts(cam: CameraConfig) -> list[Mount]:
    """The camera's mounts, one per distinct relayable input path (the live input's at ``/<camera>``)."""
    live = live_input(cam)
    found: dict[str, Mount] = {}
    if live is not None and relayable(live.path):
        found[live.path] = Mount(cam.name, f"/{cam.name}", live.path)
    for index, inp in enumerate(cam.ffmpeg.inputs):
        if relayable(inp.path) and inp.path not in found:
            found[inp.path] = Mount(cam.name, f"/{cam.name}/{index}", inp.path)
    return list(found.values())


def base_url(port: int, login: tuple[str, str] | None) -> str:
    """How the daemon's own readers reach the restream (loopback), with ``(user, password)`` when it asks for them."""
    auth = f"{quote(login[0], safe='')}:{quote(login[1], safe='')}@" if login else ""
    return f"rtsp://{auth}127.0.0.1:{port}"


def routes(cam: CameraConfig, base: str) -> dict[str, str]:
    """``{camera input path: restream URL}`` for the inputs that go through the restream at ``base``."""
    return {m.source: base + m.path for m in mounts(cam)}
