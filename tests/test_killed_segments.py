"""A killed clips ffmpeg: its last segment stays readable to the last frame, and a clip across the
hole it leaves says so."""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from pathlib import Path

import pytest

from frigate_like.config import CameraConfig, config_from_dict
from frigate_like.record.clips import ClipCache
from frigate_like.video.binaries import find_ffmpeg, find_ffprobe
from frigate_like.video.ffmpeg import build_command, ffmpeg_env, segment_dir, segment_list_path
from tests.integration.checks import clip_duration

SEGMENT_TIME = 4


def camera(shared_dir: Path) -> CameraConfig:
    raw = {
        "model": {
            "path": str(shared_dir / "models" / "ssd_mobilenet_v1_coco_quant.tflite"),
            "labelmap_path": str(shared_dir / "models" / "coco_labelmap.txt"),
        },
        "cameras": {
            "side": {
                "ffmpeg": {
                    "inputs": [{"path": str(shared_dir / "media" / "one-by-one-person-detection.mp4"),
                                "roles": ["detect", "clips"], "input_args": "-re"}],
                    "output_args": {"clips": f"-f segment -segment_time {SEGMENT_TIME} -segment_format mp4"
                                             " -reset_timestamps 1 -strftime 1 -c copy -an"},
                },
                "width": 768, "height": 432, "fps": 5,
            }
        },
    }  # fmt: skip
    return config_from_dict(raw).cameras["side"]


def run_segmenter(
    cam: CameraConfig, cache: Path, run: str, how: signal.Signals, *, seconds: float = 0.0, into_second: float = 0.0
) -> float:
    """The clips ffmpeg the capture would start, stopped with ``how`` after ``seconds``, or ``into_second`` s
    after its first segment was finished (counted from what ffmpeg wrote, not from its start, which takes
    seconds on a loaded machine); returns when it was stopped (epoch s)."""
    command = build_command(cam, cam.ffmpeg.inputs[0], cache, find_ffmpeg(), run, ["clips"])
    assert command is not None
    segment_dir(cache, cam.name, "clips").mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(command.args, env=ffmpeg_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if into_second:
        listed = segment_list_path(cache, cam.name, "clips", run)  # a line per finished segment
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (listed.exists() and listed.read_text().strip()):
            time.sleep(0.05)
        time.sleep(into_second)
    else:
        time.sleep(seconds)
    stopped_at = time.time()
    proc.send_signal(how)
    proc.wait(10)
    return stopped_at


def test_a_killed_segment_is_readable_and_a_clip_across_the_hole_logs_its_gap(
    shared_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cam = camera(shared_dir)
    cache = tmp_path / "cache"
    killed_at = run_segmenter(cam, cache, "run1", signal.SIGKILL, into_second=SEGMENT_TIME * 0.6)  # mid second
    time.sleep(3)  # the camera is away
    run_segmenter(cam, cache, "run2", signal.SIGTERM, seconds=SEGMENT_TIME * 1.5)
    clips = ClipCache(cache, cam.name, cam.clips, find_ffmpeg(), ffprobe_bin=find_ffprobe(),
                      segment_time=SEGMENT_TIME)  # fmt: skip
    segments = clips.segments()
    assert not clips.index.broken
    first_run = [s for s in segments if s.start < killed_at - 1]
    assert len(first_run) == 2, segments
    assert first_run[1].duration >= SEGMENT_TIME * 0.6 - 1.0  # readable up to (about) the kill

    out = tmp_path / "side-event.mp4"
    with caplog.at_level(logging.WARNING):
        assert clips.make_clip(segments[0].start, segments[-1].end, out)
    gap_lines = [r.getMessage() for r in caplog.records if "has a gap" in r.getMessage()]
    assert len(gap_lines) == 1 and "side-event.mp4" in gap_lines[0], gap_lines
    assert clip_duration(out) >= sum(s.duration for s in segments) - 1.5  # every readable second is in it
