"""The effective config as a JSON-able dict for ``/api/config``, secrets redacted by ``redact.redact_value``.

Where Frigate 0.8.4's ``to_dict()`` had a key in another shape, its shape wins (Home
Assistant's integration reads it): each camera's ``frame_shape``, zone ``coordinates`` as
written, masks as ``"x1,y1,..."`` strings (``null`` when none), retention days as whole numbers.
"""

from __future__ import annotations

from typing import Any

from frigate_like.config.base import Polygon
from frigate_like.config.camera import CameraConfig
from frigate_like.config.frigate import FrigateConfig
from frigate_like.redact import redact_value


def _mask_text(masks: list[Polygon]) -> str | list[str] | None:
    """Frigate 0.8's mask value: none, one ``"x1,y1,..."`` string, or a list of them."""
    texts = [",".join(f"{x},{y}" for x, y in polygon) for polygon in masks]
    if not texts:
        return None
    return texts[0] if len(texts) == 1 else texts


def _whole_days(retain: dict[str, Any]) -> None:
    """Frigate 0.8 kept days as integers; a whole number of days is shown as one."""
    retain["default"] = _whole(retain["default"])
    retain["objects"] = {label: _whole(days) for label, days in retain["objects"].items()}


def _whole(days: float) -> float | int:
    return int(days) if float(days).is_integer() else days


def _camera_as_08(data: dict[str, Any], cam: CameraConfig) -> None:
    data["frame_shape"] = [cam.height, cam.width]
    data["motion"]["mask"] = _mask_text(cam.motion.mask)
    data["objects"]["mask"] = _mask_text(cam.objects.mask)
    for label, flt in cam.objects.filters.items():
        data["objects"]["filters"][label]["mask"] = _mask_text(flt.mask)
    for name, zone in cam.zones.items():
        data["zones"][name]["coordinates"] = zone.written_coordinates
        for label, flt in zone.filters.items():
            data["zones"][name]["filters"][label]["mask"] = _mask_text(flt.mask)
    _whole_days(data["clips"]["retain"])
    _whole_days(data["snapshots"]["retain"])


def to_public_dict(cfg: FrigateConfig) -> dict[str, Any]:
    """``cfg`` as plain JSON types; secrets redacted by :func:`redact.redact_value`."""
    data: dict[str, Any] = cfg.model_dump(mode="json")
    for name, cam in cfg.cameras.items():
        _camera_as_08(data["cameras"][name], cam)
    _whole_days(data["clips"]["retain"])
    _whole_days(data["snapshots"]["retain"])
    masked: dict[str, Any] = redact_value(data)
    return masked
