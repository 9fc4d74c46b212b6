"""Headless Chromium driven from tests: a video played and sought, and pages of the web UI clicked through.

Chromium is driven over its DevTools pipe (no extra package), the title read in real time. It may
reach loopback only: every other host name resolves to nothing, and any other connection would go
through a proxy on a closed loopback port.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
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
    page_file = tmp / "play.html"
    page_file.write_text(PAGE.format(src=video_url))
    with chromium_browser(tmp) as browser:
        page = Page(browser, page_file.as_uri())
        title = str(
            page.wait_for(
                "/^(seeked|error|play-failed):/.test(document.title) && document.title",
                timeout,
                "the video to play and seek",
                interval=0.5,
            )
        )
    seeked = re.fullmatch(r"seeked:([\d.]+)/([\d.]+)", title)
    assert seeked, f"the page reported {title!r}"
    return float(seeked.group(1)), float(seeked.group(2))


@contextlib.contextmanager
def chromium_browser(tmp: Path) -> Iterator[DevTools]:
    """A headless Chromium (loopback only) with its own profile under ``tmp``, closed afterwards."""
    browser = DevTools([chromium(), *FLAGS, f"--user-data-dir={tmp / 'chromium-profile'}", "about:blank"])
    try:
        yield browser
    finally:
        browser.close()


class Page:
    """One tab: navigate, run JavaScript, click like a mouse, take screenshots (1280×800 by default)."""

    def __init__(self, browser: DevTools, url: str, width: int = 1280, height: int = 800) -> None:
        self.browser = browser
        self.target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.call("Target.attachToTarget", {"targetId": self.target, "flatten": True})["sessionId"]
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.call("Emulation.setDeviceMetricsOverride", metrics)
        self.goto(url)

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.browser.call(method, params, self.session)

    def goto(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})

    def reload(self, timeout: float = 30.0) -> None:
        """Reloads the page and waits until the new document has loaded."""
        self.evaluate("window.beforeReload = true")
        self.call("Page.reload")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError):  # the old document went away during the call
                if self.evaluate("!window.beforeReload && document.readyState === 'complete'"):
                    return
            time.sleep(0.2)
        raise AssertionError(f"the page did not reload within {timeout} s")

    def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` (promises awaited); a JavaScript exception fails the test."""
        params = {"expression": expression, "awaitPromise": True, "returnByValue": True}
        result = self.call("Runtime.evaluate", params)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression[:80]!r} threw: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float, what: str, interval: float = 0.3) -> Any:
        """Polls ``expression`` until it is truthy (in real time: the page does real work meanwhile)."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}; last value {value!r}")

    def click_at(self, x: float, y: float) -> None:
        """A real left click (pointer and mouse events, as from a person) at page coordinates."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            event = {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
            self.call("Input.dispatchMouseEvent", event)

    def drag(self, x1: float, x2: float, y: float, steps: int = 5) -> None:
        """Presses the left button at (x1, y), moves to (x2, y) in ``steps``, releases there."""
        left = {"button": "left", "clickCount": 1}
        self.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x1, "y": y})
        self.call("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x1, "y": y, **left})
        for step in range(1, steps + 1):
            x = x1 + (x2 - x1) * step / steps
            held = {"type": "mouseMoved", "x": x, "y": y, "button": "left", "buttons": 1}
            self.call("Input.dispatchMouseEvent", held)
        self.call("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x2, "y": y, **left})

    def click(self, selector: str) -> None:
        """Clicks the middle of the first element matching ``selector`` (scrolled into view)."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        assert box, f"nothing matches {selector!r}"
        self.click_at(*box)

    def close(self) -> None:
        self.browser.call("Target.closeTarget", {"targetId": self.target})

    def screenshot(self, path: Path) -> None:
        """A PNG of the viewport."""
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
