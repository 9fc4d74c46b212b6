"""Config hardening: YAML alias bombs and deep nesting refused quickly, numbers out of range named by key path."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from frigate_like.config import load_config
from frigate_like.config.loader import MAX_YAML_ALIASES, MAX_YAML_DEPTH
from frigate_like.errors import ConfigError

# Nine levels of ten aliases each: a billion strings once expanded, a kilobyte as text.
ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 10)}]" for i in range(8)]
    + ["cameras: *i"]
)


@pytest.fixture
def minimal(model_path: Path, labelmap_path: Path) -> dict[str, Any]:
    return {
        "model": {"path": str(model_path), "labelmap_path": str(labelmap_path)},
        "cameras": {"back": {"ffmpeg": {"inputs": [{"path": "rtsp://10.0.0.2/s", "roles": ["detect"]}]},
                             "width": 1280, "height": 720}},
    }  # fmt: skip


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return info.value.problems


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yml"
    path.write_text(ALIAS_BOMB)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    [problem] = problems(path)
    assert "once its aliases are expanded" in problem
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB: no expansion happened


def test_too_many_aliases_and_too_deep_nesting_are_refused(tmp_path: Path) -> None:
    many = tmp_path / "many.yml"
    many.write_text("x: &x 1\nl: [" + ",".join(["*x"] * (MAX_YAML_ALIASES + 1)) + "]\n")
    assert "aliases" in problems(many)[0] and "line 2" in problems(many)[0]
    for text in ("a: " + "[" * 20_000 + "]" * 20_000, "a:\n" + "".join(f"{' ' * i}k{i}:\n" for i in range(1, 100))):
        deep = tmp_path / "deep.yml"
        deep.write_text(text)
        assert f"nested more than {MAX_YAML_DEPTH} levels deep" in problems(deep)[0]


def test_a_few_aliases_still_work(tmp_path: Path, minimal: dict[str, Any]) -> None:
    minimal["cameras"]["back"]["objects"] = {"track": ["person", "car"]}
    minimal["cameras"]["side"] = "SIDE"
    text = yaml.safe_dump(minimal, sort_keys=False).replace("  back:\n", "  back: &camera\n")
    path = tmp_path / "config.yml"
    path.write_text(text.replace("SIDE", "*camera"))
    assert load_config(path, env={}).cameras["side"].objects.track == ["person", "car"]


def test_check_config_refuses_a_bomb_and_deep_nesting_without_a_traceback(tmp_path: Path) -> None:
    for name, text in (("bomb.yml", ALIAS_BOMB), ("deep.yml", "a: " + "[" * 20_000 + "]" * 20_000)):
        path = tmp_path / name
        path.write_text(text)
        done = subprocess.run(
            [sys.executable, "-m", "frigate_like", "check-config", "-c", str(path)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 1 and "Traceback" not in done.stderr and "1 problem" in done.stderr, done.stderr


def test_numbers_out_of_range_are_named_by_key_path(tmp_path: Path, minimal: dict[str, Any]) -> None:
    back = minimal["cameras"]["back"]
    back.update(width=99999999999999999998, fps=100000, best_image_timeout=10**9)
    back["record"] = {"enabled": True, "retain_days": 10**7}
    back["clips"] = {"retain": {"default": 10**6, "objects": {"person": 1e300}}}
    minimal["mqtt"] = {"stats_interval": 10**12}
    minimal["detectors"] = {"cpu": {"type": "cpu", "num_threads": 4096}}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(minimal))
    found = problems(path)
    expected = [
        "cameras.back.width: must be between 1 and 16384 pixels, got 99999999999999999998",
        "cameras.back.fps: must be between 1 and 120 frames per second, got 100000",
        "cameras.back.best_image_timeout: must be between 1 and 86400 seconds",
        "cameras.back.record.retain_days: must be between 0 and 36500 days",
        "cameras.back.clips.retain.default: must be between 0 and 36500 days",
        "cameras.back.clips.retain.objects.person: must be between 0 and 36500 days",
        "mqtt.stats_interval: must be between 1 and 86400 seconds",
        "detectors.cpu.num_threads: must be between 1 and 256 threads",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in found), (line, found)
