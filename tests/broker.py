"""Test helpers for MQTT: a private Mosquitto on a free port and a subscriber that records what it gets."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.ports import free_port

SHARED_BROKER = ("127.0.0.1", 1883)


def unique_prefix(name: str) -> str:
    """A topic prefix no other test (or engineer) uses."""
    return f"test-{name}-{uuid.uuid4().hex[:8]}"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_tls_files(folder: Path) -> TlsFiles:
    """A throw-away CA, a server certificate for 127.0.0.1 and a client certificate (openssl, EC keys)."""
    folder.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test-ca")
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name, extra in (("server", ["-extfile", "san.ext"]), ("client", [])):
        run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "1", *extra)  # fmt: skip
    return TlsFiles(
        folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "client.pem", folder / "client.key"
    )


class PrivateBroker:
    """``mosquitto`` on its own port; ``persistence`` keeps sessions and retained messages over a restart."""

    def __init__(
        self,
        folder: Path,
        *,
        port: int | None = None,
        persistence: bool = False,
        tls: TlsFiles | None = None,
        users: dict[str, str] | None = None,
    ) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.binary = binary
        self.port = port or free_port()
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'false' if users else 'true'}",
            "user root",  # as root it would switch to the mosquitto user, who cannot write here
            f"persistence {'true' if persistence else 'false'}",
            f"persistence_location {folder}/",
            "queue_qos0_messages false",
        ]
        if users:
            passwords = folder / "passwords"
            passwords.touch()
            for user, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True)
            lines.append(f"password_file {passwords}")
        if tls is not None:  # TLS only, and a client certificate signed by the same CA is required
            lines += [f"cafile {tls.ca}", f"certfile {tls.server_cert}", f"keyfile {tls.server_key}"]
            lines += ["require_certificate true"]
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "mosquitto.log"

    def start(self, timeout: float = 10) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"mosquitto exited: {self.log.read_text(errors='replace')}")
            if _listening(self.port):
                return
            time.sleep(0.05)
        raise AssertionError(f"mosquitto did not listen on {self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic() on arrival
    topic: str  # relative to the prefix
    payload: bytes
    retain: bool

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8", errors="replace")


class Subscriber:
    """Records every message under ``<prefix>/#`` in arrival order.

    ``persistent``: a fixed client id and a kept session, so a broker with persistence
    holds what arrives while this subscriber is reconnecting after a broker restart.
    """

    def __init__(self, prefix: str, port: int = SHARED_BROKER[1], *, persistent: bool = False) -> None:
        self.prefix = prefix
        self.port = port
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._persistent = persistent
        self.client: mqtt.Client | None = None

    def _make_client(self) -> mqtt.Client:
        # A fresh paho client per connection: paho's loop_start() on a used client leaks a socket pair.
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"sub-{self.prefix}" if self._persistent else "",
            clean_session=not self._persistent,
            protocol=mqtt.MQTTv311,
        )
        client.reconnect_delay_set(1, 1)
        client.on_connect = self._on_connect
        client.on_subscribe = lambda *_: self._subscribed.set()
        client.on_message = self._on_message
        return client

    def __enter__(self) -> Subscriber:
        self.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def start(self, timeout: float = 10) -> None:
        self._subscribed.clear()
        self.client = self._make_client()
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            raise AssertionError("the test subscriber could not subscribe")

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            client.subscribe(f"{self.prefix}/#", qos=1)

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        topic = message.topic[len(self.prefix) + 1 :]
        with self._lock:
            self.messages.append(Received(time.monotonic(), topic, bytes(message.payload), bool(message.retain)))

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, predicate: Callable[[list[Received]], Any], timeout: float, what: str = "a message") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = predicate(self.snapshot())
            if found:
                return found
            time.sleep(0.1)
        seen = [(m.topic, m.payload[:60]) for m in self.snapshot()[-15:]]
        raise AssertionError(f"timed out after {timeout} s waiting for {what}; last messages: {seen}")

    def wait_topic(self, topic: str, payload: str | None = None, timeout: float = 20, after: int = 0) -> Received:
        """The first message on ``topic`` (with ``payload``, if given) among those received from index ``after``."""

        def find(messages: list[Received]) -> Received | None:
            for m in messages[after:]:
                if m.topic == topic and (payload is None or m.text == payload):
                    return m
            return None

        found: Received = self.wait_for(find, timeout, f"{topic} = {payload}")
        return found


def retained(prefix: str, topic: str, port: int = SHARED_BROKER[1], wait: float = 1.0) -> str | None:
    """The retained value of ``<prefix>/<topic>`` as a fresh client reads it, or None."""
    with Subscriber(prefix, port) as sub:
        deadline = time.monotonic() + wait  # retained messages arrive right behind the SUBACK
        while time.monotonic() < deadline:
            got = [m for m in sub.on(topic) if m.retain]
            if got:
                return got[-1].text
            time.sleep(0.05)
    return None


def send(topic: str, payload: str, port: int = SHARED_BROKER[1], *, retain: bool = False) -> None:
    """Publishes one message (QoS 1) and waits until the broker has it.

    Not ``paho.mqtt.publish.single``: it logs a spurious paho error after every call.
    """
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()
