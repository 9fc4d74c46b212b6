"""The JSON schema of an MQTT ``events`` message (Frigate 0.8's fields) and a small checker for it.

The checker understands the subset of JSON Schema used here: ``type`` (one or a list),
``enum``, ``required``, ``properties``, ``additionalProperties: false``, ``items``,
``minItems``/``maxItems`` and ``minimum``.
"""

from __future__ import annotations

from typing import Any

_NUMBER = {"type": "number", "minimum": 0}
_BOX = {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 4, "maxItems": 4}
_NAMES = {"type": "array", "items": {"type": "string"}}

OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "camera",
        "frame_time",
        "label",
        "top_score",
        "false_positive",
        "start_time",
        "end_time",
        "score",
        "box",
        "area",
        "region",
        "current_zones",
        "entered_zones",
        "thumbnail",
        "has_clip",
        "has_snapshot",
    ],  # fmt: skip
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "camera": {"type": "string"},
        "frame_time": _NUMBER,
        "label": {"type": "string"},
        "top_score": _NUMBER,
        "false_positive": {"type": "boolean"},
        "start_time": _NUMBER,
        "end_time": {"type": ["number", "null"]},
        "score": _NUMBER,
        "box": _BOX,
        "area": {"type": "integer", "minimum": 0},
        "region": _BOX,
        "current_zones": _NAMES,
        "entered_zones": _NAMES,
        "thumbnail": {"type": "null"},
        "has_clip": {"type": "boolean"},
        "has_snapshot": {"type": "boolean"},
    },
}

EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "before", "after"],
    "additionalProperties": False,
    "properties": {"type": {"enum": ["new", "update", "end"]}, "before": OBJECT_SCHEMA, "after": OBJECT_SCHEMA},
}

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def schema_errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema``, each ``path: problem``; empty when it is valid."""
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        bool_as_number = isinstance(value, bool) and "boolean" not in kinds
        if bool_as_number or not any(isinstance(value, _TYPES[k]) for k in kinds):
            return [f"{path}: expected {'/'.join(kinds)}, got {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} is not one of {schema['enum']}"]
    errors: list[str] = []
    if "minimum" in schema and isinstance(value, int | float) and value < schema["minimum"]:
        errors.append(f"{path}: {value} < {schema['minimum']}")
    if isinstance(value, dict):
        errors += [f"{path}: {key!r} is missing" for key in schema.get("required", []) if key not in value]
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            errors += [f"{path}: unexpected {key!r}" for key in value if key not in properties]
        for key, sub in properties.items():
            if key in value:
                errors += schema_errors(value[key], sub, f"{path}.{key}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            errors.append(f"{path}: {len(value)} items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errors
