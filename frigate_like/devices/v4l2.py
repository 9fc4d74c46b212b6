"""Finds local V4L2 capture devices from sysfs and /dev, and asks a device node what it can do (ioctl).

A USB (UVC) camera shows up as ``/sys/class/video4linux/videoN`` entries: a capture node
(``index`` 0) and a metadata node (``index`` 1) that cannot capture. Each entry's ``name``
is the product name; its ``device`` link leads up to the USB device that holds
``idVendor``/``idProduct``. Virtual devices (v4l2loopback) live under ``/sys/devices/virtual/``
and have no USB parent. Where the real ``/dev/videoN`` is a character device,
``VIDIOC_QUERYCAP`` decides whether it captures; elsewhere (a fake tree in tests, a node we
may not open) the ``index`` rule does. Both roots are parameters so tests run on a fake tree.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

V4L2_BACKEND_ID = 200  # OpenCV's number for its V4L2 backend (cv2.CAP_V4L2); clients send it back
V4L2_BACKEND_NAME = "V4L2"

_IOC_WRITE, _IOC_READ = 1, 2


def _ioc(direction: int, number: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (ord("V") << 8) | number


# struct v4l2_capability: driver[16] card[32] bus_info[32] version capabilities device_caps reserved[3]
_CAPABILITY = struct.Struct("=16s32s32sIII12x")
VIDIOC_QUERYCAP = _ioc(_IOC_READ, 0, _CAPABILITY.size)
# struct v4l2_streamparm: type, then (capture) capability capturemode timeperframe{num,den} ..., 200 bytes
_STREAMPARM_SIZE = 204
VIDIOC_G_PARM = _ioc(_IOC_READ | _IOC_WRITE, 21, _STREAMPARM_SIZE)
_BUF_TYPE_VIDEO_CAPTURE = 1
_CAP_VIDEO_CAPTURE, _CAP_VIDEO_CAPTURE_MPLANE, _CAP_DEVICE_CAPS = 0x1, 0x1000, 0x80000000
_VIDEO_NODE = re.compile(r"^video(\d+)$")


@dataclass(frozen=True)
class VideoDevice:
    """One capture node, in the camera-detect API's shape (``to_dict``)."""

    index: int
    name: str
    vendor_id: int
    product_id: int
    path: str
    virtual: bool = False
    backend_id: int = V4L2_BACKEND_ID
    backend_name: str = V4L2_BACKEND_NAME

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "vendor_id": self.vendor_id,
            "product_id": self.product_id,
            "path": self.path,
            "backend_id": self.backend_id,
            "backend_name": self.backend_name,
        }


@dataclass(frozen=True)
class Capability:
    """What ``VIDIOC_QUERYCAP`` says about a node."""

    card: str
    capture: bool


def _is_char_device(path: Path) -> bool:
    try:
        return stat.S_ISCHR(path.stat().st_mode)
    except OSError:
        return False


def _ioctl(path: Path, request: int, buffer: bytearray) -> bool:
    """Runs one ioctl on ``path`` (a character device); False when it cannot be opened or asked."""
    if not _is_char_device(path):
        return False
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.ioctl(fd, request, buffer)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def query_capability(path: Path) -> Capability | None:
    """``VIDIOC_QUERYCAP`` of a real device node; None when it cannot be asked."""
    buffer = bytearray(_CAPABILITY.size)
    if not _ioctl(path, VIDIOC_QUERYCAP, buffer):
        return None
    _driver, card, _bus, _version, caps, device_caps = _CAPABILITY.unpack(buffer)
    node_caps = device_caps if caps & _CAP_DEVICE_CAPS else caps
    capture = bool(node_caps & (_CAP_VIDEO_CAPTURE | _CAP_VIDEO_CAPTURE_MPLANE))
    return Capability(card.split(b"\0", 1)[0].decode(errors="replace"), capture)


def current_frame_rate(path: Path) -> float | None:
    """The capture frame rate the device is set to (``VIDIOC_G_PARM``); None when unknown."""
    buffer = bytearray(_STREAMPARM_SIZE)
    struct.pack_into("=I", buffer, 0, _BUF_TYPE_VIDEO_CAPTURE)
    if not _ioctl(path, VIDIOC_G_PARM, buffer):
        return None
    numerator, denominator = struct.unpack_from("=II", buffer, 12)  # after type, capability, capturemode
    return denominator / numerator if numerator and denominator else None


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def _usb_ids(entry: Path, sys_root: Path) -> tuple[int, int]:
    """idVendor/idProduct of the first parent of ``entry/device`` that has them (0, 0 if none)."""
    link = entry / "device"
    if not link.exists():
        return 0, 0
    node, top = link.resolve(), (sys_root / "devices").resolve()
    while node != top and node != node.parent:
        vendor, product = node / "idVendor", node / "idProduct"
        if vendor.is_file() and product.is_file():
            with contextlib.suppress(ValueError):
                return int(_read(vendor), 16), int(_read(product), 16)
            return 0, 0
        node = node.parent
    return 0, 0


def _is_virtual(entry: Path, sys_root: Path) -> bool:
    return (sys_root / "devices" / "virtual").resolve() in entry.resolve().parents


def list_video_devices(
    sys_root: Path = Path("/sys"), dev_root: Path = Path("/dev"), *, filter_virtual: bool = True
) -> list[VideoDevice]:
    """Capture-capable ``/dev/videoN`` nodes, by index; ``filter_virtual`` drops loopback devices."""
    found: dict[int, VideoDevice] = {}
    class_dir = sys_root / "class" / "video4linux"
    entries = sorted(class_dir.iterdir()) if class_dir.is_dir() else []
    for entry in entries:
        match = _VIDEO_NODE.match(entry.name)
        node = dev_root / entry.name
        if match is None or not node.exists():
            continue  # e.g. a host device that was not passed into this container
        capability = query_capability(node)
        capture = capability.capture if capability is not None else _read(entry / "index") in ("", "0")
        virtual = _is_virtual(entry, sys_root)
        if not capture or (virtual and filter_virtual):
            continue
        vendor, product = _usb_ids(entry, sys_root)
        name = _read(entry / "name") or (capability.card if capability else entry.name)
        found[int(match.group(1))] = VideoDevice(int(match.group(1)), name, vendor, product, str(node), virtual)
    # Nodes without a sysfs entry (sysfs not mounted): only what the device itself says counts.
    for node in sorted(dev_root.glob("video*")) if dev_root.is_dir() else []:
        match = _VIDEO_NODE.match(node.name)
        if match is None or int(match.group(1)) in found or (class_dir / node.name).exists():
            continue
        capability = query_capability(node)
        if capability is not None and capability.capture:
            found[int(match.group(1))] = VideoDevice(int(match.group(1)), capability.card, 0, 0, str(node))
    return [found[index] for index in sorted(found)]


# struct v4l2_control {u32 id; s32 value}
_CONTROL = struct.Struct("=Ii")
VIDIOC_S_CTRL = _ioc(_IOC_READ | _IOC_WRITE, 28, _CONTROL.size)
V4L2_CID_EXPOSURE_AUTO = 0x009A0901  # menu: 1 = manual, 3 = aperture priority (the usual "auto")
V4L2_CID_EXPOSURE_ABSOLUTE = 0x009A0902  # in 100 µs units
_EXPOSURE_MANUAL, _EXPOSURE_AUTO = 1, 3


def exposure_units(exposure: float) -> int:
    """An exposure in V4L2's 100 µs units; a negative one is OpenCV's log2 seconds (-7 → 1/128 s)."""
    seconds = 2.0**exposure if exposure < 0 else exposure / 10_000.0
    return max(1, round(seconds * 10_000.0))


def set_exposure(path: Path, manual: bool, exposure: float | None = None) -> bool:
    """Switches auto exposure off (and sets ``exposure``) or on; False when the device refuses or is absent."""
    mode = bytearray(_CONTROL.pack(V4L2_CID_EXPOSURE_AUTO, _EXPOSURE_MANUAL if manual else _EXPOSURE_AUTO))
    if not _ioctl(path, VIDIOC_S_CTRL, mode):
        return False
    if manual and exposure is not None:
        value = bytearray(_CONTROL.pack(V4L2_CID_EXPOSURE_ABSOLUTE, exposure_units(exposure)))
        return _ioctl(path, VIDIOC_S_CTRL, value)
    return True
