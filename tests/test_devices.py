"""Device discovery on a fake sysfs, /dev and /proc/asound made of real files and links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from frigate_like.devices import DeviceDiscovery
from frigate_like.devices.alsa import list_microphones, microphones_document
from frigate_like.devices.v4l2 import exposure_units, list_video_devices, query_capability

USB_DEVICE = "devices/pci0000:00/0000:00:14.0/usb1/1-2"
USB_INTERFACE = f"{USB_DEVICE}/1-2:1.0"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def _video_node(sys_root: Path, real_dir: str, node: str, name: str, index: int, device: str | None) -> None:
    """``/sys/devices/.../video4linux/videoN`` with its attributes, linked from ``/sys/class/video4linux``."""
    entry = sys_root / real_dir / "video4linux" / node
    _write(entry / "name", name)
    _write(entry / "index", str(index))
    _write(entry / "dev", f"81:{node.removeprefix('video')}")
    if device is not None:
        (entry / "device").symlink_to(os.path.relpath(sys_root / device, entry))
    link = sys_root / "class" / "video4linux" / node
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(entry, link.parent))


@pytest.fixture
def fake_tree(tmp_path: Path) -> DeviceDiscovery:
    """A UVC webcam (capture node video0 + metadata node video1) and a v4l2loopback device (video9)."""
    sys_root, dev_root, proc_root = tmp_path / "sys", tmp_path / "dev", tmp_path / "proc"
    _write(sys_root / USB_DEVICE / "idVendor", "046d")
    _write(sys_root / USB_DEVICE / "idProduct", "085c")
    _video_node(sys_root, USB_INTERFACE, "video0", "C922 Pro Stream Webcam", 0, USB_INTERFACE)
    _video_node(sys_root, USB_INTERFACE, "video1", "C922 Pro Stream Webcam", 1, USB_INTERFACE)
    _video_node(sys_root, "devices/virtual", "video9", "Dummy video device (0x0000)", 0, None)
    for node in ("video0", "video1", "video9"):
        _write(dev_root / node, "")  # plain files: not character devices, so no ioctl is tried
    _write(
        proc_root / "asound" / "cards",
        " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n"
        "                      HDA Intel PCH at 0xf7f10000 irq 32\n"
        " 1 [C922           ]: USB-Audio - C922 Pro Stream Webcam\n"
        "                      C922 Pro Stream Webcam at usb-0000:00:14.0-2, high speed",
    )
    _write(
        proc_root / "asound" / "pcm",
        "00-00: ALC3246 Analog : ALC3246 Analog : playback 1 : capture 1\n"
        "00-03: HDMI 0 : HDMI 0 : playback 1\n"
        "01-00: USB Audio : USB Audio : capture 1",
    )
    return DeviceDiscovery(sys_root, dev_root, proc_root)


def test_only_capture_nodes_and_no_virtual_device_by_default(fake_tree: DeviceDiscovery) -> None:
    [webcam] = fake_tree.cameras()
    assert webcam.to_dict() == {
        "index": 0,
        "name": "C922 Pro Stream Webcam",
        "vendor_id": 0x046D,
        "product_id": 0x085C,
        "path": str(fake_tree.dev_root / "video0"),
        "backend_id": 200,
        "backend_name": "V4L2",
    }
    assert not webcam.virtual


def test_without_filter_virtual_the_loopback_device_is_listed(fake_tree: DeviceDiscovery) -> None:
    devices = fake_tree.cameras(filter_virtual=False)
    assert [d.index for d in devices] == [0, 9]  # the metadata node video1 never is
    loopback = devices[1]
    assert loopback.virtual and loopback.name == "Dummy video device (0x0000)"
    assert (loopback.vendor_id, loopback.product_id) == (0, 0)


def test_a_sysfs_device_without_its_dev_node_is_left_out(fake_tree: DeviceDiscovery) -> None:
    (fake_tree.dev_root / "video0").unlink()  # e.g. not passed into the container
    assert fake_tree.cameras() == []


def test_no_video4linux_at_all_is_no_device(tmp_path: Path) -> None:
    assert list_video_devices(tmp_path / "sys", tmp_path / "dev") == []


def test_query_capability_only_asks_character_devices(fake_tree: DeviceDiscovery) -> None:
    assert query_capability(fake_tree.dev_root / "video0") is None
    assert query_capability(Path("/dev/null")) is None  # a character device, but no V4L2 ioctl


def test_microphones_are_the_capture_pcms(fake_tree: DeviceDiscovery) -> None:
    mics = fake_tree.microphones()
    assert [(m.index, m.input_args[-1]) for m in mics] == [(0, "hw:0,0"), (1, "hw:1,0")]
    assert mics[0].input_args == ("-f", "alsa", "-i", "hw:0,0")
    assert microphones_document(mics) == {
        "microphones": {"0": "HDA Intel PCH: ALC3246 Analog", "1": "C922 Pro Stream Webcam: USB Audio"}
    }


def test_no_sound_system_is_no_microphone(tmp_path: Path) -> None:
    assert list_microphones(tmp_path) == []


def test_exposure_units_follow_opencv_and_v4l2() -> None:
    assert exposure_units(-7) == 78  # 2^-7 s = 7.8 ms = 78 × 100 µs
    assert exposure_units(-1) == 5000
    assert exposure_units(300) == 300  # already in V4L2 units
