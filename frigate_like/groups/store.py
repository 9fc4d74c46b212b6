"""Keeps the camera groups so they survive a restart (the YAML is never touched): in a JSON file in the state
folder (a single node), or in the shared database's ``camera_group_row`` (a cluster: any node's API adds one,
every node sees it)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import peewee as pw
from pydantic import ValidationError

from frigate_like.cluster.node import DB_NOW
from frigate_like.db.models import CameraGroupRow
from frigate_like.files import write_private_text
from frigate_like.groups.models import ApplyRequest, GroupCameraConfig

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


def groups_path_for(config_path: Path) -> Path:
    """Where groups were kept before ``paths.state_dir``: ``/config/config.yml`` → ``/config/config.groups.json``."""
    return config_path.with_name(f"{config_path.stem}.groups.json")


Groups = dict[str, dict[str, GroupCameraConfig]]


class GroupKeeper(Protocol):
    """Where the groups are kept (a file or the database)."""

    def load(self) -> Groups: ...
    def save(self, groups: Mapping[str, Mapping[str, GroupCameraConfig]]) -> None: ...


def _parse(group_id: object, raw: object, where: object) -> dict[str, GroupCameraConfig] | None:
    try:
        return ApplyRequest.model_validate(raw).camera_configs
    except ValidationError as exc:
        logger.error("camera group %s in %s is invalid, left out: %s", group_id, where, exc)
        return None


def _body(configs: Mapping[str, GroupCameraConfig]) -> dict[str, object]:
    return {"camera_configs": {cid: c.model_dump(mode="json") for cid, c in configs.items()}}


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
            configs = _parse(group_id, raw, self.path)
            if configs is not None:
                groups[str(group_id)] = configs
        return groups

    def save(self, groups: Mapping[str, Mapping[str, GroupCameraConfig]]) -> None:
        """Writes every group atomically; no group removes the file. Failures are logged, not raised."""
        try:
            if not groups:
                self.path.unlink(missing_ok=True)
                return
            document = {
                "version": FORMAT_VERSION,
                "groups": {group_id: _body(configs) for group_id, configs in groups.items()},
            }
            # camera sources may carry passwords: the file is the owner's alone (0600)
            write_private_text(self.path, json.dumps(document, indent=2) + "\n")
        except OSError as exc:
            logger.error("cannot save the camera groups to %s: %s (they will not survive a restart)", self.path, exc)


class DatabaseGroupStore:
    """The groups of a cluster in ``camera_group_row`` (one row per group, ``body`` its JSON, as in the file).

    ``save`` writes only what this node changed since it last loaded or saved — the groups it changed or
    removed — so two nodes saving at once never erase each other's groups. Database errors are raised
    (the API answers 503; the caller retries a load).
    """

    def __init__(self, db: pw.Database) -> None:
        self._db = db
        self._known: dict[str, str] = {}  # group id → body, as last loaded or saved

    def load(self) -> Groups:
        with self._db.bind_ctx([CameraGroupRow]):
            rows = list(CameraGroupRow.select().order_by(CameraGroupRow.group_id))
        self._known = {row.group_id: row.body for row in rows}
        groups: Groups = {}
        for row in rows:
            try:
                raw = json.loads(row.body)
            except ValueError as exc:
                logger.error("camera group %s in the database is unreadable, left out: %s", row.group_id, exc)
                continue
            configs = _parse(row.group_id, raw, "the database")
            if configs is not None:
                groups[row.group_id] = configs
        return groups

    def save(self, groups: Mapping[str, Mapping[str, GroupCameraConfig]]) -> None:
        bodies = {group_id: json.dumps(_body(configs), sort_keys=True) for group_id, configs in groups.items()}
        with self._db.bind_ctx([CameraGroupRow]), self._db.atomic():
            for group_id, body in bodies.items():
                if self._known.get(group_id) != body:
                    CameraGroupRow.insert(group_id=group_id, body=body, updated_at=pw.SQL(DB_NOW)).on_conflict(
                        conflict_target=[CameraGroupRow.group_id],
                        update={CameraGroupRow.body: body, CameraGroupRow.updated_at: pw.SQL(DB_NOW)},
                    ).execute()
            gone = [group_id for group_id in self._known if group_id not in bodies]
            if gone:
                CameraGroupRow.delete().where(CameraGroupRow.group_id.in_(gone)).execute()
        self._known = bodies

