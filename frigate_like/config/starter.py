"""First start without a config: a commented starter config where the config should be, and one line saying so."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

STARTER_COMMAND = "frigate-like starter-config"


def starter_text() -> str:
    """The starter config (``starter.yml`` in this package): the Docker image's paths, one camera to edit."""
    return resources.files(__package__).joinpath("starter.yml").read_text(encoding="utf-8")


def first_start(path: Path) -> str:
    """Writes the starter config to ``path`` when its folder is writable; the one line to tell the user."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as out:
            out.write(starter_text())
    except OSError as exc:
        return (
            f"no config at {path}, and none can be written there ({exc.strerror}): "
            f"save the output of `{STARTER_COMMAND}` there, edit its camera, then start again"
        )
    return f"no config at {path}: wrote a starter config there; edit its camera (stream URL and size), then start again"
