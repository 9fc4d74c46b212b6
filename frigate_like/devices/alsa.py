"""Finds ALSA capture devices (microphones) from /proc/asound.

``/proc/asound/pcm`` lists every PCM device, ``CC-DD: id : name : playback N : capture N``;
those with a ``capture`` stream are microphones. ``/proc/asound/cards`` gives each card's
long name. Indexes count the capture devices from 0 in that order; ``alsa_id`` (``hw:C,D``)
is what ffmpeg's ``-f alsa`` input takes. The root is a parameter so tests use a fake tree.

One numbering for discovery and recording: the index ``microphone/detect`` lists is the
``mic_device_index`` that ``record/start`` takes (``-1``: no audio; ``0``: the first capture
device, the machine's default microphone).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from frigate_like.errors import BadRequest

_CARD = re.compile(r"^\s*(\d+)\s+\[[^\]]*\]:\s*(?P<driver>.*?)\s+-\s+(?P<name>.+?)\s*$")
_PCM = re.compile(r"^(\d+)-(\d+):\s*(.*)$")


NO_MICROPHONE = -1


@dataclass(frozen=True)
class Microphone:
    """A microphone: its number (the API's), a name for people, and the ffmpeg input that captures it."""

    index: int
    name: str
    input_args: tuple[str, ...]

    @classmethod
    def alsa(cls, index: int, card: int, device: int, name: str) -> Microphone:
        return cls(index, name, ("-f", "alsa", "-i", f"hw:{card},{device}"))


def _card_names(text: str) -> dict[int, str]:
    names: dict[int, str] = {}
    for line in text.splitlines():
        match = _CARD.match(line)
        if match is not None:
            names[int(match.group(1))] = match.group("name")
    return names


def list_microphones(proc_root: Path = Path("/proc")) -> list[Microphone]:
    """Capture devices in ``/proc/asound/pcm`` order; empty when there is no sound system."""
    asound = proc_root / "asound"
    try:
        pcm = (asound / "pcm").read_text(errors="replace")
    except OSError:
        return []
    try:
        cards = _card_names((asound / "cards").read_text(errors="replace"))
    except OSError:
        cards = {}
    found: list[Microphone] = []
    for line in pcm.splitlines():
        match = _PCM.match(line.strip())
        if match is None:
            continue
        fields = [field.strip() for field in match.group(3).split(" : ")]
        if not any(field.startswith("capture") for field in fields):
            continue
        card, device = int(match.group(1)), int(match.group(2))
        pcm_name = fields[1] if len(fields) > 1 and fields[1] else fields[0]
        card_name = cards.get(card)
        name = f"{card_name}: {pcm_name}" if card_name and card_name != pcm_name else pcm_name
        found.append(Microphone.alsa(len(found), card, device, name))
    return found


def pick_microphone(index: int, available: Callable[[], list[Microphone]]) -> Microphone | None:
    """The microphone numbered ``index`` (None for -1); ``BadRequest`` when there is no such device."""
    if index == NO_MICROPHONE:
        return None
    mics = available()
    for mic in mics:
        if mic.index == index:
            return mic
    known = ", ".join(f"{m.index} ({m.name})" for m in mics) or "none"
    raise BadRequest(f"unknown microphone {index}; -1 records no audio; microphones here: {known}")


def microphones_document(microphones: list[Microphone]) -> dict[str, dict[str, str]]:
    """The microphone-detect API's shape: ``{"microphones": {"0": "name", ...}}``."""
    return {"microphones": {str(mic.index): mic.name for mic in microphones}}
