"""Start-up failures a user can cause give one clear line and exit 1, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.integration.daemon import demo_config


def _run(tmp_path: Path, cfg: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(cfg))
    return subprocess.run(
        [sys.executable, "-m", "frigate_like", "run", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_edgetpu_without_a_coral_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path)
    cfg["detectors"] = {"coral": {"type": "edgetpu", "device": "usb"}}
    result = _run(tmp_path, cfg)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert output.count("no Edge TPU found at device 'usb'") == 1  # once, from the daemon, not again from its child
    assert "Traceback" not in output


def test_model_size_mismatch_names_the_keys(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path)
    cfg["model"]["width"] = cfg["model"]["height"] = 320  # the shared model takes 300x300
    result = _run(tmp_path, cfg)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "model.width/height" in output and "300x300" in output
    assert "Traceback" not in output
