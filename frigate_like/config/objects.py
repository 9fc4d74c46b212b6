"""What to look for and where: object filters, object tracking, motion, detect and zone sections."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ModelWrapValidatorHandler, NonNegativeInt, PositiveInt, PrivateAttr, model_validator

from frigate_like.config.base import Masks, PolygonField, StrictModel


class FilterConfig(StrictModel):
    """Per-label limits a detection must meet (``objects.filters.<label>``, zone filters)."""

    min_area: NonNegativeInt = 0
    max_area: NonNegativeInt = 24_000_000
    min_score: float = Field(default=0.5, ge=0, le=1)
    threshold: float = Field(default=0.7, ge=0, le=1)
    # bottom centre of a detection's box inside one of these polygons -> dropped
    mask: Masks = Field(default_factory=list)


class ObjectsConfig(StrictModel):
    """``objects``: labels to track, their filters and a mask for every label."""

    track: list[str] = Field(default_factory=lambda: ["person"])
    filters: dict[str, FilterConfig] = Field(default_factory=dict)
    mask: Masks = Field(default_factory=list)


class MotionConfig(StrictModel):
    """``motion``: the frame-differencing motion detector's tuning and mask.

    ``frame_height`` is the height motion is computed at; a camera's resolved value
    defaults to ``height // 6`` (the model default 180 applies only outside a camera).
    """

    threshold: int = Field(default=25, ge=1, le=255)
    contour_area: NonNegativeInt = 100
    delta_alpha: float = Field(default=0.2, gt=0, le=1)
    frame_alpha: float = Field(default=0.2, gt=0, le=1)
    frame_height: PositiveInt = 180
    mask: Masks = Field(default_factory=list)


class DetectConfig(StrictModel):
    """``detect``: whether to run object detection, and how long a lost object lives.

    ``max_disappeared`` is in frames; a camera's resolved value defaults to ``5 * fps``.
    """

    enabled: bool = True
    max_disappeared: PositiveInt = 25


class ZoneConfig(StrictModel):
    """``cameras.<name>.zones.<zone>``: a named area and the filters an object needs to count in it."""

    coordinates: PolygonField
    filters: dict[str, FilterConfig] = Field(default_factory=dict)
    # the coordinates as written (a string or a list of "x,y"): /api/config shows them so, as Frigate 0.8 did
    _written: str | list[str] | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_written(cls, data: Any, handler: ModelWrapValidatorHandler[ZoneConfig]) -> ZoneConfig:
        zone = handler(data)
        written = data.get("coordinates") if isinstance(data, dict) else None
        if isinstance(written, str) or (isinstance(written, list) and all(isinstance(p, str) for p in written)):
            zone._written = written
        return zone

    @property
    def written_coordinates(self) -> str | list[str]:
        """The coordinates as the config wrote them, else ``"x1,y1,x2,y2,..."``."""
        if self._written is not None:
            return self._written
        return ",".join(f"{x},{y}" for x, y in self.coordinates)
