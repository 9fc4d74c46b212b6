"""What to look for and where: object filters, object tracking, motion, detect and zone sections."""

from __future__ import annotations

from pydantic import Field, NonNegativeInt, PositiveInt

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
