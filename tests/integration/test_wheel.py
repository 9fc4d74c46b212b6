"""The package as `pip install` gets it: a wheel, installed (not editable) in a fresh venv, runs the daemon."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from frigate_like import __version__
from tests.integration.daemon import REPO, Daemon, demo_config

# What a wheel is built from; anything the daemon needs at run time must live below frigate_like/.
SOURCES = ("pyproject.toml", "README.md", "frigate_like")


def _build_wheel(tmp: Path) -> Path:
    """Builds from a copy of the sources, so nothing else of the checkout can leak into the wheel."""
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, src / name)
    dist = tmp / "dist"
    # Build isolation (setuptools from the pip cache or index), as `pip install .` does it.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
        check=True,
        timeout=240,
    )
    (wheel,) = dist.glob("frigate_like-*.whl")
    return wheel


def _venv_with(wheel: Path, tmp: Path) -> Path:
    """A fresh venv holding the wheel; its dependencies come from this interpreter's site-packages.

    A path line in a .pth file adds the folder without running the .pth files inside it, so the
    editable install of the checkout there stays inert, and the venv's own site-packages (with
    the wheel) comes first on sys.path anyway.
    """
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        timeout=240,
    )
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "deps-from-test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_wheel_installs_and_runs_the_daemon(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert {"frigate_like/migrations/001_initial.py", "frigate_like/config/starter.yml"} <= set(names)
    assert {name.split("/")[0] for name in names} == {"frigate_like", f"frigate_like-{__version__}.dist-info"}

    venv = _venv_with(wheel, tmp_path)
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import frigate_like; print(frigate_like.__file__)"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the wheel's copy, not the checkout

    daemon = Daemon(tmp_path, demo_config(tmp_path, loop=True), command=[str(venv / "bin" / "frigate-like")])
    daemon.start()
    try:
        daemon.wait_for(
            lambda: daemon.get_json("/api/stats")["demo"]["camera_fps"] > 0, timeout=60, what="frames flowing"
        )
        assert daemon.db_path.is_file()  # the migrations inside the wheel made the schema
        health = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "frigate_like.health"],
            env={"FRIGATE_LIKE_CONFIG": str(daemon.config_path)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert (health.returncode, health.stdout) == (0, "healthy\n"), health.stdout + health.stderr
    finally:
        code, _ = daemon.terminate()
    assert code == 0, daemon.log()[-4000:]
    assert "migrations pending" in daemon.log()
