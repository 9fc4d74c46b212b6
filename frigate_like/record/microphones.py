"""Lists ALSA capture devices as numbered microphones, and the ffmpeg input that records one.

The numbering is the seed API's: ``-1`` no audio, ``0`` the default microphone (ALSA's
``default`` device, present when the machine has any capture device), ``n`` the n-th capture
device of ``/proc/asound/pcm`` (``hw:<card>,<device>``), counting from 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from frigate_like.errors import BadRequest

NO_MICROPHONE = -1
PCM_LIST = Path("/proc/asound/pcm")


@dataclass(frozen=True)
class Microphone:
    """A microphone: its number in the API, a name, and the ffmpeg input args that capture it."""

    index: int
    name: str
    input_args: tuple[str, ...]


def alsa_microphones(pcm_list: Path = PCM_LIST) -> dict[int, Microphone]:
    """Capture devices from ``/proc/asound/pcm`` lines (``00-00: id : name : playback 1 : capture 1``)."""
    try:
        lines = pcm_list.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    devices: list[tuple[str, str]] = []
    for line in lines:
        fields = [part.strip() for part in line.split(":")]
        if len(fields) < 3 or not any(part.startswith("capture") for part in fields[3:]):
            continue
        card, _, device = fields[0].partition("-")
        if not (card.isdigit() and device.isdigit()):
            continue
        devices.append((f"hw:{int(card)},{int(device)}", fields[2] or fields[1]))
    if not devices:
        return {}
    mics = {0: Microphone(0, f"Default ({devices[0][1]})", ("-f", "alsa", "-i", "default"))}
    for number, (device, name) in enumerate(devices, start=1):
        mics[number] = Microphone(number, name, ("-f", "alsa", "-i", device))
    return mics


def pick_microphone(index: int, available: Callable[[], dict[int, Microphone]]) -> Microphone | None:
    """The microphone numbered ``index`` (None for -1); ``BadRequest`` when there is no such device."""
    if index == NO_MICROPHONE:
        return None
    mics = available()
    if index not in mics:
        known = ", ".join(f"{i} ({m.name})" for i, m in sorted(mics.items())) or "none"
        raise BadRequest(f"unknown microphone {index}; -1 records no audio; microphones here: {known}")
    return mics[index]
