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


# -- docker-compose.cluster.yml ---------------------------------------------------------------------------
CLUSTER_COMPOSE = REPO / "docker-compose.cluster.yml"
NODES = ("node-a", "node-b")


def test_cluster_compose_file_is_valid() -> None:
    result = validate(CLUSTER_COMPOSE)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == {*NODES, "postgres", "mosquitto"}


def test_the_cluster_nodes_are_consistent_with_each_other_and_the_database(
    tmp_path: Path, model_path: Path, labelmap_path: Path
) -> None:
    from frigate_like.config.loader import load_config

    compose = yaml.safe_load(CLUSTER_COMPOSE.read_text())
    services = compose["services"]
    postgres = services["postgres"]["environment"]
    seen_ids, seen_ports, seen_media = set(), set(), set()
    for name in NODES:
        node = services[name]
        env = {k: str(v) for k, v in node["environment"].items()}
        config_file = Path(env["FRIGATE_LIKE_CONFIG"])
        host_config = REPO / _volume(node, "/config").split(":")[0] / config_file.name
        assert config_file.parent == Path("/config") and host_config.is_file()
        data = yaml.safe_load(host_config.read_text())
        data["model"].update(path=str(model_path), labelmap_path=str(labelmap_path))  # the image's, not here
        (tmp_path / name).mkdir()
        (tmp_path / name / config_file.name).write_text(yaml.safe_dump(data))
        cfg = load_config(tmp_path / name / config_file.name, env=env)
        assert cfg.cluster is not None and cfg.cluster.node_id == env["FRIGATE_NODE_ID"] == node["hostname"]
        # the other nodes reach it by its service name on the port it listens on inside the network
        assert cfg.cluster.url == f"http://{name}:{cfg.http.port}"
        assert cfg.database.url is not None and cfg.database.url.startswith("postgresql://")
        user, password, database = postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"]
        assert cfg.database.url == f"postgresql://{user}:{password}@postgres:5432/{database}"
        assert cfg.mqtt.host == "mosquitto" and not cfg.cluster.shared_media
        seen_ids.add(cfg.cluster.node_id)
        seen_ports.add(next(p.split(":")[0] for p in node["ports"]))
        seen_media.add(_volume(node, "/media/frigate").split(":")[0])
        assert node["shm_size"] and _volume(node, "/tmp/cache")["type"] == "tmpfs"
    assert len(seen_ids) == len(seen_ports) == len(seen_media) == len(NODES), "each node its own id, port, media"
