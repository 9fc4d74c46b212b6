"""Load the YAML file: parse, substitute ``{FRIGATE_*}``, validate, resolve, check; every problem at once."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from frigate_like.config.checks import camera_warnings, check_config, check_model_files, size_from_model_file
from frigate_like.config.frigate import FrigateConfig
from frigate_like.config.problems import validation_problems
from frigate_like.config.ranges import check_ranges
from frigate_like.config.resources import preflight_problems
from frigate_like.errors import ConfigError
from frigate_like.redact import redact_text

_ENV_REF = re.compile(r"\{(FRIGATE_[A-Za-z0-9_]*)\}")


class _StrictYamlLoader(yaml.SafeLoader):
    """A SafeLoader that remembers duplicate keys instead of silently keeping the last one."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool):
                continue
            if key in seen:
                mark = key_node.start_mark
                where = f"line {mark.line + 1}, column {mark.column + 1}"
                self.duplicates.append(f"{where}: duplicate key {key!r}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


MAX_YAML_DEPTH = 64  # nested mappings/lists; the composer recurses, so deeper ones would crash it
MAX_YAML_ALIASES = 200
MAX_YAML_NODES = 200_000  # values after every alias is expanded: an alias bomb expands to billions


class _LimitedComposer(yaml.SafeLoader):
    """Composes (does not construct) a document, refusing one too deep or with too many aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                raise yaml.composer.ComposerError(
                    None, None, f"more than {MAX_YAML_ALIASES} aliases (*name)", self.peek_event().start_mark
                )
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_YAML_DEPTH} levels deep", self.peek_event().start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def check_yaml_limits(text: str) -> None:
    """Raises ``yaml.YAMLError`` for a document too deep, with too many aliases, or too big once they expand.

    Runs before the document is built into Python values: composing is linear in the text, and
    an alias is the same node each time, so its expanded size is counted once per node.
    """
    composer = _LimitedComposer(text)
    try:
        root = composer.get_single_node()
    finally:
        composer.dispose()
    sizes: dict[int, int] = {}

    def expanded(node: yaml.Node) -> int:
        if id(node) not in sizes:
            sizes[id(node)] = 0  # a recursive alias counts as nothing more
            children: list[yaml.Node] = []
            if isinstance(node, yaml.MappingNode):
                children = [part for pair in node.value for part in pair]
            elif isinstance(node, yaml.SequenceNode):
                children = list(node.value)
            sizes[id(node)] = min(MAX_YAML_NODES + 1, 1 + sum(expanded(child) for child in children))
        return sizes[id(node)]

    if root is not None and expanded(root) > MAX_YAML_NODES:
        raise yaml.YAMLError(f"more than {MAX_YAML_NODES} values once its aliases are expanded")


def parse_yaml(text: str, source: str) -> Any:
    """The YAML document in ``text``; syntax errors, limits and duplicate keys raise ``ConfigError``."""
    loader = _StrictYamlLoader(text)
    try:
        check_yaml_limits(text)
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        what = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise ConfigError(f"{source}: YAML syntax error at {where}{what}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: YAML error: {exc}") from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise ConfigError([f"{source}: {d}" for d in loader.duplicates])
    return data


def substitute_env(data: Any, env: Mapping[str, str], path: tuple[str, ...] = ()) -> tuple[Any, list[str]]:
    """Replace ``{FRIGATE_NAME}`` in every string with the environment's value.

    Returns the new data and one problem per reference to an unset variable. Other
    braces are left alone, so ``{}`` in, say, an ffmpeg filter stays as written.
    """
    problems: list[str] = []
    if isinstance(data, str):
        missing = [name for name in _ENV_REF.findall(data) if name not in env]
        for name in dict.fromkeys(missing):
            problems.append(f"{'.'.join(path) or '(top level)'}: environment variable {name} is not set")
        return _ENV_REF.sub(lambda m: env.get(m.group(1), m.group(0)), data), problems
    if isinstance(data, dict):
        out: dict[Any, Any] = {}
        for key, value in data.items():
            out[key], sub = substitute_env(value, env, (*path, str(key)))
            problems += sub
        return out, problems
    if isinstance(data, list):
        items = []
        for i, value in enumerate(data):
            item, sub = substitute_env(value, env, (*path, str(i)))
            items.append(item)
            problems += sub
        return items, problems
    return data, problems


def _remove(data: Any, loc: tuple[int | str, ...]) -> str | None:
    """Delete the deepest mapping key along ``loc``; return its key path, None when ``loc`` is gone."""
    containers: list[Any] = []
    node = data
    for part in loc:
        containers.append(node)
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
        else:
            return None  # already dropped with a parent, or not a key of the data
    for depth in range(len(loc) - 1, -1, -1):
        if isinstance(containers[depth], dict):
            del containers[depth][loc[depth]]
            return ".".join(str(p) for p in loc[: depth + 1])
    return None


def _salvage(data: dict[str, Any], context: dict[str, Any]) -> tuple[FrigateConfig | None, list[str]]:
    """Drop what failed validation until the rest validates, so the cross checks can still run on it.

    Returns that partial config (None when nothing sensible is left) and the key paths dropped.
    """
    data = copy.deepcopy(data)
    dropped: list[str] = []
    for _ in range(10):
        try:
            return FrigateConfig.model_validate(data, context=context), dropped
        except ValidationError as exc:
            removed = [
                # a missing key: drop the mapping that lacks it
                _remove(data, tuple(e["loc"][:-1] if e["type"] == "missing" else e["loc"]))
                for e in exc.errors()
            ]
            done = [r for r in removed if r is not None]
            if not done or "cameras" in done or "" in done:
                return None, dropped
            dropped += done
    return None, dropped


def config_from_dict(
    raw: Any,
    base_dir: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    ring_slots: int | None = None,
) -> FrigateConfig:
    """Validate, resolve and check a parsed config; relative paths resolve against ``base_dir``.

    ``env`` (default ``os.environ``) feeds ``{FRIGATE_*}`` references. With ``ring_slots``
    (frames per camera ring) what ``run`` needs of the host is checked too (shared memory,
    writable folders), so one pass reports all ``run`` would refuse. Raises ``ConfigError``
    listing every problem found.
    """
    if raw is None:
        raw = {}  # an empty file is every default, as in Frigate 0.8
    if not isinstance(raw, dict):
        raise ConfigError(f"(top level): expected a mapping of sections, got {type(raw).__name__}")
    data, problems = substitute_env(raw, os.environ if env is None else env)
    context = {"base_dir": Path(base_dir).resolve() if base_dir is not None else None}
    try:
        cfg = FrigateConfig.model_validate(data, context=context)
    except ValidationError as exc:
        problems += validation_problems(exc, FrigateConfig)
        partial, dropped = _salvage(data, context)
        if partial is not None:
            problems += [
                p for p in _checks(partial, ring_slots)[1] if not any(p.startswith((d + ".", d + ":")) for d in dropped)
            ]
        raise ConfigError(list(dict.fromkeys(problems))) from None
    cfg, more = _checks(cfg, ring_slots)
    problems += more
    if problems:
        raise ConfigError(problems)
    return cfg


def _checks(cfg: FrigateConfig, ring_slots: int | None) -> tuple[FrigateConfig, list[str]]:
    problems = check_ranges(cfg.model_dump(mode="python"))
    detector_types = [d.type for d in cfg.detectors.values()]
    cfg.model = cfg.model.model_copy(update=size_from_model_file(cfg.model, detector_types))
    labelmap, more = check_model_files(cfg.model, detector_types)
    problems += more
    cfg.model = cfg.model.model_copy(update={"labelmap": {**labelmap, **cfg.model.labelmap}})
    problems += check_config(cfg, cfg.model.labelmap or None)
    if ring_slots is not None:
        problems += preflight_problems(cfg, ring_slots)
    cfg.set_warnings([w for name, cam in cfg.cameras.items() for w in camera_warnings(name, cam)])
    return cfg, problems


def load_config(
    path: Path | str, env: Mapping[str, str] | None = None, *, ring_slots: int | None = None
) -> FrigateConfig:
    """Read, validate and resolve the YAML config at ``path`` (``ring_slots``: see ``config_from_dict``).

    Raises ``ConfigError`` whose ``problems`` list every mistake, each ``key.path: message``.
    """
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{file}: is a folder, not a config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    return config_from_dict(parse_yaml(text, str(file)), base_dir=file.resolve().parent, env=env, ring_slots=ring_slots)


def format_problems(err: ConfigError, source: Path | str | None = None) -> str:
    """A ``ConfigError`` for a person: a heading and one indented line per problem."""
    count = len(err.problems)
    where = f" in {source}" if source is not None else ""
    heading = f"{count} problem{'s' if count != 1 else ''}{where}:"
    return "\n".join([heading, *(f"  - {redact_text(p)}" for p in err.problems)])
