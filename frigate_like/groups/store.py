"""Keeps the camera groups in a JSON file in the state folder so they survive a restart (the YAML is never touched)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from frigate_like.files import write_private_text
from frigate_like.groups.models import ApplyRequest, GroupCameraConfig

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


def groups_path_for(config_path: Path) -> Path:
    """Where groups were kept before ``paths.state_dir``: ``/config/config.yml`` → ``/config/config.groups.json``."""
    return config_path.with_name(f"{config_path.stem}.groups.json")


class GroupStore:
    """``{"version": 1, "groups": {group_id: {"camera_configs": {camera_id: {...}}}}}`` in one file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, dict[str, GroupCameraConfig]]:
        """The saved groups; a missing file is none, an unreadable group is logged and left out."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.error("camera groups file %s cannot be read (%s): starting without groups", self.path, exc)
            return {}
        groups: dict[str, dict[str, GroupCameraConfig]] = {}
        raw_groups = data.get("groups") if isinstance(data, dict) else None
        for group_id, raw in (raw_groups or {}).items():
            try:
                groups[str(group_id)] = ApplyRequest.model_validate(raw).camera_configs
            except ValidationError as exc:
                logger.error("camera group %s in %s is invalid, left out: %s", group_id, self.path, exc)
        return groups

    def save(self, groups: Mapping[str, Mapping[str, GroupCameraConfig]]) -> None:
        """Writes every group atomically; no group removes the file. Failures are logged, not raised."""
        try:
            if not groups:
                self.path.unlink(missing_ok=True)
                return
            document = {
                "version": FORMAT_VERSION,
                "groups": {
                    group_id: {"camera_configs": {cid: c.model_dump(mode="json") for cid, c in configs.items()}}
                    for group_id, configs in groups.items()
                },
            }
            # camera sources may carry passwords: the file is the owner's alone (0600)
            write_private_text(self.path, json.dumps(document, indent=2) + "\n")
        except OSError as exc:
            logger.error("cannot save the camera groups to %s: %s (they will not survive a restart)", self.path, exc)
