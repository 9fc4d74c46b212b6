"""A private network namespace joined to this one by a veth pair, and a client that runs inside it.

``PeerNamespace`` makes ``fl12-<pid>`` with the host end ``10.212.<n>.1/30`` and the namespace end
``10.212.<n>.2/30`` (private addresses, on a link that exists only between the two), and removes
both again. ``run_requests`` runs this file inside the namespace: it reads a list of requests as
JSON on stdin and prints one ``{"status": ..., "body": ...}`` per request.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class PeerNamespace:
    """``with PeerNamespace() as ns:`` — ``ns.host_ip`` is this side, ``ns.peer_ip`` the namespace's."""

    def __init__(self) -> None:
        n = os.getpid() % 250 + 1
        self.name = f"fl12-{os.getpid()}"
        self.host_if, self.peer_if = f"fl12h{os.getpid() % 100000}", f"fl12p{os.getpid() % 100000}"
        self.host_ip, self.peer_ip = f"10.212.{n}.1", f"10.212.{n}.2"
        self.made: list[str] = []

    def _ip(self, *args: str, inside: bool = False) -> None:
        prefix = ["ip", "netns", "exec", self.name] if inside else []
        subprocess.run([*prefix, "ip", *args], check=True, capture_output=True, text=True, timeout=30)

    def __enter__(self) -> PeerNamespace:
        try:
            self._ip("netns", "add", self.name)
            self.made.append("netns")
            self._ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.peer_if)
            self.made.append("veth")
            self._ip("link", "set", self.peer_if, "netns", self.name)
            self._ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
            self._ip("link", "set", self.host_if, "up")
            self._ip("addr", "add", f"{self.peer_ip}/30", "dev", self.peer_if, inside=True)
            self._ip("link", "set", self.peer_if, "up", inside=True)
            self._ip("link", "set", "lo", "up", inside=True)
        except (OSError, subprocess.SubprocessError) as exc:
            self.__exit__(None, None, None)
            detail = getattr(exc, "stderr", "") or str(exc)
            raise PermissionError(f"cannot make a network namespace here: {detail.strip()}") from None
        return self

    def __exit__(self, *_: object) -> None:
        if "veth" in self.made:  # gone with the namespace once its peer moved there; else remove it here
            subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=30)
        if "netns" in self.made:
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=30)
        self.made.clear()

    def run_requests(self, requests: list[dict[str, Any]], timeout: float = 120) -> list[dict[str, Any]]:
        """Sends ``requests`` from inside the namespace (see :func:`_one`); their answers."""
        done = subprocess.run(
            ["ip", "netns", "exec", self.name, sys.executable, __file__],
            input=json.dumps(requests), capture_output=True, text=True, timeout=timeout, cwd=REPO,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        answers: list[dict[str, Any]] = json.loads(done.stdout)
        return answers


def _one(request: dict[str, Any]) -> dict[str, Any]:
    """Raw HTTP/1.1: ``host``, ``port``, ``method``, ``path``, ``headers``, ``body``; ``hold`` connections at once."""
    head = [f"{request['method']} {request['path']} HTTP/1.1"]
    headers = {"Host": f"{request['host']}:{request['port']}", "Connection": "close", **request.get("headers", {})}
    body = request.get("body", "").encode()
    if body:
        headers["Content-Length"] = str(len(body))
    head += [f"{name}: {value}" for name, value in headers.items()]
    data = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    sockets = []
    statuses = []
    for _ in range(int(request.get("hold", 1))):  # several at once: each stays open until all were sent
        sock = socket.create_connection((request["host"], request["port"]), timeout=20)
        sock.sendall(data)
        first = sock.recv(65536)
        statuses.append(int(first.split(b" ", 2)[1]) if first.startswith(b"HTTP/1.1 ") else 0)
        sockets.append((sock, first))
    answer: dict[str, Any] = {"status": statuses[0], "statuses": statuses}
    if int(request.get("hold", 1)) == 1:
        sock, first = sockets[0]
        received = first
        if request.get("read", True):
            while chunk := sock.recv(65536):
                received += chunk
                if len(received) > 4 << 20:
                    break
        answer["body"] = base64.b64encode(received.split(b"\r\n\r\n", 1)[-1]).decode()
    for sock, _ in sockets:
        sock.close()
    return answer


if __name__ == "__main__":
    print(json.dumps([_one(r) for r in json.load(sys.stdin)]))
