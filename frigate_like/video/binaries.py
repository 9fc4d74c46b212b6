"""Find the ffmpeg and ffprobe executables: the system's first, imageio-ffmpeg's as a fallback."""

from __future__ import annotations

import shutil

from frigate_like.errors import FrigateLikeError


def find_ffmpeg() -> str:
    """Path of the ffmpeg to run: ``ffmpeg`` on PATH, else the one bundled with imageio-ffmpeg.

    The system build is preferred because distribution builds carry the hardware
    decoders (VAAPI, QSV, NVDEC) that hwaccel_args ask for.
    """
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # an optional extra: the image and distributions bring their own ffmpeg
        raise FrigateLikeError(
            "no ffmpeg on PATH: install your distribution's ffmpeg (or pip install 'frigate-like[ffmpeg]')"
        ) from exc
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def find_ffprobe() -> str | None:
    """Path of ``ffprobe`` on PATH, or None: imageio-ffmpeg ships no ffprobe."""
    return shutil.which("ffprobe")
