"""A real nginx for tests: own prefix folder, free port, run as a subprocess and stopped by the test."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if found is None:
        pytest.fail("nginx is not installed (scripts/test.sh installs nginx and libnginx-mod-rtmp)")
    return found


def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"nginx exited with {proc.returncode}: {log.read_text(errors='replace')}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nginx did not listen on {port} within {timeout} s")


@contextmanager
def running_nginx(prefix: Path, conf: str, ports: list[int]) -> Iterator[subprocess.Popen[bytes]]:
    """nginx with ``conf`` (its whole nginx.conf) under ``prefix``; yields once every port listens.

    The process runs in the foreground (``daemon off``) as this user, so the test owns it.
    """
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "logs").mkdir(exist_ok=True)
    path = prefix / "nginx.conf"
    path.write_text(conf)
    log = prefix / "logs" / "error.log"
    proc = subprocess.Popen(
        [
            nginx_binary(), "-p", f"{prefix}/", "-c", str(path), "-e", str(log),
            "-g", f"daemon off; master_process off; pid {prefix / 'nginx.pid'};",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        for port in ports:
            wait_port(port, proc, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rtmp_conf(rtmp_port: int, stat_port: int) -> str:
    """``docker/nginx-rtmp.conf`` (what the image runs) on the given ports."""
    text = (REPO / "docker" / "nginx-rtmp.conf").read_text()
    assert "listen 1935;" in text and "listen 127.0.0.1:1936;" in text
    return text.replace("listen 1935;", f"listen 127.0.0.1:{rtmp_port};").replace(
        "listen 127.0.0.1:1936;", f"listen 127.0.0.1:{stat_port};"
    )


def http_temp_paths(prefix: Path) -> str:
    """The http block's temp folders inside ``prefix`` (Debian's defaults are under /var/lib/nginx)."""
    return "\n".join(
        f"{kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
