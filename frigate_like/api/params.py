"""Typed query-string parsing: a bad value is a BadRequest naming the parameter."""

from __future__ import annotations

from collections.abc import Mapping

from frigate_like.errors import BadRequest
from frigate_like.events.overlays import ViewOptions


def int_param(
    args: Mapping[str, str],
    name: str,
    default: int | None = None,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise BadRequest(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise BadRequest(f"{name} must be at most {maximum}, got {value}")
    return value


def float_param(args: Mapping[str, str], name: str) -> float | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a number (epoch seconds), got {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise BadRequest(f"{name} must be a finite number, got {raw!r}")
    return value


def flag_param(args: Mapping[str, str], name: str, default: bool | None = None) -> bool | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if raw not in ("0", "1"):
        raise BadRequest(f"{name} must be 0 or 1, got {raw!r}")
    return raw == "1"


def str_param(args: Mapping[str, str], name: str, max_length: int = 200) -> str | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > max_length:
        raise BadRequest(f"{name} is too long")
    return raw


MAX_HEIGHT = 2160  # px; a bigger picture of a detect-resolution frame only costs CPU


def height_param(args: Mapping[str, str], default: int | None = None) -> int | None:
    """``h`` (or its alias ``height``; ``h`` wins when both are given): a picture height in pixels."""
    alias = int_param(args, "height", default, minimum=1, maximum=MAX_HEIGHT)  # validated even when h wins
    return int_param(args, "h", alias, minimum=1, maximum=MAX_HEIGHT)


def view_options(args: Mapping[str, str], default_height: int | None) -> ViewOptions:
    """The live view's overlay switches and height (MJPEG and latest.jpg)."""
    return ViewOptions(
        height=height_param(args, default_height),
        bbox=bool(flag_param(args, "bbox", False)),
        timestamp=bool(flag_param(args, "timestamp", False)),
        zones=bool(flag_param(args, "zones", False)),
        mask=bool(flag_param(args, "mask", False)),
        motion=bool(flag_param(args, "motion", False)),
        regions=bool(flag_param(args, "regions", False)),
    )


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def bool_param(args: Mapping[str, str], name: str, default: bool) -> bool:
    """``true/false``, ``1/0``, ``yes/no``, ``on/off`` (any case), as FastAPI-style clients send them."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise BadRequest(f"{name} must be true or false, got {raw!r}")
