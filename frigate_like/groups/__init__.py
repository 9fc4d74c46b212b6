"""Camera groups applied at run time (the camera-management API): request models, translation, manager, store."""

from frigate_like.groups.manager import GroupManager
from frigate_like.groups.models import ApplyRequest, GroupCameraConfig, parse_apply_request
from frigate_like.groups.store import GroupStore, groups_path_for

__all__ = [
    "ApplyRequest",
    "GroupCameraConfig",
    "GroupManager",
    "GroupStore",
    "groups_path_for",
    "parse_apply_request",
]
