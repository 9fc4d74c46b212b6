"""docker/fetch_model.py: the image's models, from the cache, a zip or a file, checked against the Dockerfile's pins."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "docker" / "fetch_model.py"
EDGETPU_NAME = "ssdlite_mobiledet_coco_qat_postprocess_edgetpu.tflite"


def pinned(name: str) -> str:
    """An ``ARG name=value`` of the Dockerfile."""
    match = re.search(rf"^ARG {name}=(\S+)$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    assert match, name
    return match.group(1)


def fetch(tmp_path: Path, url: str, sha256: str, cache: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "model.tflite"
    args = ["--url", url, "--sha256", sha256, "--cache", str(cache), "--out", str(out), *extra]
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def zipped(zip_sha256: str) -> tuple[str, ...]:
    return ("--member", "detect.tflite", "--zip-sha256", zip_sha256)


def test_the_shared_model_is_the_pinned_one(tmp_path: Path, model_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "detect.tflite").write_bytes(model_path.read_bytes())
    unused = "http://127.0.0.1:9/unused.zip"
    result = fetch(tmp_path, unused, pinned("MODEL_SHA256"), cache, *zipped("unused"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "model.tflite").read_bytes() == model_path.read_bytes()

    result = fetch(tmp_path, unused, "0" * 64, cache, *zipped("unused"))
    assert result.returncode == 1 and "detect.tflite has sha256" in result.stderr


def test_a_zip_is_checked_before_anything_is_extracted(tmp_path: Path, model_path: Path) -> None:
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as zipped_file:
        zipped_file.write(model_path, "detect.tflite")
    zip_sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    empty = tmp_path / "no-cache"
    result = fetch(tmp_path, archive.as_uri(), pinned("MODEL_SHA256"), empty, *zipped(zip_sha))
    assert result.returncode == 0, result.stderr
    result = fetch(tmp_path, archive.as_uri(), pinned("MODEL_SHA256"), empty, *zipped("0" * 64))
    assert result.returncode == 1 and f"{archive.as_uri()} has sha256 {zip_sha}" in result.stderr
    result = fetch(tmp_path, "http://127.0.0.1:9/none.zip", pinned("MODEL_SHA256"), empty, *zipped(zip_sha))
    assert result.returncode == 1 and "cannot download" in result.stderr and "Traceback" not in result.stderr
    result = fetch(tmp_path, archive.as_uri(), pinned("MODEL_SHA256"), empty, "--member", "detect.tflite")
    assert result.returncode == 2 and "--member needs --zip-sha256" in result.stderr


def test_a_plain_file_is_fetched_or_taken_from_the_cache_by_its_url_name(tmp_path: Path, model_path: Path) -> None:
    """How the Edge TPU model comes: a plain .tflite file. The shared CPU model stands in for it."""
    served = tmp_path / "served"
    served.mkdir()
    (served / EDGETPU_NAME).write_bytes(model_path.read_bytes())
    url = (served / EDGETPU_NAME).as_uri()
    sha = hashlib.sha256(model_path.read_bytes()).hexdigest()
    empty = tmp_path / "no-cache"
    result = fetch(tmp_path, url, sha, empty)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "model.tflite").read_bytes() == model_path.read_bytes()
    result = fetch(tmp_path, url, "0" * 64, empty)
    assert result.returncode == 1 and f"{EDGETPU_NAME} has sha256 {sha}" in result.stderr

    # offline: the cache holds it under the URL's file name, and it is checked all the same
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / EDGETPU_NAME).write_bytes(model_path.read_bytes())
    result = fetch(tmp_path, f"http://127.0.0.1:9/{EDGETPU_NAME}", sha, cache)
    assert result.returncode == 0 and f"using {cache / EDGETPU_NAME}" in result.stdout, result.stderr
    result = fetch(tmp_path, f"http://127.0.0.1:9/{EDGETPU_NAME}", pinned("EDGETPU_MODEL_SHA256"), cache)
    assert result.returncode == 1 and f"expected {pinned('EDGETPU_MODEL_SHA256')}" in result.stderr
    result = fetch(tmp_path, f"http://127.0.0.1:9/{EDGETPU_NAME}", sha, empty)
    assert result.returncode == 1 and f"put {EDGETPU_NAME} into {empty}" in result.stderr

