"""Turn pydantic's validation errors into one readable ``key.path: message`` line each."""

from __future__ import annotations

import difflib
import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from frigate_like.redact import redact_text

_EXPECTED = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "dict_type": "a mapping of keys to values",
    "list_type": "a list",
    "model_type": "a section (a mapping of keys to values)",
    "model_attributes_type": "a section (a mapping of keys to values)",
    "path_type": "a file or folder path",
}
_COMPARISONS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def describe(value: Any) -> str:
    """How a YAML value reads in a message: the value itself and what kind of value it is."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, int | float):
        return f"{value} (a number)"
    if isinstance(value, str):
        text = redact_text(value)
        text = text if len(text) <= 60 else text[:57] + "..."
        return f"{text!r} (text)"
    if isinstance(value, dict):
        return "a mapping of keys to values"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def key_path(loc: Sequence[int | str]) -> str:
    """``('cameras', 'back', 'ffmpeg', 'inputs', 0, 'roles')`` → ``cameras.back.ffmpeg.inputs.0.roles``."""
    return ".".join(str(part) for part in loc) or "(top level)"


def _unwrap(tp: Any) -> Any:
    """The model class a type annotation leads to, looking through Annotated / Optional."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _model_at(root: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model class whose keys live at ``loc`` (dict values and list items looked through)."""
    tp: Any = root
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) in (dict, list):
            tp = get_args(tp)[-1]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unknown_key(root: type[BaseModel], loc: Sequence[int | str]) -> str:
    model = _model_at(root, loc[:-1])
    if model is None:
        return "unknown key"
    known = sorted(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key (known keys here: {', '.join(known)})"


def error_message(error: ErrorDetails, root: type[BaseModel]) -> str:
    """One pydantic error as ``key.path: message``."""
    loc = list(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "extra_forbidden":
        return f"{key_path(loc)}: {_unknown_key(root, loc)}"
    if kind == "missing":
        return f"{key_path(loc)}: required, but missing"
    if kind in _EXPECTED:
        # YAML reads bare yes/no/on/off as booleans
        hint = "; put it in quotes" if kind == "string_type" and isinstance(given, bool) else ""
        return f"{key_path(loc)}: expected {_EXPECTED[kind]}, got {describe(given)}{hint}"
    if kind == "literal_error":
        what = "unknown role" if "roles" in loc else "unknown value"
        return f"{key_path(loc)}: {what} {given!r}; expected {ctx.get('expected', '')}"
    if kind in _COMPARISONS:
        key, words = _COMPARISONS[kind]
        return f"{key_path(loc)}: must be {words} {ctx.get(key)}, got {describe(given)}"
    if kind == "too_short":
        if ctx.get("min_length") == 1:
            noun = "camera" if loc == ["cameras"] else "entry"
            return f"{key_path(loc)}: needs at least one {noun}"
        return f"{key_path(loc)}: needs at least {ctx.get('min_length')} entries"
    if kind == "string_too_short":
        return f"{key_path(loc)}: must not be empty"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return f"{key_path(loc)}: {message[:1].lower()}{message[1:]}"


def validation_problems(exc: ValidationError, root: type[BaseModel]) -> list[str]:
    """Every error of ``exc`` as a readable line, in file order as pydantic found them, no duplicates."""
    return list(dict.fromkeys(error_message(e, root) for e in exc.errors()))
