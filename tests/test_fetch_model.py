"""docker/fetch_model.py: the image's model, from the cache or a zip, checked against the Dockerfile's pins."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "docker" / "fetch_model.py"


def pinned(name: str) -> str:
    """An ``ARG name=value`` of the Dockerfile."""
    match = re.search(rf"^ARG {name}=(\S+)$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    assert match, name
    return match.group(1)


def fetch(tmp_path: Path, url: str, zip_sha256: str, sha256: str, cache: Path) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "cpu_model.tflite"
    args = ["--url", url, "--zip-sha256", zip_sha256, "--sha256", sha256, "--cache", str(cache), "--out", str(out)]
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_the_shared_model_is_the_pinned_one(tmp_path: Path, model_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "detect.tflite").write_bytes(model_path.read_bytes())
    result = fetch(tmp_path, "http://127.0.0.1:9/unused.zip", "unused", pinned("MODEL_SHA256"), cache)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cpu_model.tflite").read_bytes() == model_path.read_bytes()

    result = fetch(tmp_path, "http://127.0.0.1:9/unused.zip", "unused", "0" * 64, cache)
    assert result.returncode == 1 and "detect.tflite has sha256" in result.stderr


def test_a_zip_is_checked_before_anything_is_extracted(tmp_path: Path, model_path: Path) -> None:
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(model_path, "detect.tflite")
    zip_sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    empty = tmp_path / "no-cache"
    result = fetch(tmp_path, archive.as_uri(), zip_sha, pinned("MODEL_SHA256"), empty)
    assert result.returncode == 0, result.stderr
    result = fetch(tmp_path, archive.as_uri(), "0" * 64, pinned("MODEL_SHA256"), empty)
    assert result.returncode == 1 and f"{archive.as_uri()} has sha256 {zip_sha}" in result.stderr
    result = fetch(tmp_path, "http://127.0.0.1:9/none.zip", zip_sha, pinned("MODEL_SHA256"), empty)
    assert result.returncode == 1 and "cannot download" in result.stderr and "Traceback" not in result.stderr
