"""Shared building blocks of the config models: the strict base model, polygons and ffmpeg args."""

from __future__ import annotations

import shlex
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator

# A closed polygon in detect-frame pixels, at least 3 points.
Polygon = list[tuple[int, int]]


class StrictModel(BaseModel):
    """Base of every config section: unknown keys are errors, ``null`` means "not set".

    A key given as ``null`` (or left empty in YAML) is dropped before validation, so it
    takes its default, or inherits the global value during camera resolution; which keys
    the user really set is then ``model_fields_set``.
    """

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (v is None and k in cls.model_fields)}
        return data

    def merged_over(self, base: Self) -> Self:
        """Return ``base`` with every field set explicitly on ``self`` taking precedence."""
        return base.model_copy(update={name: getattr(self, name) for name in self.model_fields_set})


def _parse_int(text: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValueError(f"coordinates must be whole numbers, got {str(text).strip()!r}") from None
    if value < 0:
        raise ValueError(f"coordinates must not be negative, got {value}")
    return value


def _pairs(numbers: list[int]) -> Polygon:
    if len(numbers) % 2:
        raise ValueError(f"a polygon needs an even count of numbers (x,y pairs), got {len(numbers)}")
    points = [(numbers[i], numbers[i + 1]) for i in range(0, len(numbers), 2)]
    if len(points) < 3:
        raise ValueError(f"a polygon needs at least 3 points, got {len(points)}")
    return points


def parse_polygon(value: Any) -> Polygon:
    """Parse ``"x1,y1,x2,y2,..."``, a list of ``"x,y"`` strings or a list of ``[x, y]`` pairs."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("poly,"):  # Frigate 0.7 style prefix
            text = text[len("poly,") :]
        return _pairs([_parse_int(p) for p in text.split(",") if p.strip()])
    if isinstance(value, list | tuple):
        numbers: list[int] = []
        for item in value:
            if isinstance(item, str):
                numbers.extend(_parse_int(p) for p in item.split(",") if p.strip())
            elif isinstance(item, list | tuple) and len(item) == 2:
                numbers.extend(_parse_int(p) for p in item)
            else:
                raise ValueError(f"expected 'x,y' points, got {item!r}")
        return _pairs(numbers)
    raise ValueError(f"expected a polygon as 'x1,y1,x2,y2,...', got {value!r}")


def _one_or_many_polygons(value: Any) -> Any:
    """A mask is one polygon string or a list of them; already parsed lists pass through."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, tuple) for v in value):
        return [value]  # a single already parsed polygon
    return value


def split_args(value: Any) -> Any:
    """ffmpeg args as a list of strings: a string is split like a shell would, numbers become strings."""
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split these ffmpeg args: {exc}") from None
    if isinstance(value, list | tuple):
        out: list[str] = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise ValueError(f"expected ffmpeg args as a string or a list of strings, got {item!r}")
            out.append(str(item))
        return out
    return value


def translate_input_args(args: list[str]) -> list[str]:
    """ffmpeg 5 removed ``-stimeout`` for RTSP; ``-timeout`` is its replacement (microseconds)."""
    return ["-timeout" if a == "-stimeout" else a for a in args]


PolygonField = Annotated[Polygon, BeforeValidator(parse_polygon)]
Masks = Annotated[list[PolygonField], BeforeValidator(_one_or_many_polygons)]
Args = Annotated[list[str], BeforeValidator(split_args)]
InputArgs = Annotated[list[str], BeforeValidator(split_args), AfterValidator(translate_input_args)]
