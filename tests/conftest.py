"""Fixtures every test module may use: where the shared, read-only assets live."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from frigate_like.config.sections import MODEL_DIR_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]
PG_DSN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _existing(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"shared asset missing: {path} (the shared folder sits beside the repository)")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` from the repository root: the model, labelmap and footage, read-only."""
    return _existing(REPO_ROOT.parent / "shared")


@pytest.fixture(scope="session")
def model_path(shared_dir: Path) -> Path:
    """The COCO SSD MobileNet v1 quantised .tflite (300×300 uint8 RGB input)."""
    return _existing(shared_dir / "models" / "ssd_mobilenet_v1_coco_quant.tflite")


@pytest.fixture(scope="session")
def labelmap_path(shared_dir: Path) -> Path:
    """``index label`` lines for the model (0 person, 2 car, ...)."""
    return _existing(shared_dir / "models" / "coco_labelmap.txt")


@pytest.fixture(scope="session")
def person_video(shared_dir: Path) -> Path:
    """768×432, 10 fps, 139 s: people walk into a room one after another."""
    return _existing(shared_dir / "media" / "one-by-one-person-detection.mp4")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    with pg_schema() as url:
        yield url


@contextlib.contextmanager
def pg_schema() -> Iterator[str]:
    """A URL of the test database whose search_path is a fresh schema of its own, dropped on leaving."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg2.connect(PG_DSN) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
    conn.close()
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        conn = psycopg2.connect(PG_DSN)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


@pytest.fixture(scope="session", autouse=True)
def _no_host_default_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A config without ``model.path``/``labelmap_path`` looks in an empty folder of the tests', never
    in the host's ``/`` (which holds ``/cpu_model.tflite`` where Frigate 0.8 or our image ran)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MODEL_DIR_ENV, str(tmp_path_factory.mktemp("no-default-models")))
        yield


@pytest.fixture
def default_model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own empty folder where a config without ``model.path``/``labelmap_path`` looks
    (``/`` in the image): Frigate 0.8's ``cpu_model.tflite``, ``edgetpu_model.tflite``, ``labelmap.txt``."""
    folder = tmp_path / "default-models"
    folder.mkdir()
    monkeypatch.setenv(MODEL_DIR_ENV, str(folder))
    return folder
