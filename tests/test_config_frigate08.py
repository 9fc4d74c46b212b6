"""A Frigate 0.8 home's config loads unchanged: the configs of its documentation, and what Frigate
0.8.4's own test_config asserts about resolved values, wherever we have the same field."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from frigate_like.config import CameraConfig, FrigateConfig, config_from_dict
from frigate_like.config.sections import MODEL_DIR_ENV
from frigate_like.errors import ConfigError
from frigate_like.video.ffmpeg import build_commands

DOCS: list[dict[str, str]] = yaml.safe_load((Path(__file__).parent / "data" / "frigate08_docs.yml").read_text())[
    "docs"
]
ENV = {"FRIGATE_RTSP_PASSWORD": "pw"}
# Frigate 0.8.4's test_config minimal config
MINIMAL: dict[str, Any] = {
    "mqtt": {"host": "mqtt"},
    "cameras": {
        "back": {
            "ffmpeg": {"inputs": [{"path": "rtsp://10.0.0.1:554/video", "roles": ["detect"]}]},
            "height": 1080,
            "width": 1920,
        }
    },
}


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged into a copy of ``base``, mapping by mapping."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge(out[key], value) if both else copy.deepcopy(value)
    return out


def doc_config(doc: dict[str, str]) -> dict[str, Any]:
    """The documented snippet as a whole config: merged into the minimal one (a camera's section under it)."""
    fragment = yaml.safe_load(doc["yaml"])
    if doc["where"] == "camera":
        fragment = {"cameras": {"back": fragment}}
    return merge(MINIMAL, fragment)


def with_shared_model(data: dict[str, Any], model_path: Path, labelmap_path: Path) -> dict[str, Any]:
    """``data`` with our model where Frigate 0.8's image had its own (so labels are checked too)."""
    out = copy.deepcopy(data)
    out["model"] = {"path": str(model_path), "labelmap_path": str(labelmap_path), "width": 300, "height": 300}
    return out


def load(data: dict[str, Any]) -> tuple[FrigateConfig | None, list[str]]:
    try:
        return config_from_dict(data, env=ENV), []
    except ConfigError as err:
        return None, err.problems


@pytest.mark.parametrize("doc", DOCS, ids=[d["name"] for d in DOCS])
def test_documented_config_loads_unchanged(
    doc: dict[str, str], model_path: Path, labelmap_path: Path, default_model_dir: Path
) -> None:
    data = doc_config(doc)
    _, problems = load(data)
    # what an unchanged Frigate 0.8 config lacks here: the files its container image held
    missing = (
        f"model.path: file not found: {default_model_dir}/",
        f"model.labelmap_path: file not found: {default_model_dir / 'labelmap.txt'}",
    )
    assert problems, "Frigate 0.8's default model files do not exist here"
    assert all(p.startswith(missing) for p in problems), problems
    cfg, problems = load(with_shared_model(data, model_path, labelmap_path))
    assert problems == []
    assert cfg is not None and set(cfg.cameras) == set(data["cameras"])


def test_a_coral_config_without_a_model_section_finds_the_edge_tpu_default(
    default_model_dir: Path, model_path: Path, labelmap_path: Path
) -> None:
    """Frigate 0.8's usual Coral config has no model section: its detector loads edgetpu_model.tflite
    from the default folder (``/`` in our image, which ships SSDLite MobileDet there). The shared CPU
    model stands in for that file: this tests the config's way to it, not the Edge TPU model."""
    data = merge(MINIMAL, {"detectors": {"coral": {"type": "edgetpu", "device": "usb"}}})
    _, problems = load(data)
    assert problems == [
        f"model.path: file not found: {default_model_dir / 'edgetpu_model.tflite'}"
        " (Frigate 0.8's default; set model.path to the .tflite file)",
        f"model.labelmap_path: file not found: {default_model_dir / 'labelmap.txt'}"
        " (Frigate 0.8's default; set model.labelmap_path)",
    ]
    shutil.copyfile(model_path, default_model_dir / "edgetpu_model.tflite")
    shutil.copyfile(labelmap_path, default_model_dir / "labelmap.txt")
    cfg, problems = load(data)
    assert problems == [] and cfg is not None
    assert cfg.model.file_for("edgetpu") == default_model_dir / "edgetpu_model.tflite"
    assert (cfg.model.width, cfg.model.height) == (300, 300)  # the stand-in's input; MobileDet's is 320x320
    assert cfg.model.labelmap[0] == "person"


def test_the_whole_documented_reference_loads(model_path: Path, labelmap_path: Path) -> None:
    """Every top-level section of the docs in one file, with the full camera reference."""
    data: dict[str, Any] = {}
    for doc in DOCS:
        if doc["where"] == "top":
            data = merge(data, yaml.safe_load(doc["yaml"]))
    data["cameras"] = {d["name"]: yaml.safe_load(d["yaml"]) for d in DOCS}["cameras-8"]["cameras"]
    cfg, problems = load(with_shared_model(data, model_path, labelmap_path))
    assert problems == []
    assert cfg is not None
    back = cfg.cameras["back"]
    assert back.zones["front_steps"].coordinates == [(545, 1077), (747, 939), (788, 805)]
    assert back.rtmp.enabled
    # a detector written without a type is an edgetpu in Frigate 0.8, so here too
    assert cfg.detectors["coral"].type == "edgetpu"


def test_clips_on_without_a_clips_input_warns(model_path: Path, labelmap_path: Path) -> None:
    # the documented clips section, switched on, for a camera whose one input has only the detect role
    documented = doc_config(next(d for d in DOCS if d["name"] == "cameras-5"))
    clips = merge(documented, {"cameras": {"back": {"clips": {"enabled": True}}}})
    cfg, _ = load(with_shared_model(clips, model_path, labelmap_path))
    assert cfg is not None and cfg.cameras["back"].clips.enabled
    assert cfg.warnings == [
        "cameras.back.clips.enabled: clips are enabled but no input has the clips role,"
        " so no clip will be saved; add clips to one input's roles"
    ]


def test_no_cameras_is_valid() -> None:
    """Frigate 0.8.4's test_empty: cameras may all come from camera groups at run time."""
    assert FrigateConfig.model_validate({}).cameras == {}
    assert FrigateConfig.model_validate({"mqtt": {"host": "mqtt"}}).cameras == {}


# -- Frigate 0.8.4's frigate/test/test_config.py, value by value ----------------------------------


def camera(**top: Any) -> CameraConfig:
    """``cameras.back`` of the minimal config with ``top`` sections set, resolved."""
    data = copy.deepcopy(MINIMAL)
    cam_sections = top.pop("camera", {})
    data["cameras"]["back"].update(cam_sections)
    data.update(top)
    return FrigateConfig.model_validate(data).cameras["back"]


def test_minimal() -> None:
    cam = camera()
    assert (cam.width, cam.height, cam.fps) == (1920, 1080, 5)
    assert cam.clips.objects is None  # test_clips_should_default_to_global_objects


def test_tracked_objects_inherit_and_override() -> None:
    assert "dog" in camera(objects={"track": ["person", "dog"]}).objects.track
    assert "cat" in camera(objects={"track": ["person", "dog"]}, camera={"objects": {"track": ["cat"]}}).objects.track


def test_object_filters_default_inherit_and_override() -> None:
    assert "dog" in camera(objects={"track": ["person", "dog"]}).objects.filters
    inherited = camera(objects={"track": ["person", "dog"], "filters": {"dog": {"threshold": 0.7}}})
    assert inherited.objects.filters["dog"].threshold == 0.7
    overridden = camera(camera={"objects": {"track": ["person", "dog"], "filters": {"dog": {"threshold": 0.7}}}})
    assert overridden.objects.filters["dog"].threshold == 0.7


def test_global_object_mask() -> None:
    """0.8.4 folds the camera's objects mask into each filter's; here they stay apart and both apply."""
    cam = camera(
        objects={"track": ["person", "dog"]},
        camera={"objects": {"mask": "0,0,1,1,0,1", "filters": {"dog": {"mask": "1,1,1,1,1,1"}}}},
    )
    assert "dog" in cam.objects.filters
    assert len(cam.objects.mask) + len(cam.objects.filters["dog"].mask) == 2
    assert len(cam.objects.mask) + len(cam.objects.filters["person"].mask) == 1


@pytest.mark.parametrize("where", ["global", "camera", "input"])
def test_ffmpeg_params(where: str, tmp_path: Path) -> None:
    inp: dict[str, Any] = {"path": "rtsp://10.0.0.1:554/video", "roles": ["detect"]}
    ffmpeg: dict[str, Any] = {"inputs": [inp]}
    top: dict[str, Any] = {"camera": {"ffmpeg": ffmpeg}}
    if where == "global":
        top["ffmpeg"] = {"input_args": ["-re"]}
    elif where == "camera":
        ffmpeg["input_args"] = ["-re"]
    else:
        inp["input_args"] = ["-re"]
    [command] = build_commands(camera(**top), tmp_path, "ffmpeg", "run")
    assert "-re" in command.args


def test_inherit_clips_retention() -> None:
    cam = camera(clips={"retain": {"default": 20, "objects": {"person": 30}}})
    assert cam.clips.retain.objects["person"] == 30
    assert cam.clips.retain.default == 20


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"ffmpeg": {"inputs": [{"path": "a", "roles": ["detect"]}, {"path": "b", "roles": ["detect"]}]}},
            "cameras.back.ffmpeg.inputs.1.roles: the detect role is already on input 0",
        ),
        ({"zones": {"back": {"coordinates": "1,1,1,1,1,1"}}}, "cameras.back.zones.back: a zone may not have the name"),
    ],
    ids=["role listed twice", "zone named like the camera"],
)
def test_rejected_as_in_frigate_08(
    change: dict[str, Any], expected: str, model_path: Path, labelmap_path: Path
) -> None:
    data = copy.deepcopy(MINIMAL)
    data["cameras"]["back"].update(change)
    _, problems = load(with_shared_model(data, model_path, labelmap_path))
    assert any(p.startswith(expected) for p in problems), problems


def test_role_assigned_but_not_enabled(tmp_path: Path) -> None:
    inputs = [
        {"path": "rtsp://10.0.0.1:554/video", "roles": ["detect", "rtmp"]},
        {"path": "rtsp://10.0.0.1:554/record", "roles": ["record"]},
    ]
    commands = build_commands(camera(camera={"ffmpeg": {"inputs": inputs}}), tmp_path, "ffmpeg", "run")
    # the record input has nothing to do (record is off); the first one: detect and rtmp, one ffmpeg
    assert [command.roles for command in commands] == [("detect", "rtmp")]


def test_defaults_as_frigate_08(monkeypatch: pytest.MonkeyPatch) -> None:
    """The values Frigate 0.8.4's config classes fill in, for every field we share."""
    monkeypatch.delenv(MODEL_DIR_ENV)  # the model files' real defaults (only named here, never read)
    cfg = FrigateConfig.model_validate(MINIMAL)
    cam = cfg.cameras["back"]
    assert (cfg.mqtt.port, cfg.mqtt.topic_prefix, cfg.mqtt.client_id, cfg.mqtt.stats_interval) == (
        1883, "frigate", "frigate", 60
    )  # fmt: skip
    assert cfg.database.path == Path("/media/frigate/clips/frigate.db")
    assert (cfg.model.width, cfg.model.height, cfg.model.labelmap_path) == (320, 320, Path("/labelmap.txt"))
    assert cfg.model.file_for("cpu") == Path("/cpu_model.tflite")
    assert cfg.model.file_for("edgetpu") == Path("/edgetpu_model.tflite")
    assert cfg.logger.default == "info" and cfg.clips.max_seconds == 300 and cfg.clips.retain.default == 10
    assert (cam.fps, cam.best_image_timeout) == (5, 60)
    assert (cam.clips.enabled, cam.clips.pre_capture, cam.clips.post_capture, cam.clips.objects) == (False, 5, 5, None)
    assert (cam.record.enabled, cam.record.retain_days) == (False, 30)
    assert cam.rtmp.enabled is True
    snapshots = cam.snapshots
    assert (snapshots.enabled, snapshots.timestamp, snapshots.bounding_box, snapshots.crop, snapshots.height) == (
        False, False, False, False, None
    )  # fmt: skip
    mqtt = cam.mqtt
    assert (mqtt.enabled, mqtt.timestamp, mqtt.bounding_box, mqtt.crop, mqtt.height) == (True, True, True, True, 270)
    motion = cam.motion
    assert (motion.threshold, motion.contour_area, motion.delta_alpha, motion.frame_alpha) == (25, 100, 0.2, 0.2)
    assert motion.frame_height == 1080 // 6 and motion.mask == []
    assert (cam.detect.enabled, cam.detect.max_disappeared) == (True, 5 * 5)
    person = cam.objects.filters["person"]
    assert (person.min_area, person.max_area, person.threshold, person.min_score) == (0, 24_000_000, 0.7, 0.5)
    assert cam.objects.track == ["person"] and cam.zones == {}
