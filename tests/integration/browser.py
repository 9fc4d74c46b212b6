"""Headless Chromium playing a video from the daemon: a static page plays, seeks and reports through its title.

Chromium is driven over its DevTools pipe (no extra package), the title read in real time. It may
reach loopback only: every other host name resolves to nothing, and any other connection would go
through a proxy on a closed loopback port.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

PAGE = """<!doctype html>
<html><head><title>pending</title></head><body>
<video id="v" muted preload="auto" src="{src}"></video>
<script>
const v = document.getElementById("v");
let seeking = false;
v.addEventListener("error", () => {{ document.title = "error:" + (v.error ? v.error.code : "?"); }});
v.addEventListener("loadedmetadata", () => {{
  v.play().catch((e) => {{ document.title = "play-failed:" + e; }});
}});
v.addEventListener("timeupdate", () => {{
  if (!seeking && v.currentTime > 0.2) {{ seeking = true; v.currentTime = v.duration / 2; }}
}});
v.addEventListener("seeked", () => {{
  document.title = "seeked:" + v.currentTime.toFixed(3) + "/" + v.duration.toFixed(3);
}});
</script></body></html>
"""

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--no-default-browser-check", "--disable-default-apps",
    "--disable-extensions", "--disable-domain-reliability", "--no-pings", "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",  # discard port: nothing but loopback (always bypassed) is reachable
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is needed (scripts/test.sh installs Debian's chromium)")
    return found


class DevTools:
    """Chromium driven over ``--remote-debugging-pipe``: JSON messages ending in NUL on fds 3 (in) and 4 (out)."""

    def __init__(self, args: list[str]) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # the child's ends go above 9 first, so that moving them to 3 and 4 cannot clobber one another
        child_in, child_out = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chrome_r, from_chrome_w))
        for fd in (to_chrome_r, from_chrome_w):
            os.close(fd)

        def as_fds_3_and_4() -> None:
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        # close_fds=False: Python's own fds are close-on-exec anyway; dup2 makes only 3 and 4 inheritable
        # (pass_fds would need 3 and 4 to be open in this process already)
        self.proc = subprocess.Popen(
            [*args, "--remote-debugging-pipe"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, close_fds=False, preexec_fn=as_fds_3_and_4,
        )  # fmt: skip
        os.close(child_in)
        os.close(child_out)
        self._next_id = 0
        self._buffer = b""

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if not select.select([self._from_chrome], [], [], 30)[0]:
                raise TimeoutError("chromium did not answer in 30 s")
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium exited")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(message))

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            self.call("Browser.close")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def play_and_seek(video_url: str, tmp: Path, timeout: float = 90.0) -> tuple[float, float]:
    """Plays ``video_url`` in a page, seeks to the middle; returns (position after the seek, duration).

    The page reports through document.title, read every half second in real time (a virtual time
    budget runs out early on a loaded machine, before the video has played at all).
    """
    page = tmp / "play.html"
    page.write_text(PAGE.format(src=video_url))
    browser = DevTools([chromium(), *FLAGS, f"--user-data-dir={tmp / 'chromium-profile'}", "about:blank"])
    title = ""
    try:
        target = browser.call("Target.createTarget", {"url": page.as_uri()})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = browser.call("Runtime.evaluate", {"expression": "document.title"}, session)
            title = str(result.get("result", {}).get("value", ""))
            if title.startswith(("seeked:", "error:", "play-failed:")):
                break
            time.sleep(0.5)
    finally:
        browser.close()
    seeked = re.fullmatch(r"seeked:([\d.]+)/([\d.]+)", title)
    assert seeked, f"the page reported {title!r}"
    return float(seeked.group(1)), float(seeked.group(2))
