"""Cross-field checks pydantic cannot express, and reading the model's files; problems carry key paths."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from frigate_like.config.camera import CameraConfig
from frigate_like.config.frigate import FrigateConfig
from frigate_like.config.sections import ModelConfig
from frigate_like.detect.tflite_file import input_shape
from frigate_like.errors import DetectorUnavailable

# names that become MQTT topic levels and folder names
_NAME = re.compile(r"^[\w-]+$")
# <topic_prefix>/<name> topics the daemon publishes itself
_RESERVED = {"available", "events", "stats"}
_DB_SCHEMES = {"postgresql", "postgres", "sqlite"}


def read_labelmap(path: Path) -> tuple[dict[int, str], list[str]]:
    """Parse ``index label`` lines (a label may hold spaces); lines without indexes count from 0.

    Returns the labelmap and the problems found, each ``model.labelmap_path: ...``.
    """
    key = "model.labelmap_path"
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [f"{key}: cannot read {path}: {exc}"]
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line and not line.startswith("#")]
    if not numbered:
        return {}, [f"{key}: {path} holds no labels"]
    indexed = [
        len(parts) == 2 and parts[0].isdigit() for parts in (line.split(maxsplit=1) for _, line in numbered)
    ]
    if not any(indexed):  # plain one-label-per-line file
        return {i: line for i, (_, line) in enumerate(numbered)}, []
    labelmap: dict[int, str] = {}
    problems: list[str] = []
    for (n, line), ok in zip(numbered, indexed, strict=True):
        if not ok:
            problems.append(f"{key}: {path} line {n}: expected 'index label', got {line!r}")
            continue
        index, label = line.split(maxsplit=1)
        if int(index) in labelmap:
            problems.append(f"{key}: {path} line {n}: index {index} appears twice")
        labelmap[int(index)] = label.strip()
    return labelmap, problems


def _check_file(key: str, path: Path, hint: str) -> list[str]:
    if not path.exists():
        return [f"{key}: file not found: {path}{hint}"]
    if not path.is_file():
        return [f"{key}: {path} is not a file"]
    return []


def _check_input_size(model: ModelConfig, path: Path) -> list[str]:
    """The model's input tensor must be ``[1, model.height, model.width, 3]``, what ``run`` feeds it."""
    try:
        shape = input_shape(path)
    except (OSError, DetectorUnavailable) as exc:
        return [f"model.path: cannot read {path}: {exc}"]
    if len(shape) != 4:
        return [f"model.path: {path} takes input of shape {list(shape)}; expected [1, height, width, 3]"]
    _, height, width, _ = shape
    if (width, height) != (model.width, model.height):
        keys = "model.width/height" if {"width", "height"} & model.model_fields_set else "model.width/height (default)"
        return [f"{keys}: {model.width}x{model.height} configured but {path.name} takes {width}x{height}"]
    return []


def size_from_model_file(model: ModelConfig, detector_types: Iterable[str]) -> dict[str, int]:
    """``model.width/height`` from the model file when the config sets neither.

    Frigate 0.8 defaulted them to 320 because its image shipped a 320x320 model; a config that
    leaves them out means "whatever the model takes", so an image with another model runs it.
    """
    if {"width", "height"} & model.model_fields_set:
        return {}
    for path in dict.fromkeys(model.file_for(kind) for kind in detector_types):
        try:
            shape = input_shape(path)
        except (OSError, DetectorUnavailable):
            continue  # check_model_files says what is wrong with it
        if len(shape) == 4:
            return {"width": shape[2], "height": shape[1]}
    return {}


def check_model_files(model: ModelConfig, detector_types: Iterable[str]) -> tuple[dict[int, str], list[str]]:
    """Each detector's model file must exist and take ``model.width/height``; the labelmap must parse.

    Returns (labelmap, problems). Unset paths are Frigate 0.8's defaults, named as such.
    """
    problems: list[str] = []
    for path in dict.fromkeys(model.file_for(kind) for kind in detector_types):
        hint = "" if model.path is not None else " (Frigate 0.8's default; set model.path to the .tflite file)"
        found = _check_file("model.path", path, hint)
        problems += found or _check_input_size(model, path)
    labelmap_hint = (
        "" if "labelmap_path" in model.model_fields_set else " (Frigate 0.8's default; set model.labelmap_path)"
    )
    file_problems = _check_file("model.labelmap_path", model.labelmap_path, labelmap_hint)
    if file_problems:
        return {}, problems + file_problems
    labelmap, labelmap_problems = read_labelmap(model.labelmap_path)
    return labelmap, problems + labelmap_problems


def _unknown_labels(key: str, labels: Iterable[str], known: set[str]) -> list[str]:
    problems = []
    for label in dict.fromkeys(labels):
        if label in known:
            continue
        close = difflib.get_close_matches(label, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"{key}: {label!r} is not a label of the model's labelmap{hint}")
    return problems


def _check_inputs(prefix: str, cam: CameraConfig) -> list[str]:
    problems = []
    owner: dict[str, int] = {}
    for i, inp in enumerate(cam.ffmpeg.inputs):
        for role in dict.fromkeys(inp.roles):
            if role in owner:
                problems.append(
                    f"{prefix}.ffmpeg.inputs.{i}.roles: the {role} role is already on input {owner[role]};"
                    " each role may be on one input only"
                )
            else:
                owner[role] = i
    if "detect" not in owner:
        problems.append(f"{prefix}.ffmpeg.inputs: no input has the detect role; exactly one must have it")
    return problems


def camera_warnings(name: str, cam: CameraConfig) -> list[str]:
    """Sections that are on but can never produce anything: Frigate 0.8 accepted them, so they only warn."""
    warnings = []
    if cam.clips.enabled and cam.input_for("clips") is None:
        warnings.append(
            f"cameras.{name}.clips.enabled: clips are enabled but no input has the clips role,"
            " so no clip will be saved; add clips to one input's roles"
        )
    if cam.record.enabled and cam.input_for("record") is None:
        warnings.append(
            f"cameras.{name}.record.enabled: recording is enabled but no input has the record role,"
            " so nothing will be recorded; add record to one input's roles"
        )
    return warnings


def _check_camera(cfg: FrigateConfig, name: str, cam: CameraConfig, labels: set[str] | None) -> list[str]:
    prefix = f"cameras.{name}"
    problems = _check_inputs(prefix, cam)
    for key in ("width", "height"):
        if getattr(cam, key) % 2:
            problems.append(f"{prefix}.{key}: must be even (yuv420p frames), got {getattr(cam, key)}")
    for zone in cam.zones:
        if zone in cfg.cameras:
            problems.append(
                f"{prefix}.zones.{zone}: a zone may not have the name of a camera"
                " (their MQTT topics would clash)"
            )
        if not _NAME.match(zone) or zone in _RESERVED:
            problems.append(f"{prefix}.zones.{zone}: {_name_rule('zone')}")
    for section in ("clips", "snapshots", "mqtt"):
        for zone in getattr(cam, section).required_zones:
            if zone not in cam.zones:
                known = ", ".join(cam.zones) or "none"
                problems.append(
                    f"{prefix}.{section}.required_zones: unknown zone {zone!r}"
                    f" (zones of this camera: {known})"
                )
    if labels is not None:
        own_track = cam.objects.track if cam.objects.track != cfg.objects.track else []
        # resolved filters hold every tracked label; report only those written under this camera's filters
        own_filters = [
            label
            for label in cam.objects.filters
            if label not in cam.objects.track and label not in cfg.objects.filters
        ]
        problems += _unknown_labels(f"{prefix}.objects.track", own_track, labels)
        problems += _unknown_labels(f"{prefix}.objects.filters", own_filters, labels)
        problems += _unknown_labels(f"{prefix}.clips.objects", cam.clips.objects or [], labels)
        for zone_name, zone_cfg in cam.zones.items():
            problems += _unknown_labels(f"{prefix}.zones.{zone_name}.filters", zone_cfg.filters, labels)
    return problems


def _name_rule(what: str) -> str:
    reserved = ", ".join(sorted(_RESERVED))
    return f"a {what} name may hold only letters, digits, '_' and '-', and may not be one of {reserved}"


def _check_mqtt(cfg: FrigateConfig) -> list[str]:
    mqtt = cfg.mqtt
    problems = []
    prefix = mqtt.topic_prefix
    if any(c in prefix for c in "+#") or "" in prefix.split("/"):
        problems.append(
            f"mqtt.topic_prefix: topic levels without '+' or '#' and no empty level (a leading, trailing"
            f" or double '/'), got {prefix!r}"
        )
    if mqtt.tls_client_cert is not None and mqtt.tls_client_key is None:
        problems.append("mqtt.tls_client_key: required with mqtt.tls_client_cert (a client certificate needs its key)")
    if mqtt.tls_client_key is not None and mqtt.tls_client_cert is None:
        problems.append("mqtt.tls_client_cert: required with mqtt.tls_client_key (a key needs its certificate)")
    if mqtt.tls_ca_certs is None:
        for key in ("tls_client_cert", "tls_client_key", "tls_insecure"):
            if getattr(mqtt, key):
                problems.append(f"mqtt.{key}: TLS is off; set mqtt.tls_ca_certs (the CA file) to use TLS")
    for key in ("tls_ca_certs", "tls_client_cert", "tls_client_key"):
        path = getattr(mqtt, key)
        if path is not None:
            problems += _check_file(f"mqtt.{key}", path, "")
    return problems


def _check_cluster(cfg: FrigateConfig) -> list[str]:
    """Nodes share leases and events through one PostgreSQL database: SQLite is one node's own file."""
    if cfg.cluster is None:
        return []
    scheme = urlsplit(cfg.database.url).scheme if cfg.database.url else "sqlite"
    if scheme in ("postgresql", "postgres"):
        return []
    return [
        "cluster: needs database.url on PostgreSQL (postgresql://...), shared by every node;"
        f" the database is {scheme}, one node's own"
    ]


def check_config(cfg: FrigateConfig, labelmap: dict[int, str] | None) -> list[str]:
    """Every cross-field problem of a validated config; labels are checked when ``labelmap`` is given."""
    problems: list[str] = []
    labels = set(labelmap.values()) if labelmap else None
    if labels is not None:
        problems += _unknown_labels("objects.track", cfg.objects.track, labels)
        problems += _unknown_labels("objects.filters", cfg.objects.filters, labels)
    if cfg.database.url is not None:
        scheme = urlsplit(cfg.database.url).scheme
        if scheme not in _DB_SCHEMES:
            problems.append(
                f"database.url: unsupported scheme {scheme or '(none)'!r}; use postgresql://... or sqlite:///..."
            )
    problems += _check_mqtt(cfg)
    problems += _check_cluster(cfg)
    for name, cam in cfg.cameras.items():
        if not _NAME.match(name) or name in _RESERVED:
            problems.append(f"cameras.{name}: {_name_rule('camera')}")
        problems += _check_camera(cfg, name, cam, labels)
    return problems
