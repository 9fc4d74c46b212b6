"""Tests of the command line (``python -m frigate_like``), run as a real subprocess."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from frigate_like.cluster.leases import LeaseStore
from frigate_like.cluster.node import NodeMembership
from frigate_like.config.sections import MODEL_DIR_ENV
from frigate_like.db.database import open_database
from frigate_like.migrations import MIGRATIONS_DIR

REPO_ROOT = Path(__file__).resolve().parents[1]


CLI = [sys.executable, "-m", "frigate_like"]


def cli_environ(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without FRIGATE_* variables (but the tests' folder of default model
    files, conftest.py), plus ``env``; the checkout importable."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FRIGATE_") or k == MODEL_DIR_ENV}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), environ.get("PYTHONPATH")]))
    environ.update(env or {})
    return environ


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=cli_environ(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def config(tmp_path: Path, model_path: Path, labelmap_path: Path) -> dict[str, Any]:
    return {
        "paths": {"media_dir": str(tmp_path / "media"), "cache_dir": str(tmp_path / "cache")},
        "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
        "cameras": {
            "back": {
                "ffmpeg": {
                    "inputs": [
                        {"path": "rtsp://viewer:{FRIGATE_RTSP_PASSWORD}@10.0.0.2/sub", "roles": ["detect"]},
                        {"path": "rtsp://viewer:{FRIGATE_RTSP_PASSWORD}@10.0.0.2/main", "roles": ["clips"]},
                    ]
                },
                "width": 1280,
                "height": 720,
                "zones": {"front_steps": {"coordinates": "0,0,100,0,100,100"}},
                "clips": {"enabled": True},
            },
            "side": {
                "ffmpeg": {"inputs": [{"path": "rtsp://10.0.0.3/sub", "roles": ["detect"]}]},
                "width": 640,
                "height": 480,
            },
        },
    }


def write(folder: Path, data: Any) -> Path:
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_check_config_ok(tmp_path: Path, config: dict[str, Any]) -> None:
    result = cli(
        "check-config", "-c", str(write(tmp_path, config)), cwd=tmp_path, env={"FRIGATE_RTSP_PASSWORD": "x"}
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "config OK: 2 cameras\n", "")


def test_check_config_of_a_frigate_08_coral_config(
    tmp_path: Path, default_model_dir: Path, model_path: Path, labelmap_path: Path
) -> None:
    """A Coral config as Frigate 0.8's docs write it (no model section; ``paths`` only because this
    host has no /media/frigate) checks OK when the default folder holds edgetpu_model.tflite. The
    shared CPU model stands in for it: this tests the config's way to the file, not the model."""
    shutil.copyfile(model_path, default_model_dir / "edgetpu_model.tflite")
    shutil.copyfile(labelmap_path, default_model_dir / "labelmap.txt")
    camera = "rtsp://viewer:{FRIGATE_RTSP_PASSWORD}@10.0.10.10:554/cam/realmonitor?channel=1&subtype=2"
    coral = {
        "mqtt": {"host": "mqtt.server.com"},
        "detectors": {"coral": {"type": "edgetpu", "device": "usb"}},
        "paths": {"media_dir": str(tmp_path / "media"), "cache_dir": str(tmp_path / "cache")},
        "cameras": {
            "back": {
                "ffmpeg": {"inputs": [{"path": camera, "roles": ["detect", "rtmp"]}]},
                "width": 1280,
                "height": 720,
                "fps": 5,
            }
        },
    }
    result = cli("check-config", "-c", str(write(tmp_path, coral)), cwd=tmp_path, env={"FRIGATE_RTSP_PASSWORD": "x"})
    assert (result.returncode, result.stdout) == (0, "config OK: 1 camera\n"), result.stderr


def test_default_config_path_comes_from_the_environment(tmp_path: Path, config: dict[str, Any]) -> None:
    env = {"FRIGATE_RTSP_PASSWORD": "x", "FRIGATE_LIKE_CONFIG": str(write(tmp_path, config))}
    assert cli("check-config", cwd=tmp_path, env=env).stdout == "config OK: 2 cameras\n"
    # without it, config/config.yml below the working folder
    (tmp_path / "config").mkdir()
    (tmp_path / "config.yml").rename(tmp_path / "config" / "config.yml")
    assert cli("check-config", cwd=tmp_path, env={"FRIGATE_RTSP_PASSWORD": "x"}).returncode == 0


def test_example_config_checks(tmp_path: Path) -> None:
    example = str(REPO_ROOT / "config" / "example.yml")
    result = cli("check-config", "-c", example, cwd=tmp_path, env={"FRIGATE_RTSP_PASSWORD": "pw"})
    assert (result.returncode, result.stdout) == (0, "config OK: 1 camera\n"), result.stderr


def _two_inputs_with_detect(cfg: dict[str, Any]) -> None:
    cfg["cameras"]["back"]["ffmpeg"]["inputs"][1]["roles"] = ["detect", "clips"]


def _drop_clips_role(cfg: dict[str, Any]) -> None:
    cfg["cameras"]["back"]["ffmpeg"]["inputs"][1]["roles"] = ["record"]


def _no_detect(cfg: dict[str, Any]) -> None:
    cfg["cameras"]["side"]["ffmpeg"]["inputs"][0]["roles"] = ["rtmp"]


BAD: list[tuple[str, Any, str]] = [
    (
        "unknown key",
        lambda c: c.update(mqtt={"hots": "x"}),
        "mqtt.hots: unknown key",
    ),
    (
        "wrong type",
        lambda c: c["cameras"]["side"].update(fps="fast"),
        "cameras.side.fps: expected a whole number, got 'fast'",
    ),
    (
        "two-point zone",
        lambda c: c["cameras"]["back"]["zones"].update(front_steps={"coordinates": "1,2,3,4"}),
        "cameras.back.zones.front_steps.coordinates: a polygon needs at least 3 points",
    ),
    ("missing model", lambda c: c["model"].update(path="gone.tflite"), "model.path: file not found"),
    ("no detect input", _no_detect, "cameras.side.ffmpeg.inputs: no input has the detect role"),
    (
        "zone named like a camera",
        lambda c: c["cameras"]["back"]["zones"].update(side={"coordinates": "0,0,9,0,9,9"}),
        "cameras.back.zones.side: a zone may not have the name of a camera",
    ),
    (
        "role on two inputs",
        _two_inputs_with_detect,
        "cameras.back.ffmpeg.inputs.1.roles: the detect role is already",
    ),
]


@pytest.mark.parametrize(("change", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_check_config_reports_problems_without_traceback(
    tmp_path: Path, config: dict[str, Any], change: Any, expected: str
) -> None:
    change(config)
    result = cli(
        "check-config", "-c", str(write(tmp_path, config)), cwd=tmp_path, env={"FRIGATE_RTSP_PASSWORD": "x"}
    )
    assert result.returncode == 1
    assert f"  - {expected}" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_clips_without_a_clips_input_is_a_warning(tmp_path: Path, config: dict[str, Any]) -> None:
    _drop_clips_role(config)
    result = cli(
        "check-config", "-c", str(write(tmp_path, config)), cwd=tmp_path, env={"FRIGATE_RTSP_PASSWORD": "x"}
    )
    assert (result.returncode, result.stdout) == (0, "config OK: 2 cameras\n")
    assert result.stderr.startswith(
        "warning: cameras.back.clips.enabled: clips are enabled but no input has the clips role,"
        " so no clip will be saved"
    )


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_check_config_and_run_report_the_same_problems_in_one_pass(
    tmp_path: Path, config: dict[str, Any], command: str, default_model_dir: Path
) -> None:
    """What ``run`` would refuse at start-up, ``check-config`` says too, all at once."""
    del config["model"]  # Frigate 0.8's default files, absent here
    (tmp_path / "file").write_text("")
    config["paths"]["media_dir"] = str(tmp_path / "file" / "media")
    config["cameras"]["side"]["fps"] = "fast"
    result = cli(command, "-c", str(write(tmp_path, config)), cwd=tmp_path, env={"FRIGATE_RTSP_PASSWORD": "x"})
    assert result.returncode == 1
    assert result.stderr.splitlines()[1:] == [
        "  - cameras.side.fps: expected a whole number, got 'fast' (text)",
        f"  - model.path: file not found: {default_model_dir / 'cpu_model.tflite'}"
        " (Frigate 0.8's default; set model.path to the .tflite file)",
        f"  - model.labelmap_path: file not found: {default_model_dir / 'labelmap.txt'}"
        " (Frigate 0.8's default; set model.labelmap_path)",
        f"  - paths.media_dir: {tmp_path / 'file'} is not a folder",
        f"  - database.path: {tmp_path / 'file'} is not a folder",  # its default is below media_dir
    ]
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_model_size_is_checked_before_start(tmp_path: Path, config: dict[str, Any], command: str) -> None:
    config["model"]["width"] = 320
    result = cli(command, "-c", str(write(tmp_path, config)), cwd=tmp_path, env={"FRIGATE_RTSP_PASSWORD": "x"})
    assert result.returncode == 1
    assert "  - model.width/height: 320x300 configured but ssd_mobilenet_v1_coco_quant.tflite takes 300x300" in (
        result.stderr
    )


def test_unset_env_reference_and_missing_file(tmp_path: Path, config: dict[str, Any]) -> None:
    result = cli("check-config", "-c", str(write(tmp_path, config)), cwd=tmp_path)
    assert result.returncode == 1
    assert (
        "cameras.back.ffmpeg.inputs.0.path: environment variable FRIGATE_RTSP_PASSWORD is not set"
        in result.stderr
    )
    result = cli("check-config", "-c", str(tmp_path / "nope.yml"), cwd=tmp_path)
    assert (result.returncode, "Traceback" in result.stderr) == (1, False)
    assert "config file not found" in result.stderr


def test_yaml_syntax_error(tmp_path: Path) -> None:
    (tmp_path / "config.yml").write_text("cameras: [\n")
    result = cli("check-config", "-c", "config.yml", cwd=tmp_path)
    assert result.returncode == 1
    assert "config.yml: YAML syntax error at line 2" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_refuses_a_bad_config(tmp_path: Path, config: dict[str, Any]) -> None:
    del config["cameras"]["side"]["width"]
    result = cli("run", "-c", str(write(tmp_path, config)), cwd=tmp_path, env={"FRIGATE_RTSP_PASSWORD": "x"})
    assert result.returncode == 1
    assert "cameras.side.width: required, but missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_show_config_masks_passwords(tmp_path: Path, config: dict[str, Any]) -> None:
    env = {"FRIGATE_RTSP_PASSWORD": "hunter2"}
    result = cli("show-config", "-c", str(write(tmp_path, config)), cwd=tmp_path, env=env)
    assert result.returncode == 0
    assert "hunter2" not in result.stdout
    assert "rtsp://viewer:*****@10.0.0.2/sub" in result.stdout


@pytest.mark.skipif(
    importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None,
    reason="onnx/onnxruntime are not installed",
)
def test_convert_model_writes_the_onnx_file_into_the_cache_once(tmp_path: Path, config: dict[str, Any]) -> None:
    config["paths"] = {"cache_dir": str(tmp_path / "cache"), "media_dir": str(tmp_path / "media")}
    path = write(tmp_path, config)
    env = {"FRIGATE_RTSP_PASSWORD": "x"}
    first = cli("convert-model", "-c", str(path), cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    target = Path(first.stdout.strip())
    assert target.parent == tmp_path / "cache" / "models" and target.suffix == ".onnx" and target.stat().st_size > 1e6
    stamp = target.stat().st_mtime_ns
    again = cli("convert-model", "-c", str(path), cwd=tmp_path, env=env)
    assert (again.returncode, again.stdout.strip()) == (0, str(target)) and target.stat().st_mtime_ns == stamp


def test_convert_model_of_a_model_that_is_not_tflite_fails_cleanly(tmp_path: Path, config: dict[str, Any]) -> None:
    bogus = tmp_path / "model.tflite"
    bogus.write_bytes(b"\0" * 64)
    config["model"]["path"] = str(bogus)
    config["paths"] = {"cache_dir": str(tmp_path / "cache"), "media_dir": str(tmp_path / "media")}
    result = cli("convert-model", "-c", str(write(tmp_path, config)), cwd=tmp_path, env={"FRIGATE_RTSP_PASSWORD": "x"})
    assert result.returncode == 1 and "is not a .tflite model" in result.stderr
    assert "Traceback" not in result.stderr


def test_cluster_status_lists_nodes_leases_and_idle_cameras(
    tmp_path: Path, config: dict[str, Any], pg_url: str
) -> None:
    db = open_database(SimpleNamespace(path=tmp_path / "unused.db", url=pg_url), MIGRATIONS_DIR)
    try:
        NodeMembership(db, "node-a", "http://10.0.0.5:5000", 10, dict, threading.Event()).join()
        assert LeaseStore(db, "node-a", 10).acquire("back")
    finally:
        db.close()
    config["database"] = {"url": pg_url}
    config["cluster"] = {"node_id": "node-b", "lease_seconds": 10}
    result = cli(
        "cluster", "status", "-c", str(write(tmp_path, config)), cwd=tmp_path, env={"FRIGATE_RTSP_PASSWORD": "x"}
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "nodes (1, lease 10 s):"
    assert lines[1].split()[:3] == ["node-a", "alive", "http://10.0.0.5:5000"] and "cameras: back" in lines[1]
    assert lines[3].split()[:4] == ["back", "node-a", "expires", "in"]
    assert lines[-1] == "cameras not running on any node: side"
    del config["cluster"]
    single = cli(
        "cluster", "status", "-c", str(write(tmp_path, config)), cwd=tmp_path, env={"FRIGATE_RTSP_PASSWORD": "x"}
    )
    assert single.returncode == 1 and "no cluster section" in single.stderr
