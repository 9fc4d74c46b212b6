"""Local capture hardware: V4L2 cameras (sysfs, /dev) and ALSA microphones (/proc/asound), roots injectable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from frigate_like.devices.alsa import Microphone, list_microphones
from frigate_like.devices.v4l2 import V4L2_BACKEND_ID, VideoDevice, list_video_devices


@dataclass(frozen=True)
class DeviceDiscovery:
    """Where to look for devices: the real roots by default, a fake tree in tests."""

    sys_root: Path = Path("/sys")
    dev_root: Path = Path("/dev")
    proc_root: Path = Path("/proc")

    def cameras(self, filter_virtual: bool = True) -> list[VideoDevice]:
        return list_video_devices(self.sys_root, self.dev_root, filter_virtual=filter_virtual)

    def microphones(self) -> list[Microphone]:
        return list_microphones(self.proc_root)


__all__ = ["V4L2_BACKEND_ID", "DeviceDiscovery", "Microphone", "VideoDevice", "list_microphones", "list_video_devices"]
