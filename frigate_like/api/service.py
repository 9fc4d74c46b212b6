"""What the API needs from the running daemon, as one object the app wires in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class ApiServices:
    config: Any  # FrigateConfig
    stats: Callable[[], dict[str, Any]]
    public_config: Callable[[], dict[str, Any]]
    events: Any  # module or object with list_events / get_event / events_summary
    shutdown: Callable[[], None] | None = None  # asks the daemon to stop (GET /shutdown)
    groups: Any = None  # groups.GroupManager: camera groups at run time
    devices: Any = None  # devices.DeviceDiscovery: local cameras and microphones
