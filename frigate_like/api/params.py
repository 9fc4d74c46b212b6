"""Typed request parsing: a bad value is a BadRequest (400, JSON ``{"detail": ...}``) naming the parameter.

Query strings (``int_param``...) and the strings of JSON bodies: every string a request hands on
(a folder, a file, a camera source) goes through :func:`checked_text` (or :func:`checked_path`)
first, so no lone surrogate (``"\ud800"``: JSON allows it, UTF-8 and the file system do not), NUL
or other control character, and nothing longer than :data:`MAX_TEXT` (or a path component over
:data:`MAX_NAME_BYTES`) reaches a file-system call and turns into a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request

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


MAX_TEXT = 4096  # characters in one string of a request: PATH_MAX, and far more than any URL a camera needs
MAX_NAME_BYTES = 255  # one path component (NAME_MAX)


def checked_text(name: str, value: str, max_length: int = MAX_TEXT) -> str:
    """``value`` when it is valid Unicode without control characters and at most ``max_length`` long."""
    if len(value) > max_length:
        raise BadRequest(f"{name}: too long ({len(value)} characters; at most {max_length})")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{name}: not valid Unicode (a lone surrogate)") from None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise BadRequest(f"{name}: control characters are not allowed")
    return value


def checked_path(name: str, value: str) -> str:
    """:func:`checked_text` for a file-system path; also no component over :data:`MAX_NAME_BYTES` bytes."""
    checked_text(name, value)
    if any(len(part.encode()) > MAX_NAME_BYTES for part in value.split("/")):
        raise BadRequest(f"{name}: a folder or file name is over {MAX_NAME_BYTES} bytes")
    return value


def checked_json(value: Any, where: str = "body") -> Any:
    """``value`` (a parsed JSON body) when every string in it, keys included, passes :func:`checked_text`."""
    if isinstance(value, str):
        return checked_text(where, value)
    if isinstance(value, dict):
        for key, item in value.items():
            checked_text(f"{where}: a key", key)
            checked_json(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            checked_json(item, f"{where}[{index}]")
    return value


def json_object(*, optional: bool = False, force: bool = False) -> dict[str, Any]:
    """The request's JSON object, every string checked; no body is ``{}`` when ``optional``."""
    if optional and not request.get_data():
        return {}
    body = request.get_json(silent=True, force=force)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return checked_json(body)


def optional_str(body: Mapping[str, Any], name: str, *, path: bool = False) -> str | None:
    """``body[name]`` as a string (a path when ``path``), or None when absent, null or empty."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string, got {value!r}")
    return checked_path(name, value) if path else checked_text(name, value)
