"""Request parameters as types: each route declares its query, path and body once as a pydantic model, and
that model both validates the request and describes it in the OpenAPI document (flask-openapi3 reads it).

A bad value is a BadRequest (400, JSON ``{"detail": ...}``) naming the parameter: the models' own errors
are worded here (:func:`bad_request`, flask-openapi3's ``validation_error_callback``). Query strings keep
their rules: an empty value is an absent one, integers and numbers as Python reads them, 0/1 flags.

Every string of a JSON body (a folder, a file, a camera source) goes through :func:`checked_text` (or
:func:`checked_path`) first, so no lone surrogate (``"\\ud800"``: JSON allows it, UTF-8 and the file system
do not), NUL or other control character, and nothing longer than :data:`MAX_TEXT` (or a path component over
:data:`MAX_NAME_BYTES`) reaches a file-system call and turns into a 500.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal, NoReturn

from flask import has_request_context, request
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, GenerateJsonSchema, JsonDict, JsonSchemaMode
from pydantic_core import PydanticCustomError

from frigate_like.errors import BadRequest
from frigate_like.events.overlays import ViewOptions

MAX_TEXT = 4096  # characters in one string of a request: PATH_MAX, and far more than any URL a camera needs
MAX_NAME_BYTES = 255  # one path component (NAME_MAX)
MAX_HEIGHT = 2160  # px; a bigger picture of a detect-resolution frame only costs CPU
MAX_QUERY_TEXT = 200  # a camera, label or zone name in a query string


# -- the strings of a request ----------------------------------------------------------------------
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


# -- query-string and path types -------------------------------------------------------------------
def invalid(kind: str, message: str, raw: object) -> NoReturn:
    """An error :func:`bad_request` words as ``<name> <message>``; ``{raw}`` is the value as given."""
    raise PydanticCustomError(kind, message, {"raw": repr(raw)})


def _integer(raw: object) -> object:
    if isinstance(raw, str):
        try:
            return int(raw)
        except ValueError:
            invalid("integer", "must be an integer, got {raw}", raw)
    return raw


def _number(message: str) -> BeforeValidator:
    def parse(raw: object) -> object:
        if not isinstance(raw, str):
            return raw
        try:
            value = float(raw)
        except ValueError:
            invalid("number", message, raw)
        if not math.isfinite(value):
            invalid("finite", "must be a finite number, got {raw}", raw)
        return value

    return BeforeValidator(parse)


def _flag(raw: object) -> object:
    if isinstance(raw, str):
        if raw not in ("0", "1"):
            invalid("flag", "must be 0 or 1, got {raw}", raw)
        return raw == "1"
    return raw


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def _boolean(raw: object) -> object:
    if isinstance(raw, str):
        if raw.lower() in _TRUE + _FALSE:
            return raw.lower() in _TRUE
        invalid("boolean", "must be true or false, got {raw}", raw)
    return raw


Int = Annotated[int, BeforeValidator(_integer)]
"""An integer as Python's ``int()`` reads it ("7", " 7", "-1"); ranges with ``Field(ge=..., le=...)``."""
EpochQuery = Annotated[float, _number("must be a number (epoch seconds), got {raw}")]
EpochPath = Annotated[float, _number("must be epoch seconds, got {raw}")]
Flag = Annotated[
    bool, BeforeValidator(_flag), PlainSerializer(int), WithJsonSchema({"type": "integer", "enum": [0, 1]})
]
"""Frigate 0.8's switches in a query string: ``0`` or ``1``."""
Bool = Annotated[bool, BeforeValidator(_boolean)]
"""``true/false``, ``1/0``, ``yes/no``, ``on/off`` (any case), as FastAPI-style clients send them."""
QueryText = Annotated[str, Field(max_length=MAX_QUERY_TEXT)]
# the range of an optional parameter goes inside its type, before the parsing: after it, or on the field of an
# ``X | None``, pydantic documents it as "ge"/"le", which OpenAPI does not know
Height = Annotated[int, Field(ge=1, le=MAX_HEIGHT), BeforeValidator(_integer)]


def flag(default: bool | None, description: str) -> Any:
    """The ``Field`` of a :data:`Flag`: its default shown as the 0 or 1 a client sends."""
    shown: JsonDict | None = None if default is None else {"default": int(default)}
    return Field(default, description=description, json_schema_extra=shown)


def _checked_path(value: str, info: ValidationInfo) -> str:
    return checked_path(info.field_name or "value", value)


BodyPath = Annotated[str, AfterValidator(_checked_path)]
"""A file-system path in a JSON body: :func:`checked_path`."""


# -- the models ------------------------------------------------------------------------------------
def _no_null_values(schema: dict[str, Any]) -> dict[str, Any]:
    """A query string has no null: an absent parameter is None to the view, and not a value to document."""
    for prop in schema.get("properties", {}).values():
        options = prop.get("anyOf", [])
        if len(options) == 2 and {"type": "null"} in options:
            prop.pop("anyOf")
            prop.update(next(o for o in options if o != {"type": "null"}))
            if "default" in prop and prop["default"] is None:
                del prop["default"]
    return schema


_SCHEMAS: dict[tuple[type[BaseModel], bool | None, str, str, str], dict[str, Any]] = {}


class QueryModel(BaseModel):
    """The query parameters of a route: unknown ones are ignored, an empty one is absent."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            cls._once_each()
            return {key: value for key, value in data.items() if value != ""}
        return data

    @classmethod
    def _once_each(cls) -> None:
        """A parameter given again with another value (``?before=1&before=2``) is refused rather than one of them
        quietly dropped; the same value twice (``?bbox=1&bbox=1``) is that value."""
        if not has_request_context():
            return
        for name in cls.model_fields:
            values = set(request.args.getlist(name))
            if len(values) > 1:
                raise BadRequest(f"{name} is given {len(values)} different values; give it once")

    @classmethod
    def model_json_schema(
        cls,
        by_alias: bool | None = None,
        ref_template: str = DEFAULT_REF_TEMPLATE,
        schema_generator: type[GenerateJsonSchema] = GenerateJsonSchema,
        mode: JsonSchemaMode = "validation",
        *,
        union_format: Literal["any_of", "primitive_type_array"] = "any_of",
    ) -> dict[str, Any]:
        # flask-openapi3 asks for it on every request (to find list parameters): made once per model
        key = (cls, by_alias, ref_template, mode, union_format)
        if key not in _SCHEMAS:
            made = super().model_json_schema(by_alias, ref_template, schema_generator, mode, union_format=union_format)
            _SCHEMAS[key] = _no_null_values(made)
        return _SCHEMAS[key]


class PathModel(QueryModel):
    """The path parameters of a route (always present: Flask's URL rule matched them)."""

    @classmethod
    def _once_each(cls) -> None:  # a path parameter is never repeated
        return


class HeightQuery(QueryModel):
    """``h`` (or its alias ``height``; ``h`` wins when both are given): a picture height in pixels."""

    h: Height | None = Field(None, description="height in pixels (aspect kept)")
    height: Height | None = Field(None, description="alias of h (h wins)")

    def height_or(self, default: int | None) -> int | None:
        if self.h is not None:
            return self.h
        return self.height if self.height is not None else default


class ViewQuery(HeightQuery):
    """The live view's overlay switches and height (MJPEG and latest.jpg)."""

    bbox: Flag = flag(False, "draw the tracked objects' boxes")
    timestamp: Flag = flag(False, "print the frame time in the upper left")
    zones: Flag = flag(False, "draw the zones (thick while an object is inside)")
    mask: Flag = flag(False, "black out the motion mask")
    motion: Flag = flag(False, "blue boxes where motion was found")
    regions: Flag = flag(False, "green boxes where the detector ran")

    def view_options(self, default_height: int | None) -> ViewOptions:
        return ViewOptions(
            height=self.height_or(default_height),
            bbox=self.bbox,
            timestamp=self.timestamp,
            zones=self.zones,
            mask=self.mask,
            motion=self.motion,
            regions=self.regions,
        )


BodyProblem = Literal["absent", "not_json", "not_an_object"]


class JsonBody(BaseModel):
    """A JSON object body; every string in it, keys included, passes :func:`checked_text`.

    flask-openapi3 hands None for a body that is missing, not typed JSON or not JSON at all:
    :meth:`without_object` says what then (a subclass may allow no body).
    """

    #: the detail of a 400 for a body that is not a JSON object
    not_an_object: ClassVar[str] = "the request body must be a JSON object"
    #: every string checked (False: the service validates the body itself)
    checks_strings: ClassVar[bool] = True

    @classmethod
    def without_object(cls, problem: BodyProblem) -> dict[str, Any]:
        raise BadRequest(cls.not_an_object)

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        if data is None:
            problem: BodyProblem = "absent" if not request.get_data() else "not_json"
            if problem == "not_json" and request.is_json:
                problem = "not_an_object"
            return cls.without_object(problem)
        if not isinstance(data, dict):
            return cls.without_object("not_an_object")
        return checked_json(data) if cls.checks_strings else data


# -- errors ----------------------------------------------------------------------------------------
def _worded(error: Any) -> str:
    name = ".".join(str(part) for part in error["loc"]) or "body"
    kind, ctx, given = error["type"], error.get("ctx") or {}, error.get("input")
    if "raw" in ctx:  # ours (invalid): the message is already worded
        return f"{name}{'' if error['msg'].startswith(':') else ' '}{error['msg']}"
    if kind == "greater_than_equal":
        return f"{name} must be at least {ctx['ge']}, got {given}"
    if kind == "less_than_equal":
        return f"{name} must be at most {ctx['le']}, got {given}"
    if kind == "string_too_long":
        return f"{name} is too long"
    if kind == "missing" or (kind in ("string_type", "string_too_short") and not given):
        return f"{name} is required"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{name} must be an integer, got {given!r}"
    if kind in ("string_type",):
        return f"{name} must be a string, got {given!r}"
    if kind in ("bool_type", "bool_parsing"):
        return f"{name} must be true or false, got {given!r}"
    if kind == "literal_error":
        return f"{name} must be one of {ctx.get('expected')}, got {given!r}"
    return f"{name}: {error['msg']}"


def bad_request(error: ValidationError) -> NoReturn:
    """flask-openapi3's ``validation_error_callback``: the first problem as a 400 naming its parameter."""
    raise BadRequest(_worded(error.errors(include_url=False)[0])) from None
