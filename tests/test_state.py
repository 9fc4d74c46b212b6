"""The state folder: camera groups live there, never beside the (possibly read-only) config file."""

from __future__ import annotations

from pathlib import Path

from frigate_like.config.sections import PathsConfig
from frigate_like.groups import groups_path_for
from frigate_like.state import camera_groups_path, state_dir


def test_state_dir_defaults_to_the_media_folder(tmp_path: Path) -> None:
    assert state_dir(PathsConfig(media_dir=tmp_path / "media")) == tmp_path / "media"
    paths = PathsConfig(media_dir=tmp_path / "media", state_dir=tmp_path / "state")
    assert camera_groups_path(paths, tmp_path / "config" / "config.yml") == tmp_path / "state" / "camera-groups.json"
    assert not (tmp_path / "state").exists()  # nothing to move: nothing written


def test_groups_left_beside_the_config_move_to_the_state_folder_once(tmp_path: Path) -> None:
    config = tmp_path / "config" / "config.yml"
    config.parent.mkdir()
    legacy = groups_path_for(config)
    legacy.write_text('{"version": 1, "groups": {}}\n')
    paths = PathsConfig(media_dir=tmp_path / "media")

    target = camera_groups_path(paths, config)
    assert target == tmp_path / "media" / "camera-groups.json"
    assert target.read_text() == legacy.read_text()

    target.write_text('{"version": 1, "groups": {"g": {}}}\n')  # saved since: the new file wins
    assert camera_groups_path(paths, config).read_text() == '{"version": 1, "groups": {"g": {}}}\n'
