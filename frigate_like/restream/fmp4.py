"""Fragmented MP4, cut on box boundaries (pure): the init segment, fragments, key frames, the codec string.

ffmpeg writes ``ftyp moov`` (the init segment) then ``moof mdat`` pairs (one per frame with
``frag_every_frame``). A fragment starts a group of pictures when its first sample is a sync sample:
``trun``'s first-sample flags, else each sample's flags, else ``tfhd``'s default flags, else ``trex``'s
(ISO/IEC 14496-12: bit 16 of the sample flags is ``sample_is_non_sync_sample``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

NON_SYNC = 0x10000
HEADER = 8


@dataclass(frozen=True, slots=True)
class Box:
    kind: bytes
    data: bytes  # the whole box, header included
    header: int  # 8, or 16 with a 64-bit size

    @property
    def body(self) -> bytes:
        return self.data[self.header :]


def boxes(buffer: bytes, start: int = 0) -> Iterator[Box]:
    """The complete boxes laid end to end in ``buffer[start:]`` (a torn last one is left out)."""
    pos = start
    while pos + HEADER <= len(buffer):
        size, kind = struct.unpack_from(">I4s", buffer, pos)
        header = HEADER
        if size == 1:
            if pos + 16 > len(buffer):
                return
            size, header = struct.unpack_from(">Q", buffer, pos + 8)[0], 16
        elif size == 0:  # to the end of the file: never in a live stream
            return
        if size < header or pos + size > len(buffer):
            return
        yield Box(kind, buffer[pos : pos + size], header)
        pos += size


def child(box: Box, kind: bytes) -> Box | None:
    return next((b for b in boxes(box.body) if b.kind == kind), None)


def find(box: Box, *path: bytes) -> Box | None:
    """The first box down ``path`` (e.g. ``find(moov, b"trak", b"mdia")``)."""
    current: Box | None = box
    for kind in path:
        if current is None:
            return None
        current = child(current, kind)
    return current


class BoxReader:
    """Top-level boxes from a byte stream fed in chunks of any size."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[Box]:
        self._pending += chunk
        found = list(boxes(self._pending))
        used = sum(len(b.data) for b in found)
        self._pending = self._pending[used:]
        if len(self._pending) > 64 << 20:
            raise ValueError("an MP4 box over 64 MiB: not a live stream")
        return found


def default_sample_flags(moov: Box) -> int:
    trex = find(moov, b"mvex", b"trex")
    if trex is None or len(trex.body) < 24:
        return 0
    return int(struct.unpack_from(">I", trex.body, 20)[0])


def is_key_fragment(moof: Box, trex_flags: int = 0) -> bool:
    """The fragment's first sample is a sync sample (a key frame)."""
    traf = child(moof, b"traf")
    if traf is None:
        return False
    flags = trex_flags
    tfhd = child(traf, b"tfhd")
    if tfhd is not None:
        body = tfhd.body
        tf = int.from_bytes(body[1:4], "big")
        pos = 8 + (8 if tf & 0x1 else 0) + (4 if tf & 0x2 else 0) + (4 if tf & 0x8 else 0) + (4 if tf & 0x10 else 0)
        if tf & 0x20 and len(body) >= pos + 4:
            flags = int(struct.unpack_from(">I", body, pos)[0])
    trun = child(traf, b"trun")
    if trun is not None:
        body = trun.body
        tr = int.from_bytes(body[1:4], "big")
        pos = 8 + (4 if tr & 0x1 else 0)
        if tr & 0x4:
            flags = int(struct.unpack_from(">I", body, pos)[0])
        elif tr & 0x400:
            pos += (4 if tr & 0x100 else 0) + (4 if tr & 0x200 else 0)
            flags = int(struct.unpack_from(">I", body, pos)[0])
    return not flags & NON_SYNC


def codec_string(moov: Box) -> str | None:
    """The RFC 6381 codec of the first video track (``avc1.64001f``, ``hvc1.1.6.L93.B0``), for
    ``MediaSource.isTypeSupported``; None when it is neither H.264 nor H.265."""
    for trak in (b for b in boxes(moov.body) if b.kind == b"trak"):
        stsd = find(trak, b"mdia", b"minf", b"stbl", b"stsd")
        if stsd is None:
            continue
        for entry in boxes(stsd.body, 8):  # version/flags + entry count
            # a visual sample entry: 8 bytes SampleEntry + 70 bytes VisualSampleEntry before its boxes
            inner = list(boxes(entry.body, 78))
            if entry.kind in (b"avc1", b"avc3"):
                avcc = next((b for b in inner if b.kind == b"avcC"), None)
                if avcc is not None and len(avcc.body) >= 4:
                    return f"{entry.kind.decode()}.{avcc.body[1:4].hex()}"
            if entry.kind in (b"hvc1", b"hev1"):
                hvcc = next((b for b in inner if b.kind == b"hvcC"), None)
                if hvcc is not None and len(hvcc.body) >= 13:
                    profile, level = hvcc.body[1] & 0x1F, hvcc.body[12]
                    tier = "H" if hvcc.body[1] & 0x20 else "L"
                    return f"{entry.kind.decode()}.{profile}.6.{tier}{level}.B0"
    return None
