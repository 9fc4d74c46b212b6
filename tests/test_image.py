"""The container image, built and run for real on the demo footage by docker/smoke.sh.

The script uses Docker, else podman (installing it from Debian when missing); it skips (exit
77) only when no builder can be had. Without the Edge TPU model (not in docker/model-cache/, not
downloadable) it builds with EDGETPU_MODEL=none and skips only the Coral config's check, saying
so. With the layer cache warm it takes about a minute and a half here, a cold build on a fresh
machine about six (BENCHMARKS.md).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "docker" / "smoke.sh"
NO_BUILDER = 77


@pytest.mark.timeout(1800)
def test_the_image_builds_and_serves_the_demo_footage(tmp_path: Path) -> None:
    results = tmp_path / "smoke.json"
    env = {**os.environ, "SMOKE_RESULTS": str(results)}
    run = subprocess.run(["nice", "-n", "10", str(SMOKE)], env=env, capture_output=True, text=True, timeout=1750)
    if run.returncode == NO_BUILDER:
        pytest.skip(run.stderr.strip())
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-6000:]
    assert "smoke: PASS" in run.stdout
    figures = json.loads(results.read_text())
    assert figures["stop_s"] < 10
    # the models the image lists, and a Frigate 0.8 Coral config (no model section) on its Edge TPU
    # model: checked when the model could be had, else the script says it skipped the check and why
    assert "smoke: /models.sha256 (matches the files):" in run.stdout
    if figures["edgetpu_check"] == "passed":
        assert "smoke: Frigate 0.8 Coral config (no model section): check-config in the image: config OK" in run.stdout
    else:
        assert figures["edgetpu_model"] == "none"
        assert "smoke: SKIPPED: the Frigate 0.8 Coral config through check-config" in run.stdout
