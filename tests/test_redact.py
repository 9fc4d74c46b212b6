"""The one redaction: URLs, query strings, headers, config values, log records, the WebSocket state, files written."""

from __future__ import annotations

import json
import logging
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from frigate_like.groups.models import ApplyRequest
from frigate_like.groups.store import GroupStore
from frigate_like.redact import MASK, RedactingFilter, is_secret_key, redact_text, redact_value
from frigate_like.websocket.protocol import state_message, to_text

SECRET = "Pa55"

CASES = [
    # (text, what must be shown after redaction)
    (f"rtsp://admin:{SECRET}@192.168.1.5:554/live", f"rtsp://admin:{MASK}@192.168.1.5:554/live"),
    (f"rtsp://admin:p@ss{SECRET}@cam.lan/live", f"rtsp://admin:{MASK}@cam.lan/live"),  # "@" in the password
    (f"rtsp://admin:{SECRET}@@cam.lan", f"rtsp://admin:{MASK}@cam.lan"),
    (f"https://{SECRET}tok@cam.lan/x", f"https://{MASK}@cam.lan/x"),  # a user name alone is a token
    (f"http://cam/snap.cgi?user=admin&password={SECRET}&x=1", f"http://cam/snap.cgi?user=admin&password={MASK}&x=1"),
    (f"http://cam/a?pwd={SECRET}", f"http://cam/a?pwd={MASK}"),
    (f"http://cam/a?PASS={SECRET}#frag", f"http://cam/a?PASS={MASK}#frag"),
    (f"rtsp://cam/a?token={SECRET}&auth={SECRET}", f"rtsp://cam/a?token={MASK}&auth={MASK}"),
    (f"http://cam/a?api_key={SECRET};secret={SECRET}", f"http://cam/a?api_key={MASK};secret={MASK}"),
    (f"http://cam/a?key={SECRET}&access_token={SECRET}", f"http://cam/a?key={MASK}&access_token={MASK}"),
    (f"-headers 'Authorization: Basic {SECRET}=='", f"-headers 'Authorization: Basic {MASK}'"),
    (f'-headers "authorization:Bearer {SECRET}.x"', f'-headers "authorization:Bearer {MASK}"'),
    (f"-headers 'Cookie: session={SECRET}; a=b'", f"-headers 'Cookie: {MASK}'"),
    (f"sent Bearer {SECRET}", f"sent Bearer {MASK}"),
    (f"{{'user': 'u', 'password': '{SECRET}'}}", f"{{'user': 'u', 'password': '{MASK}'}}"),
    (f'{{"api_token": "{SECRET}", "port": 5000}}', f'{{"api_token": "{MASK}", "port": 5000}}'),
    (f"mosquitto_pub -u u --password={SECRET} -t x", f"mosquitto_pub -u u --password={MASK} -t x"),
    ("set http.api_token to allow others", "set http.api_token to allow others"),
    ("ffmpeg -i rtsp://cam.lan/live -f null -", "ffmpeg -i rtsp://cam.lan/live -f null -"),  # nothing to hide
    ("user@example.com wrote keyframe=1", "user@example.com wrote keyframe=1"),
]


@pytest.mark.parametrize(("text", "shown"), CASES)
def test_redact_text(text: str, shown: str) -> None:
    assert redact_text(text) == shown
    assert SECRET not in redact_text(f"before {text} after")


def test_config_values_by_key_and_by_content() -> None:
    assert all(is_secret_key(k) for k in ("password", "api_token", "client-secret", "apikey", "api_key", "MQTT_PASS"))
    assert not any(is_secret_key(k) for k in ("path", "tls_client_key", "auth", "user", "keyframes", "passthrough"))
    config = {
        "mqtt": {"user": "u", "password": SECRET, "tls_client_key": "/k.pem"},
        "http": {"api_token": SECRET, "auth": "reads_open", "unset_token": None},
        "cameras": {"c": {"ffmpeg": {"inputs": [{"path": f"rtsp://a:{SECRET}@h/", "input_args": ["-headers",
                                                 f"Authorization: Basic {SECRET}"]}]}}},
    }  # fmt: skip
    shown = redact_value(config)
    assert SECRET not in json.dumps(shown)
    assert shown["mqtt"] == {"user": "u", "password": MASK, "tls_client_key": "/k.pem"}
    assert shown["http"] == {"api_token": MASK, "auth": "reads_open", "unset_token": None}
    assert config["mqtt"]["password"] == SECRET  # a copy: the original is untouched


def test_log_records_and_their_tracebacks_are_redacted() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("test_redact.private")
    logger.propagate = False
    handler = Keep()
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        logger.warning("opening %s", f"rtsp://admin:p@ss{SECRET}@cam/live?token={SECRET}")
        try:
            raise ValueError(f"cannot open http://cam/?password={SECRET}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(logging.Formatter().format(r) for r in records)
    assert SECRET not in text and "rtsp://admin:*****@cam/live?token=*****" in text
    assert "ValueError: cannot open http://cam/?password=*****" in text


def test_the_websocket_state_message_is_redacted() -> None:
    state = {"groups": {"g": {"camera_configs": {"cam": {"source": f"rtsp://admin:{SECRET}@cam/live"}}}}}
    text = to_text(state_message(state))
    assert SECRET not in text and "rtsp://admin:*****@cam/live" in text


def test_the_groups_file_is_the_owners_alone(tmp_path: Path) -> None:
    source = f"rtsp://admin:{SECRET}@cam/live"
    request = ApplyRequest.model_validate({"camera_configs": {"a": {"camera_id": "a", "source": source}}})
    store = GroupStore(tmp_path / "config.groups.json")
    store.path.write_text("{}")
    store.path.chmod(0o644)  # an older file, readable by everyone
    store.save({"g": request.camera_configs})
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.load()["g"]["a"].source == source  # kept as given: it is needed to reconnect
    assert [p.name for p in tmp_path.iterdir()] == ["config.groups.json"]


def test_show_config_and_check_config_print_no_secret(tmp_path: Path, model_path: Path, labelmap_path: Path) -> None:
    config = {
        "mqtt": {"password": SECRET},
        "http": {"api_token": SECRET},
        "model": {"path": str(model_path), "labelmap_path": str(labelmap_path)},
        "cameras": {"back": {"width": 640, "height": 480, "ffmpeg": {
            "input_args": ["-headers", f"Authorization: Basic {SECRET}"],
            "inputs": [{"path": f"rtsp://admin:p@ss{SECRET}@cam/live?pwd={SECRET}", "roles": ["detect"]}]}}},
    }  # fmt: skip
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    shown = subprocess.run(
        [sys.executable, "-m", "frigate_like", "show-config", "-c", str(path)], capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert SECRET not in shown.stdout + shown.stderr and "rtsp://admin:*****@cam/live?pwd=*****" in shown.stdout
    config["cameras"]["back"]["fps"] = f"rtsp://admin:{SECRET}@cam"  # a problem that quotes the value
    path.write_text(yaml.safe_dump(config))
    checked = subprocess.run(
        [sys.executable, "-m", "frigate_like", "check-config", "-c", str(path)], capture_output=True, text=True
    )
    assert checked.returncode == 1 and "cameras.back.fps" in checked.stderr
    assert SECRET not in checked.stdout + checked.stderr
