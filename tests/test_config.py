"""Tests of frigate_like.config: loading, validation problems, resolution, masking, shared memory."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
import yaml

from frigate_like.config import (
    FrigateConfig,
    check_shm,
    config_from_dict,
    format_problems,
    load_config,
    shm_bytes_needed,
    to_public_dict,
)
from frigate_like.detect.sizing import default_detector_count
from frigate_like.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV = {"FRIGATE_RTSP_PASSWORD": "s3cret", "FRIGATE_MQTT_PASSWORD": "mq-pass"}

FRIGATE_08 = """
mqtt:
  host: mqtt.server.com
  port: 1883
  topic_prefix: frigate
  client_id: frigate
  user: mqtt_user
  password: '{FRIGATE_MQTT_PASSWORD}'
  stats_interval: 60
detectors:
  coral:
    type: edgetpu
    device: usb
  cpu1:
    type: cpu
    num_threads: 2
model:
  path: MODEL
  labelmap_path: LABELMAP
  width: 300
  height: 300
logger:
  default: info
  logs:
    frigate.event: debug
environment_vars:
  EXAMPLE_VAR: value
clips:
  max_seconds: 300
  tmpfs_cache_size: 256m
  retain:
    default: 10
    objects:
      person: 15
snapshots:
  retain:
    default: 10
ffmpeg:
  global_args: -hide_banner -loglevel warning
  hwaccel_args: []
  input_args: -avoid_negative_ts make_zero -fflags +genpts+discardcorrupt -rtsp_transport tcp
    -stimeout 5000000 -use_wallclock_as_timestamps 1
  output_args:
    detect: -f rawvideo -pix_fmt yuv420p
    record: -f segment -segment_time 60 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c copy -an
    clips: -f segment -segment_time 10 -segment_format mp4 -reset_timestamps 1 -strftime 1 -c copy -an
    rtmp: -c copy -f flv
objects:
  track:
    - person
  filters:
    person:
      min_area: 0
      max_area: 24000000
      threshold: 0.7
motion:
  threshold: 25
  contour_area: 100
  delta_alpha: 0.2
  frame_alpha: 0.2
detect:
  max_disappeared: 25
cameras:
  back:
    ffmpeg:
      inputs:
        - path: rtsp://viewer:{FRIGATE_RTSP_PASSWORD}@10.0.10.10:554/cam/realmonitor?channel=1&subtype=2
          roles:
            - detect
            - rtmp
        - path: rtsp://viewer:{FRIGATE_RTSP_PASSWORD}@10.0.10.10:554/live
          roles:
            - clips
            - record
          global_args: -hide_banner
      hwaccel_args: -hwaccel vaapi -hwaccel_device /dev/dri/renderD128
    width: 1280
    height: 720
    fps: 5
    motion:
      mask:
        - 0,900,1080,900,1080,1920,0,1920
        - 0,0,300,0,300,100
    best_image_timeout: 60
    zones:
      front_steps:
        coordinates: 545,1077,747,939,788,805
        filters:
          person:
            min_area: 5000
            max_area: 100000
            threshold: 0.7
      street:
        coordinates:
          - 0,0
          - 1280,0
          - 1280,100
    detect:
      enabled: true
    clips:
      enabled: true
      pre_capture: 5
      post_capture: 5
      objects:
        - person
      required_zones: []
      retain:
        default: 10
        objects:
          person: 15
    record:
      enabled: true
      retain_days: 30
    rtmp:
      enabled: true
    snapshots:
      enabled: true
      timestamp: false
      bounding_box: false
      crop: false
      height: 175
      required_zones: []
      retain:
        default: 10
        objects:
          person: 15
    mqtt:
      enabled: true
      timestamp: true
      bounding_box: true
      crop: true
      height: 270
      required_zones: []
    objects:
      track:
        - person
        - car
      mask: 0,0,1000,0,1000,200,0,200
      filters:
        person:
          min_area: 5000
          max_area: 100000
          min_score: 0.5
          threshold: 0.7
"""


@pytest.fixture
def frigate08(tmp_path: Path, model_path: Path, labelmap_path: Path) -> Path:
    """The Frigate 0.8 example config, as a file, pointing at the shared model."""
    text = FRIGATE_08.replace("MODEL", str(model_path)).replace("LABELMAP", str(labelmap_path))
    path = tmp_path / "config.yml"
    path.write_text(text)
    return path


@pytest.fixture
def minimal(model_path: Path, labelmap_path: Path) -> dict[str, Any]:
    """The smallest valid config as a dict: one camera, one detect input."""
    return {
        "model": {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300},
        "cameras": {
            "back": {
                "ffmpeg": {"inputs": [{"path": "rtsp://10.0.0.2/stream", "roles": ["detect"]}]},
                "width": 1280,
                "height": 720,
            }
        },
    }


def write(tmp_path: Path, data: Any, name: str = "config.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def problems_of(tmp_path: Path, data: Any, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, data), env=env or {})
    return info.value.problems


# -- a Frigate 0.8 config loads unchanged ---------------------------------------------------------


def test_frigate_08_config_loads(frigate08: Path) -> None:
    cfg = load_config(frigate08, env=ENV)
    assert isinstance(cfg, FrigateConfig)
    assert set(cfg.detectors) == {"coral", "cpu1"}
    assert cfg.detectors["coral"].type == "edgetpu"
    assert cfg.detectors["cpu1"].num_threads == 2
    assert cfg.mqtt.host == "mqtt.server.com"
    assert cfg.mqtt.password == "mq-pass"
    assert cfg.environment_vars == {"EXAMPLE_VAR": "value"}
    assert cfg.logger.logs == {"frigate.event": "debug"}
    cam = cfg.cameras["back"]
    assert cam.name == "back"
    assert (cam.width, cam.height, cam.fps) == (1280, 720, 5)
    assert cam.ffmpeg.inputs[0].path.startswith("rtsp://viewer:s3cret@10.0.10.10")
    assert cam.ffmpeg.inputs[0].input_args[6:8] == ["-timeout", "5000000"]
    assert cam.ffmpeg.inputs[0].hwaccel_args[:2] == ["-hwaccel", "vaapi"]
    assert cam.ffmpeg.inputs[1].global_args == ["-hide_banner"]
    assert cam.zones["front_steps"].coordinates == [(545, 1077), (747, 939), (788, 805)]
    assert cam.zones["street"].coordinates == [(0, 0), (1280, 0), (1280, 100)]
    assert cam.zones["front_steps"].filters["person"].min_area == 5000
    assert len(cam.motion.mask) == 2
    assert cam.objects.mask == [[(0, 0), (1000, 0), (1000, 200), (0, 200)]]
    assert cam.snapshots.height == 175
    assert cam.input_for("record") == 1
    assert cam.frame_size == 1280 * 720 * 3 // 2


def test_labelmap_is_read_with_spaces_in_labels(frigate08: Path) -> None:
    labelmap = load_config(frigate08, env=ENV).model.labelmap
    assert labelmap[0] == "person"
    assert labelmap[12] == "stop sign"
    assert labelmap[89] == "toothbrush"


def test_plain_labelmap_counts_lines_from_zero(tmp_path: Path, minimal: dict[str, Any]) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("person\nbicycle\n\ncar\n")
    minimal["model"]["labelmap_path"] = str(labels)
    assert load_config(write(tmp_path, minimal)).model.labelmap == {0: "person", 1: "bicycle", 2: "car"}


def test_example_config_loads() -> None:
    cfg = load_config(REPO_ROOT / "config" / "example.yml", env={"FRIGATE_RTSP_PASSWORD": "pw"})
    cam = cfg.cameras["driveway"]
    assert cam.clips.enabled and cam.record.enabled
    assert cam.clips.required_zones == ["front_door", "driveway_entrance"]


# -- {FRIGATE_*} substitution and -stimeout ------------------------------------------------------


def test_env_reference_is_substituted_from_the_process_environment(
    tmp_path: Path, minimal: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRIGATE_RTSP_PASSWORD", "from-env")
    minimal["cameras"]["back"]["ffmpeg"]["inputs"][0]["path"] = "rtsp://u:{FRIGATE_RTSP_PASSWORD}@cam/1"
    cfg = load_config(write(tmp_path, minimal))
    assert cfg.cameras["back"].ffmpeg.inputs[0].path == "rtsp://u:from-env@cam/1"


def test_env_reference_in_any_string_and_other_braces_untouched(
    tmp_path: Path, minimal: dict[str, Any]
) -> None:
    minimal["mqtt"] = {"password": "{FRIGATE_MQTT_PASSWORD}", "topic_prefix": "{notfrigate}"}
    minimal["paths"] = {"media_dir": "/srv/{FRIGATE_SITE}/media"}
    cfg = load_config(write(tmp_path, minimal), env={"FRIGATE_MQTT_PASSWORD": "pw", "FRIGATE_SITE": "home"})
    assert cfg.mqtt.password == "pw"
    assert cfg.mqtt.topic_prefix == "{notfrigate}"
    assert cfg.paths.media_dir == Path("/srv/home/media")


def test_unset_env_reference_is_a_problem_with_its_key_path(tmp_path: Path, minimal: dict[str, Any]) -> None:
    minimal["cameras"]["back"]["ffmpeg"]["inputs"][0]["path"] = "rtsp://u:{FRIGATE_RTSP_PASSWORD}@cam/1"
    assert problems_of(tmp_path, minimal) == [
        "cameras.back.ffmpeg.inputs.0.path: environment variable FRIGATE_RTSP_PASSWORD is not set"
    ]


def test_stimeout_becomes_timeout(tmp_path: Path, minimal: dict[str, Any]) -> None:
    cfg = load_config(write(tmp_path, minimal))
    args = cfg.cameras["back"].ffmpeg.inputs[0].input_args
    assert "-stimeout" not in args
    assert args[args.index("-timeout") + 1] == "5000000"

    minimal["cameras"]["back"]["ffmpeg"]["inputs"][0]["input_args"] = [
        "-rtsp_transport",
        "tcp",
        "-stimeout",
        10,
    ]
    cfg = load_config(write(tmp_path, minimal))
    assert cfg.cameras["back"].ffmpeg.inputs[0].input_args == ["-rtsp_transport", "tcp", "-timeout", "10"]


# -- problems ----------------------------------------------------------------------------------


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node: Any = data
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if isinstance(node, list):
        node[int(keys[-1])] = value
    else:
        node[keys[-1]] = value


TWO_INPUTS = [
    {"path": "rtsp://cam/sub", "roles": ["detect"]},
    {"path": "rtsp://cam/main", "roles": ["detect", "record"]},
]

BAD_CONFIGS: list[tuple[str, str, Any, str]] = [
    ("unknown key", "cameras.back.motion.threshhold", 10, "cameras.back.motion.threshhold: unknown key"),
    ("unknown top key", "snapshot", {}, "snapshot: unknown key (did you mean 'snapshots'?)"),
    ("wrong type", "cameras.back.width", "wide", "cameras.back.width: expected a whole number, got 'wide'"),
    ("wrong type bool", "mqtt.enabled", "maybe", "mqtt.enabled: expected true or false, got 'maybe'"),
    ("wrong type mapping", "cameras.back.motion", 5, "cameras.back.motion: expected a section"),
    ("negative", "cameras.back.fps", 0, "cameras.back.fps: must be greater than 0, got 0"),
    (
        "two-point zone",
        "cameras.back.zones.front_steps",
        {"coordinates": "545,1077,747,939"},
        "cameras.back.zones.front_steps.coordinates: a polygon needs at least 3 points, got 2",
    ),
    (
        "two-point mask in a list",
        "cameras.back.motion.mask",
        ["0,0,10,0,10,10", "1,2,3,4"],
        "cameras.back.motion.mask.1: a polygon needs at least 3 points",
    ),
    (
        "odd mask",
        "cameras.back.objects.mask",
        "0,0,10,0,10",
        "cameras.back.objects.mask.0: a polygon needs an even",
    ),
    ("missing model file", "model.path", "missing.tflite", "model.path: file not found: "),
    (
        "missing labelmap file",
        "model.labelmap_path",
        "/nope/labels.txt",
        "model.labelmap_path: file not found",
    ),
    (
        "no model: Frigate 0.8's default file",
        "model",
        None,
        "model.path: file not found: DEFAULTS/cpu_model.tflite (Frigate 0.8's default; set model.path",
    ),
    (
        "no labelmap: Frigate 0.8's default file",
        "model.labelmap_path",
        None,
        "model.labelmap_path: file not found: DEFAULTS/labelmap.txt (Frigate 0.8's default",
    ),
    ("model size", "model.width", 320, "model.width/height: 320x300 configured but"),
    ("not a model", "model.path", "LABELMAP", "model.path: cannot read "),
    (
        "no detect input",
        "cameras.back.ffmpeg.inputs.0.roles",
        ["record"],
        "cameras.back.ffmpeg.inputs: no input has the detect role",
    ),
    (
        "zone named like a camera",
        "cameras.back.zones.back",
        {"coordinates": "0,0,10,0,10,10"},
        "cameras.back.zones.back: a zone may not have the name of a camera",
    ),
    (
        "role on two inputs",
        "cameras.back.ffmpeg.inputs",
        TWO_INPUTS,
        "cameras.back.ffmpeg.inputs.1.roles: the detect role is already on input 0",
    ),
    (
        "unknown role",
        "cameras.back.ffmpeg.inputs.0.roles",
        ["detect", "clip"],
        "cameras.back.ffmpeg.inputs.0.roles.1: unknown role 'clip'; expected 'detect', 'clips'",
    ),
    (
        "unknown output role",
        "ffmpeg.output_args",
        {"snapshot": "-f mjpeg"},
        "ffmpeg.output_args: unknown role 'snapshot' in output_args",
    ),
    ("unknown label", "objects.track", ["person", "persn"], "objects.track: 'persn' is not a label"),
    (
        "unknown label in a camera filter",
        "cameras.back.objects.filters",
        {"kar": {"min_area": 10}},
        "cameras.back.objects.filters: 'kar' is not a label of the model's labelmap (did you mean 'car'?)",
    ),
    (
        "unknown detector type",
        "detectors",
        {"gpu": {"type": "cuda"}},
        "detectors.gpu.type: unknown value 'cuda'",
    ),
    ("no detectors", "detectors", {}, "detectors: needs at least one entry"),
    (
        "unknown required zone",
        "cameras.back.clips.required_zones",
        ["porch"],
        "cameras.back.clips.required_zones: unknown zone 'porch'",
    ),
    ("odd width", "cameras.back.width", 1279, "cameras.back.width: must be even"),
    (
        "yaml boolean for text",
        "mqtt.password",
        True,
        "mqtt.password: expected text, got true (true/false); put it",
    ),
    ("bad log level", "logger.default", "loud", "logger.default: unknown value 'loud'"),
    ("bad port", "http.port", 70000, "http.port: must be at most 65535, got 70000"),
    ("bad database url", "database.url", "mysql://db/x", "database.url: unsupported scheme 'mysql'"),
    ("cluster on sqlite", "cluster", {"node_id": "a"}, "cluster: needs database.url on PostgreSQL"),
]


@pytest.mark.parametrize(
    ("dotted", "value", "expected"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS]
)
def test_bad_config_names_its_key_path(
    tmp_path: Path,
    minimal: dict[str, Any],
    model_path: Path,
    labelmap_path: Path,
    default_model_dir: Path,
    dotted: str,
    value: Any,
    expected: str,
) -> None:
    expected = expected.replace("DEFAULTS", str(default_model_dir))  # Frigate 0.8's "/", in the test's folder
    if isinstance(value, dict | str):  # placeholders for the shared files
        text = json.dumps(value).replace("MODEL", str(model_path)).replace("LABELMAP", str(labelmap_path))
        value = json.loads(text)
    _set(minimal, dotted, value)
    problems = problems_of(tmp_path, minimal)
    assert any(p.startswith(expected) for p in problems), problems


def test_cluster_on_postgresql_loads(tmp_path: Path, minimal: dict[str, Any]) -> None:
    data = copy.deepcopy(minimal)
    _set(data, "cluster", {"node_id": "a", "url": "http://10.0.0.5:5000"})
    _set(data, "database.url", "postgresql://frigate@db/frigate")
    _set(data, "mqtt.port", "abc")  # one other problem: the cluster section is not among them
    assert [p for p in problems_of(tmp_path, data) if not p.startswith("mqtt.port")] == []


def test_every_problem_is_collected(tmp_path: Path, minimal: dict[str, Any]) -> None:
    data = copy.deepcopy(minimal)
    _set(data, "model.path", "missing.tflite")
    _set(data, "mqtt.port", "abc")
    _set(data, "cameras.back.zones.z.coordinates", "1,2,3,4")
    _set(data, "cameras.back.clips.enabled", True)
    data["cameras"]["front"] = {
        "ffmpeg": {"inputs": [{"path": "rtsp://x", "roles": ["clips"]}]},
        "width": 640,
        "height": 480,
        "colour": "red",
    }
    data["cameras"]["side"] = {
        "ffmpeg": {"inputs": [{"path": "rtsp://y", "roles": ["record"]}]},
        "width": 640,
    }
    problems = problems_of(tmp_path, data)
    assert problems[:4] == [
        "mqtt.port: expected a whole number, got 'abc' (text)",
        "cameras.back.zones.z.coordinates: a polygon needs at least 3 points, got 2",
        "cameras.front.colour: unknown key (known keys here: best_image_timeout, clips, detect, ffmpeg, fps, "
        "height, motion, mqtt, name, nodes, objects, record, rtmp, snapshots, width, zones)",
        "cameras.side.height: required, but missing",
    ]
    # the cross checks still run on what did validate
    assert f"model.path: file not found: {tmp_path / 'missing.tflite'}" in problems
    assert not any(p.startswith("cameras.back.clips.enabled") for p in problems)  # only a warning
    # (an unknown key drops only itself: the front camera is still checked)
    assert "cameras.front.ffmpeg.inputs: no input has the detect role; exactly one must have it" in problems
    # ... but nothing is said about a camera that failed validation as a whole
    assert not any(p.startswith("cameras.side.ffmpeg") for p in problems)


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("cameras:\n  back:\n    width: 1280\n   height: 720\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    [problem] = info.value.problems
    assert problem.startswith(f"{path}: YAML syntax error at line 4, column 4")


def test_duplicate_yaml_key_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("mqtt:\n  host: a\n  host: b\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [f"{path}: line 3, column 3: duplicate key 'host'"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("- a\n- b\n", "(top level): expected a mapping"), ("3\n", "(top level): expected a mapping")],
)
def test_non_mapping_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "config.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems[0].startswith(expected)


def test_missing_file_is_a_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yml")
    assert info.value.problems == [f"{tmp_path / 'nope.yml'}: config file not found"]


def test_format_problems_lists_each_problem() -> None:
    text = format_problems(ConfigError(["a.b: one", "c: two"]), "config.yml")
    assert text == "2 problems in config.yml:\n  - a.b: one\n  - c: two"


# -- resolution --------------------------------------------------------------------------------


def test_filters_merge_global_under_camera_field_by_field(tmp_path: Path, minimal: dict[str, Any]) -> None:
    minimal["objects"] = {
        "track": ["person", "car"],
        "filters": {"person": {"min_area": 100, "threshold": 0.8}, "car": {"min_score": 0.6}},
    }
    minimal["cameras"]["back"]["objects"] = {"filters": {"person": {"min_area": 5000, "mask": "0,0,9,0,9,9"}}}
    cam = load_config(write(tmp_path, minimal)).cameras["back"]
    assert cam.objects.track == ["person", "car"]
    person = cam.objects.filters["person"]
    assert (person.min_area, person.threshold, person.min_score) == (5000, 0.8, 0.5)
    assert person.max_area == 24_000_000
    assert person.mask == [[(0, 0), (9, 0), (9, 9)]]
    assert cam.objects.filters["car"].min_score == 0.6


def test_every_tracked_label_gets_a_filter(tmp_path: Path, minimal: dict[str, Any]) -> None:
    minimal["cameras"]["back"]["objects"] = {"track": ["dog", "stop sign"]}
    cam = load_config(write(tmp_path, minimal)).cameras["back"]
    assert set(cam.objects.filters) >= {"dog", "stop sign"}
    assert cam.objects.filters["dog"].threshold == 0.7


def test_max_disappeared_and_frame_height_defaults(tmp_path: Path, minimal: dict[str, Any]) -> None:
    minimal["cameras"]["back"]["fps"] = 7
    minimal["cameras"]["side"] = copy.deepcopy(minimal["cameras"]["back"])
    minimal["cameras"]["side"]["detect"] = {"max_disappeared": 3}
    minimal["cameras"]["side"]["motion"] = {"frame_height": 100}
    cfg = load_config(write(tmp_path, minimal))
    assert cfg.cameras["back"].detect.max_disappeared == 35
    assert cfg.cameras["back"].motion.frame_height == 120
    assert cfg.cameras["side"].detect.max_disappeared == 3
    assert cfg.cameras["side"].motion.frame_height == 100

    minimal["detect"] = {"max_disappeared": 11}
    minimal["motion"] = {"frame_height": 90, "threshold": 40}
    cfg = load_config(write(tmp_path, minimal))
    assert cfg.cameras["back"].detect.max_disappeared == 11
    assert (cfg.cameras["back"].motion.frame_height, cfg.cameras["back"].motion.threshold) == (90, 40)
    assert cfg.cameras["side"].motion.frame_height == 100


def test_ffmpeg_args_resolve_input_then_camera_then_global(tmp_path: Path, minimal: dict[str, Any]) -> None:
    minimal["ffmpeg"] = {
        "global_args": "-hide_banner",
        "hwaccel_args": "-hwaccel vaapi",
        "output_args": {"rtmp": "-f flv"},
    }
    camera = minimal["cameras"]["back"]
    camera["ffmpeg"]["hwaccel_args"] = ["-hwaccel", "qsv"]
    camera["ffmpeg"]["output_args"] = {"detect": "-f rawvideo -pix_fmt yuv420p -vf 'scale=640:360'"}
    camera["ffmpeg"]["inputs"].append({"path": "rtsp://cam/main", "roles": ["clips"], "global_args": None})
    camera["ffmpeg"]["inputs"][0]["global_args"] = "-loglevel error"
    cam = load_config(write(tmp_path, minimal)).cameras["back"]
    first, second = cam.ffmpeg.inputs
    assert first.global_args == ["-loglevel", "error"]
    assert second.global_args == ["-hide_banner"]
    assert first.hwaccel_args == second.hwaccel_args == ["-hwaccel", "qsv"]
    assert first.input_args[0] == "-avoid_negative_ts"
    detect = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-vf", "scale=640:360"]
    assert cam.ffmpeg.output_args["detect"] == detect
    assert cam.ffmpeg.output_args["rtmp"] == ["-f", "flv"]
    assert cam.ffmpeg.output_args["clips"][:2] == ["-f", "segment"]
    assert set(cam.ffmpeg.output_args) == {"detect", "record", "clips", "rtmp"}


def test_clips_retain_and_record_inherit_globals(tmp_path: Path, minimal: dict[str, Any]) -> None:
    minimal["clips"] = {"max_seconds": 120, "retain": {"default": 5, "objects": {"car": 1, "person": 2}}}
    minimal["record"] = {"retain_days": 3}
    minimal["cameras"]["back"]["clips"] = {"retain": {"objects": {"person": 20}}}
    cam = load_config(write(tmp_path, minimal)).cameras["back"]
    assert cam.clips.max_seconds == 120
    assert cam.clips.retain.default == 5
    assert cam.clips.retain.objects == {"car": 1, "person": 20}
    assert (cam.record.enabled, cam.record.retain_days) == (False, 3)
    assert cam.clips.objects is None


def test_record_keeps_audio_by_default_and_min_free_mb_is_global(tmp_path: Path, minimal: dict[str, Any]) -> None:
    cfg = load_config(write(tmp_path, minimal))
    record = cfg.cameras["back"].ffmpeg.output_args["record"]
    assert "-an" not in record and record[-4:] == ["-c:v", "copy", "-c:a", "aac"]
    assert cfg.record.min_free_mb == 1024
    minimal["record"] = {"min_free_mb": 50, "retain_days": 2}
    cfg = load_config(write(tmp_path, minimal))
    assert (cfg.record.min_free_mb, cfg.cameras["back"].record.retain_days) == (50, 2)
    assert not hasattr(cfg.cameras["back"].record, "min_free_mb")
    minimal["cameras"]["back"]["record"] = {"min_free_mb": 10}
    assert any(p.startswith("cameras.back.record.min_free_mb") for p in problems_of(tmp_path, minimal))


def test_frigate_08_record_args_still_mean_no_audio(frigate08: Path) -> None:
    record = load_config(frigate08, env=ENV).cameras["back"].ffmpeg.output_args["record"]
    assert record[-3:] == ["-c", "copy", "-an"]  # what the user wrote is what ffmpeg gets


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path, minimal: dict[str, Any]) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    minimal["paths"] = {"media_dir": "media", "cache_dir": "../cache", "recordings_roots": ["rec"]}
    minimal["cameras"]["back"]["ffmpeg"]["inputs"][0]["path"] = "clips/in.mp4"
    cfg = load_config(write(folder, minimal))
    assert cfg.paths.media_dir == folder / "media"
    assert cfg.paths.cache_dir == tmp_path / "cache"
    assert cfg.paths.recordings_roots == [folder / "rec"]
    assert cfg.paths.state_dir == folder / "media"  # unset: the media folder
    assert cfg.database.path == folder / "media" / "clips" / "frigate.db"
    assert cfg.cameras["back"].ffmpeg.inputs[0].path == str(folder / "clips" / "in.mp4")

    minimal["database"] = {"path": "db/events.db"}
    minimal["paths"]["state_dir"] = "state"
    cfg = load_config(write(folder, minimal))
    assert (cfg.database.path, cfg.paths.state_dir) == (folder / "db" / "events.db", folder / "state")


def test_relative_model_paths(tmp_path: Path, minimal: dict[str, Any], model_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "labels.txt").write_text("0 person\n1 bicycle\n")
    (tmp_path / "models" / "m.tflite").symlink_to(model_path)
    minimal["model"] = {"path": "models/m.tflite", "labelmap_path": "models/labels.txt", "width": 300, "height": 300}
    cfg = load_config(write(tmp_path, minimal))
    assert cfg.model.path == tmp_path / "models" / "m.tflite"
    assert cfg.model.labelmap == {0: "person", 1: "bicycle"}


def test_defaults(tmp_path: Path, minimal: dict[str, Any]) -> None:
    cfg = load_config(write(tmp_path, minimal))
    assert cfg.mqtt.enabled and cfg.mqtt.host == "127.0.0.1" and cfg.mqtt.port == 1883
    assert (cfg.http.host, cfg.http.port, cfg.http.api_token) == ("0.0.0.0", 5000, None)
    # One single-threaded cpu detector per two cores (1 on the 2-core CI machine), named cpu, cpu1, ...
    names = ["cpu", *(f"cpu{i}" for i in range(1, default_detector_count()))]
    assert list(cfg.detectors) == names
    assert all((d.type, d.num_threads, d.device) == ("cpu", 1, None) for d in cfg.detectors.values())
    assert cfg.database.path == Path("/media/frigate/clips/frigate.db")
    assert cfg.paths.cache_dir == Path("/tmp/cache")
    cam = cfg.cameras["back"]
    assert (cam.fps, cam.best_image_timeout) == (5, 60)
    assert cam.objects.track == ["person"]
    assert cam.detect.enabled and cam.detect.max_disappeared == 25
    assert not cam.clips.enabled and not cam.record.enabled and cam.rtmp.enabled
    assert cam.mqtt.height == 270


def test_config_pickles_for_child_processes(minimal: dict[str, Any]) -> None:
    cfg = config_from_dict(minimal)
    copy_ = pickle.loads(pickle.dumps(cfg))
    assert copy_ == cfg
    assert copy_.cameras["back"].motion.frame_height == 120


def test_config_from_dict_without_a_file(minimal: dict[str, Any]) -> None:
    cfg = config_from_dict(minimal, base_dir="/srv/nvr")
    assert cfg.cameras["back"].name == "back"
    assert cfg.model.labelmap[2] == "car"


# -- /api/config -------------------------------------------------------------------------------


def test_public_dict_masks_secrets(frigate08: Path) -> None:
    cfg = load_config(frigate08, env=ENV)
    cfg.http.api_token = "tok-123"
    cfg.database.url = "postgresql://frigate:dbpass@127.0.0.1:5432/test"
    public = to_public_dict(cfg)
    text = json.dumps(public)
    for secret in ("s3cret", "mq-pass", "tok-123", "dbpass"):
        assert secret not in text
    assert public["cameras"]["back"]["ffmpeg"]["inputs"][0]["path"].startswith(
        "rtsp://viewer:*****@10.0.10.10:554/"
    )
    assert public["mqtt"]["password"] == "*****"
    assert public["mqtt"]["user"] == "mqtt_user"
    assert public["http"]["api_token"] == "*****"
    assert public["database"]["url"] == "postgresql://frigate:*****@127.0.0.1:5432/test"
    # the config itself is untouched
    assert cfg.mqtt.password == "mq-pass"


def test_public_dict_has_frigate_08_shapes(frigate08: Path) -> None:
    """Frigate 0.8.4's to_dict(): zones as written, masks as strings, frame_shape, whole days."""
    back = to_public_dict(load_config(frigate08, env=ENV))["cameras"]["back"]
    assert back["zones"]["street"]["coordinates"] == ["0,0", "1280,0", "1280,100"]
    assert back["zones"]["front_steps"]["coordinates"] == "545,1077,747,939,788,805"
    assert back["frame_shape"] == [720, 1280]
    assert back["motion"]["mask"] == ["0,900,1080,900,1080,1920,0,1920", "0,0,300,0,300,100"]
    assert back["objects"]["mask"] == "0,0,1000,0,1000,200,0,200"
    assert back["objects"]["filters"]["person"]["mask"] is None
    assert back["clips"]["retain"] == {"default": 10, "objects": {"person": 15}}
    assert isinstance(back["clips"]["retain"]["default"], int)
    assert back["snapshots"]["height"] == 175 and back["mqtt"]["height"] == 270
    assert back["detect"] == {"enabled": True, "max_disappeared": 25}


# -- shared memory -----------------------------------------------------------------------------


def test_shm_bytes_needed(minimal: dict[str, Any]) -> None:
    minimal["cameras"]["side"] = copy.deepcopy(minimal["cameras"]["back"])
    minimal["cameras"]["side"].update(width=640, height=480)
    cfg = config_from_dict(minimal)
    assert shm_bytes_needed(cfg, 10) == 10 * (1280 * 720 + 640 * 480) * 3 // 2


def test_check_shm_fails_when_too_small(tmp_path: Path, minimal: dict[str, Any]) -> None:
    minimal["cameras"]["back"].update(width=16384, height=16384)  # 384 MiB a frame
    cfg = config_from_dict(minimal)
    with pytest.raises(ConfigError) as info:
        check_shm(cfg, 100_000, shm_path=tmp_path)  # 37 TiB of ring
    [problem] = info.value.problems
    assert problem.startswith("shared memory: 1 camera(s) need ")
    assert f"but {tmp_path} has only" in problem


def test_check_shm_passes_when_room_or_nothing_to_measure(tmp_path: Path, minimal: dict[str, Any]) -> None:
    minimal["cameras"]["back"].update(width=64, height=48)
    cfg = config_from_dict(minimal)
    check_shm(cfg, 2, shm_path=tmp_path)
    check_shm(cfg, 2, shm_path=tmp_path / "absent")


def test_shared_memory_is_checked_with_the_config_when_asked(minimal: dict[str, Any]) -> None:
    minimal["cameras"]["back"].update(width=16384, height=16384)  # the largest size check_ranges allows
    config_from_dict(minimal)  # without ring_slots the host is not looked at
    with pytest.raises(ConfigError) as info:
        config_from_dict(minimal, ring_slots=1000)  # 1000 frames of 384 MiB: more than any /dev/shm
    assert [p for p in info.value.problems if p.startswith("shared memory: 1 camera(s) need ")]


def test_model_size_left_unset_is_the_model_files(tmp_path: Path, model_path: Path, labelmap_path: Path) -> None:
    """Frigate 0.8's 320x320 default named its own model; unset, the size is what the file takes."""
    text = f"model: {{path: {model_path}, labelmap_path: {labelmap_path}}}\n"
    (tmp_path / "config.yml").write_text(text)
    cfg = load_config(tmp_path / "config.yml")
    assert (cfg.model.width, cfg.model.height) == (300, 300)
    (tmp_path / "config.yml").write_text(text.replace("}\n", ", width: 320}\n"))
    with pytest.raises(ConfigError, match="320x320 configured but ssd_mobilenet_v1_coco_quant.tflite takes 300x300"):
        load_config(tmp_path / "config.yml")


def test_an_empty_file_is_every_default(tmp_path: Path) -> None:
    (tmp_path / "config.yml").write_text("")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "config.yml")
    # only what the container image provides is missing; no cameras is fine (groups may add them)
    assert [p.split(":")[0] for p in info.value.problems] == ["model.path", "model.labelmap_path"]


@pytest.mark.parametrize(
    ("content", "expected"), [(b"0 person\n", "not a .tflite model"), (None, "truncated or damaged")]
)
def test_model_file_that_is_not_a_model(
    tmp_path: Path, model_path: Path, content: bytes | None, expected: str
) -> None:
    from frigate_like.detect.tflite_file import input_shape
    from frigate_like.errors import DetectorUnavailable

    bad = tmp_path / "bad.tflite"
    bad.write_bytes(content if content is not None else model_path.read_bytes()[:64])
    with pytest.raises(DetectorUnavailable, match=expected):
        input_shape(bad)
