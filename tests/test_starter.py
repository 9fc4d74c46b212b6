"""First start: the starter config (valid, Docker paths), writing it, the one line, and the slow retry."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import yaml

from frigate_like.config import config_from_dict
from frigate_like.config.starter import first_start, starter_text
from tests.test_cli import CLI, cli, cli_environ

UNWRITABLE = Path("/sys")  # sysfs: not even root may create a file there


def test_starter_config_is_valid_for_the_compose_setup(model_path: Path, labelmap_path: Path) -> None:
    data = yaml.safe_load(starter_text())
    assert data["mqtt"]["host"] == "mosquitto"
    assert (data["model"]["path"], data["model"]["labelmap_path"]) == ("/cpu_model.tflite", "/labelmap.txt")
    assert data["paths"]["media_dir"] == "/media/frigate"
    # the image's model files are not on this machine: the same model from the shared folder
    data["model"].update(path=str(model_path), labelmap_path=str(labelmap_path))
    cfg = config_from_dict(data, env={"FRIGATE_RTSP_PASSWORD": "pw"})
    assert list(cfg.cameras) == ["front_door"]
    assert cfg.paths.state_dir == Path("/media/frigate")  # unset: the media folder


def test_first_start_writes_the_starter_once(tmp_path: Path) -> None:
    path = tmp_path / "config" / "config.yml"
    line = first_start(path)
    assert path.read_text() == starter_text()
    assert line.startswith(f"no config at {path}: wrote a starter config there;") and "\n" not in line
    path.write_text("# mine\n")
    assert "none can be written" in first_start(path)  # never overwrites
    assert path.read_text() == "# mine\n"


def test_first_start_in_a_read_only_folder_says_how_to_make_one() -> None:
    path = UNWRITABLE / "frigate-like-config.yml"
    line = first_start(path)
    assert not path.exists()
    assert line.startswith(f"no config at {path}, and none can be written there (")
    assert "`frigate-like starter-config`" in line and "\n" not in line


def test_run_without_a_config_writes_the_starter_and_exits_1(tmp_path: Path) -> None:
    result = cli("run", "-c", "config/config.yml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "wrote a starter config" in result.stderr
    assert (tmp_path / "config" / "config.yml").read_text() == starter_text()


def test_starter_config_command_prints_it(tmp_path: Path) -> None:
    result = cli("starter-config", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, starter_text())


def test_a_failed_start_waits_before_exiting_and_a_stop_ends_the_wait(tmp_path: Path) -> None:
    env = {"FRIGATE_LIKE_RETRY_DELAY": "0.5"}
    started = time.monotonic()
    result = cli("run", "-c", str(UNWRITABLE / "frigate-like-config.yml"), cwd=tmp_path, env=env)
    assert result.returncode == 1 and time.monotonic() - started >= 0.5
    assert "exiting in 0.5 s (FRIGATE_LIKE_RETRY_DELAY)" in result.stderr

    with subprocess.Popen(
        [*CLI, "run", "-c", str(UNWRITABLE / "frigate-like-config.yml")],
        cwd=tmp_path,
        env=cli_environ({"FRIGATE_LIKE_RETRY_DELAY": "600"}),
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stderr is not None
        assert "no config at" in proc.stderr.readline()
        assert "exiting in 600 s" in proc.stderr.readline()  # now waiting
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 1
