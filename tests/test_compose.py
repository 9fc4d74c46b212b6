"""docker-compose.yml: valid for a real compose tool, and set up the way the README promises."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from frigate_like.config.starter import starter_text

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"


def compose_command() -> list[str] | None:
    """``docker compose`` (the plugin), else ``docker-compose`` (Debian's), else ``podman-compose``."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    for tool in ("docker-compose", "podman-compose"):
        if found := shutil.which(tool):
            return [found]
    return None


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    command = compose_command()
    if command is None:
        pytest.skip("no compose tool (scripts/test.sh installs Debian's docker-compose)")
    # `config` parses, validates against the compose schema and resolves; it needs no engine
    return subprocess.run(
        [*command, "-f", str(path), "config"], capture_output=True, text=True, timeout=120, cwd=path.parent
    )


def test_compose_file_is_valid() -> None:
    result = validate(COMPOSE)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == {"frigate-like", "mosquitto"}


def test_the_validator_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = yaml.safe_load(COMPOSE.read_text())
    broken["services"]["frigate-like"]["shm_size"] = ["not", "a", "size"]
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(broken))
    assert validate(tmp_path / "docker-compose.yml").returncode != 0


def _volume(service: dict[str, Any], target: str) -> Any:
    for volume in service["volumes"]:
        if (volume.get("target") if isinstance(volume, dict) else volume.split(":")[1]) == target:
            return volume
    raise AssertionError(f"no volume at {target}")


def test_the_setup_the_readme_describes() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    daemon, broker = compose["services"]["frigate-like"], compose["services"]["mosquitto"]
    assert _volume(daemon, "/config").endswith(":ro")  # the daemon never writes its config folder
    assert _volume(daemon, "/tmp/cache")["type"] == "tmpfs"
    assert daemon["shm_size"] and "5000:5000" in daemon["ports"]
    # the starter config (what a first start writes) reaches the broker by its service name
    assert yaml.safe_load(starter_text())["mqtt"]["host"] == "mosquitto"
    mosquitto_conf = _volume(broker, "/mosquitto/config/mosquitto.conf").split(":")[0]
    assert (REPO / mosquitto_conf).is_file()
