"""The ``mqtt`` section: TLS keys (Frigate's names), resolved paths and the cross checks on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from frigate_like.config import load_config
from tests.test_config import problems_of, write


def _with_mqtt(model_path: Path, labelmap_path: Path, **mqtt: Any) -> dict[str, Any]:
    camera = {"ffmpeg": {"inputs": [{"path": "rtsp://10.0.0.2/stream", "roles": ["detect"]}]}, "width": 640}
    return {
        "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
        "cameras": {"back": {**camera, "height": 360}},
        "mqtt": mqtt,
    }


def test_tls_files_resolve_against_the_config_folder(tmp_path: Path, model_path: Path, labelmap_path: Path) -> None:
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("-----BEGIN-----\n")
    data = _with_mqtt(
        model_path,
        labelmap_path,
        tls_ca_certs="ca.pem",
        tls_client_cert="client.pem",
        tls_client_key="client.key",
        tls_insecure=True,
        user="nvr",
        password="pw",
    )
    cfg = load_config(write(tmp_path, data))
    assert cfg.mqtt.tls_ca_certs == tmp_path / "ca.pem"
    assert cfg.mqtt.tls_client_key == tmp_path / "client.key"
    assert cfg.mqtt.tls_insecure is True


def test_defaults_have_no_tls(tmp_path: Path, model_path: Path, labelmap_path: Path) -> None:
    cfg = load_config(write(tmp_path, _with_mqtt(model_path, labelmap_path)))
    assert cfg.mqtt.tls_ca_certs is None and cfg.mqtt.tls_insecure is False


def test_tls_and_credential_mistakes_are_reported(tmp_path: Path, model_path: Path, labelmap_path: Path) -> None:
    data = _with_mqtt(model_path, labelmap_path, tls_client_cert="missing.pem", tls_insecure=True, topic_prefix="a/#")
    problems = problems_of(tmp_path, data)
    assert any(p.startswith("mqtt.tls_client_key: required with mqtt.tls_client_cert") for p in problems)
    assert any(p.startswith("mqtt.tls_insecure: TLS is off") for p in problems)
    assert any(p.startswith("mqtt.tls_client_cert: TLS is off") for p in problems)
    assert f"mqtt.tls_client_cert: file not found: {tmp_path / 'missing.pem'}" in problems
    assert any(p.startswith("mqtt.topic_prefix:") for p in problems)


def test_a_missing_ca_file_is_reported(tmp_path: Path, model_path: Path, labelmap_path: Path) -> None:
    problems = problems_of(tmp_path, _with_mqtt(model_path, labelmap_path, tls_ca_certs="/nonexistent/ca.pem"))
    assert problems == ["mqtt.tls_ca_certs: file not found: /nonexistent/ca.pem"]
