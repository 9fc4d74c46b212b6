"""Offline harness: run motion → regions → detector → tracker over a video file and count the visits.

Decodes the video with ffmpeg at the detect fps (yuv420p on a pipe, like a camera),
runs ``FrameProcessor`` with an in-process LiteRT detector (1 thread) over every frame
as fast as it can, and reports each tracked object, how many became true positives
(a "visit": the median of its last 10 scores reaches the label's ``threshold``, as in
Frigate), detector calls per second of video and the time per frame spent in each
stage. The tracked objects also go through the daemon's lifecycle rules and MQTT
publisher (``CameraObjects`` → ``EventPublisher``), which give the person count a
Home Assistant sensor would show. Figures go to ``bench/results/offline_pipeline.json``.

    .venv/bin/python bench/offline_pipeline.py            # 5 and 10 fps
    .venv/bin/python bench/offline_pipeline.py --fps 5
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from frigate_like.comms import topics  # noqa: E402
from frigate_like.comms.events import EventPublisher  # noqa: E402
from frigate_like.comms.publisher import Payload, Receiver  # noqa: E402
from frigate_like.config import FrigateConfig, load_config  # noqa: E402
from frigate_like.detect.tflite import LiteRTDetector  # noqa: E402
from frigate_like.events.tracked import SCORE_HISTORY, CameraObjects, TrackedObjectProcessor, computed_score  # noqa: E402
from frigate_like.messages import FrameUpdate  # noqa: E402
from frigate_like.motion import MotionDetector  # noqa: E402
from frigate_like.track import frame_processor  # noqa: E402
from frigate_like.track.frame_processor import FrameProcessor  # noqa: E402
from frigate_like.track.regions import intersection, merge_regions, yuv_region_to_rgb  # noqa: E402

SHARED = ROOT.parent / "shared"
VIDEO = SHARED / "media" / "one-by-one-person-detection.mp4"
MODEL = SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite"
LABELMAP = SHARED / "models" / "coco_labelmap.txt"
RESULTS = ROOT / "bench" / "results" / "offline_pipeline.json"


def write_config(folder: Path, video: Path, width: int, height: int, fps: int) -> Path:
    """A config file with one camera reading ``video`` and every tuning value left at its default."""
    path = folder / "config.yml"
    path.write_text(
        f"""
mqtt: {{enabled: false}}
paths: {{media_dir: {folder / "media"}, cache_dir: {folder / "cache"}}}
database: {{path: {folder / "frigate.db"}}}
model: {{path: {MODEL}, labelmap_path: {LABELMAP}, width: 300, height: 300}}
detectors: {{cpu: {{type: cpu, num_threads: 1}}}}
cameras:
  room:
    ffmpeg: {{inputs: [{{path: {video}, roles: [detect]}}]}}
    width: {width}
    height: {height}
    fps: {fps}
""",
        encoding="utf-8",
    )
    return path


def decode_frames(video: Path, fps: int, width: int, height: int) -> Iterator[np.ndarray]:
    """yuv420p frames of ``video`` at ``fps`` (one reused buffer: copy a frame to keep it)."""
    frame = np.empty((height * 3 // 2, width), dtype=np.uint8)
    size = frame.nbytes
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(video)]
    cmd += ["-vf", f"fps={fps},scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as proc:
        stdout = cast(io.BufferedReader, proc.stdout)
        view = frame.data.cast("B")
        try:
            while True:
                got = 0
                while got < size:
                    n = stdout.readinto(view[got:])
                    if not n:
                        return
                    got += n
                yield frame
        finally:
            proc.kill()  # the caller may stop early; ffmpeg would complain of a broken pipe


@dataclass
class TrackSummary:
    id: str
    label: str
    start: float
    end: float
    top_score: float = 0.0  # best median score (Frigate's top_score)
    best_detection: float = 0.0
    detections: int = 0  # frames it was detected in
    detector_calls: int = 0  # detector calls on a region holding it
    true_positive_at: float | None = None
    scores: list[float] = field(default_factory=list, repr=False)

    @property
    def true_positive(self) -> bool:
        return self.true_positive_at is not None


@dataclass
class RunResult:
    fps: int
    frames: int
    video_s: float
    wall_s: float
    detector_calls: int
    refinements: int
    detections_per_s: float  # detector calls per second of video
    busy_s: float  # seconds of video with a person track alive (visits' spans)
    calls_per_busy_s: float  # detector calls per busy second: what a busy camera costs
    first_detection_s: float | None
    motion_us: float  # per frame
    regions_us: float  # per frame: planning + YUV→RGB of the regions
    detect_ms_per_call: float
    track_us: float  # per frame
    visits: int
    tracks: list[TrackSummary]
    # (frame time, count) each time the MQTT person count changed, the first being the 0 said at start
    person_counts: list[tuple[float, int]] = field(default_factory=list)


class CountRecorder:
    """A ``Publisher`` that keeps the ``<camera>/<label>`` counts, with the frame time they were said at."""

    def __init__(self, camera: str, label: str) -> None:
        self.topic = topics.count(camera, label)
        self.frame_time = 0.0  # set by the caller before each frame
        self.said: list[tuple[float, int]] = []

    def publish(self, topic: str, payload: Payload, *, retain: bool = False, backlog: bool = True) -> None:
        if topic == self.topic:
            self.said.append((self.frame_time, int(payload)))

    def subscribe(self, receiver: Receiver) -> None:
        pass

    def forget_retained(self, camera: str) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class _AllSwitchesOn:
    def clips_enabled(self, camera: str) -> bool:
        return True

    def snapshots_enabled(self, camera: str) -> bool:
        return True


def run_pipeline(fps: int, video: Path = VIDEO, width: int = 768, height: int = 432) -> RunResult:
    """Run the whole per-frame pipeline over ``video`` decoded at ``fps``."""
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(write_config(Path(tmp), video, width, height, fps))
    return run_with_config(config, "room", video)


def run_with_config(config: FrigateConfig, camera: str, video: Path) -> RunResult:
    cam = config.cameras[camera]
    detector = LiteRTDetector(config.model, config.detectors["cpu"])
    tensor = np.zeros((config.model.height, config.model.width, 3), dtype=np.uint8)
    processor = FrameProcessor(cam, config.model, lambda: detector.detect_raw(tensor), tensor)
    thresholds = {label: f.threshold for label, f in cam.objects.filters.items()}
    counts = CountRecorder(camera, "person")
    lifecycles = CameraObjects(cam, lambda _slot, _frame_time: None, [])  # no snapshots: no frame copies
    live = TrackedObjectProcessor(updates=None, stop=None)  # only its live_objects
    live.add_camera(lifecycles)
    publisher = EventPublisher(counts, _AllSwitchesOn(), live.live_objects)
    publisher.add_camera(cam)
    lifecycles.add_listener(publisher)
    tracks: dict[str, TrackSummary] = {}
    first_detection: float | None = None
    frames = 0
    started = time.perf_counter()
    for frame in decode_frames(video, cam.fps, cam.width, cam.height):
        frame_time = frames / cam.fps
        frames += 1
        calls_before = processor.detections_run
        objects, motion, regions = processor.process(frame, frame_time)
        counts.frame_time = frame_time
        lifecycles.handle(FrameUpdate(camera, frame_time, 0, objects, motion, regions))
        if first_detection is None and processor.detections_run > calls_before:
            first_detection = frame_time
        for obj in objects:
            summary = tracks.setdefault(obj.id, TrackSummary(obj.id, obj.label, frame_time, frame_time))
            summary.detector_calls += sum(intersection(obj.box, r) >= 0.6 * max(obj.area, 1) for r in regions)
            if not obj.detected:
                continue
            summary.end = frame_time
            summary.detections += 1
            summary.best_detection = max(summary.best_detection, obj.score)
            summary.scores.append(obj.score)
            median = computed_score(summary.scores[-SCORE_HISTORY:])
            summary.top_score = max(summary.top_score, median)
            if summary.true_positive_at is None and median >= thresholds.get(obj.label, 0.7):
                summary.true_positive_at = frame_time
    wall = time.perf_counter() - started
    stats = processor.stats
    video_s = frames / cam.fps
    busy = sum(t.end - t.start + 1 / cam.fps for t in tracks.values() if t.label == "person")
    return RunResult(
        fps=int(cam.fps),
        frames=frames,
        video_s=video_s,
        wall_s=round(wall, 2),
        detector_calls=stats.detections,
        refinements=stats.refinements,
        detections_per_s=round(stats.detections / video_s, 3),
        busy_s=round(busy, 1),
        calls_per_busy_s=round(stats.detections / max(busy, 1e-9), 3),
        first_detection_s=first_detection,
        motion_us=round(stats.motion_s / frames * 1e6, 1),
        regions_us=round(stats.regions_s / frames * 1e6, 1),
        detect_ms_per_call=round(stats.detect_s / max(stats.detections, 1) * 1e3, 2),
        track_us=round(stats.track_s / frames * 1e6, 1),
        visits=sum(t.true_positive and t.label == "person" for t in tracks.values()),
        tracks=list(tracks.values()),
        person_counts=counts.said,
    )


@dataclass
class StageTimes:
    """Per-frame cost of the cheap stages measured alone, on frames already in memory."""

    frames: int
    motion_us: float  # MotionDetector.detect on a 768×432 frame (frame_height 72)
    plan_us: float  # merge_regions for one motion box and one tracked box
    rgb_full_height_us: float  # yuv_region_to_rgb of a 432×432 region into 300×300
    rgb_min_region_us: float  # ... of a 300×300 region


def _best_per_item(fn: Callable[[np.ndarray], object], items: list[np.ndarray], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, (time.perf_counter() - started) / len(items))
    return round(best * 1e6, 1)


def time_stages(video: Path = VIDEO, fps: int = 10, start_s: float = 4.0, frames: int = 200) -> StageTimes:
    """Time motion, region planning and YUV→RGB alone (no decoder or detector competing for the CPU)."""
    with tempfile.TemporaryDirectory() as tmp:
        cam = load_config(write_config(Path(tmp), video, 768, 432, fps)).cameras["room"]
    kept: list[np.ndarray] = []
    for i, frame in enumerate(decode_frames(video, fps, cam.width, cam.height)):
        if i >= start_s * fps:  # the person walks in: motion to find
            kept.append(frame.copy())
        if len(kept) >= frames:
            break
    # Motion is stateful: time one pass per fresh detector, keep the best.
    best_motion = float("inf")
    for _ in range(3):
        motion = MotionDetector(cam.motion, cam.width, cam.height)
        started = time.perf_counter()
        for frame in kept:
            motion.detect(frame)
        best_motion = min(best_motion, (time.perf_counter() - started) / len(kept))
    out = np.empty((300, 300, 3), dtype=np.uint8)
    boxes = [(380, 20, 520, 400), (300, 200, 420, 432)]
    return StageTimes(
        frames=len(kept),
        motion_us=round(best_motion * 1e6, 1),
        plan_us=_best_per_item(lambda _f: merge_regions(boxes, 300, cam.width, cam.height), kept),
        rgb_full_height_us=_best_per_item(lambda f: yuv_region_to_rgb(f, (168, 0, 600, 432), out), kept),
        rgb_min_region_us=_best_per_item(lambda f: yuv_region_to_rgb(f, (300, 100, 600, 400), out), kept),
    )


def report(result: RunResult) -> None:
    print(f"== {result.fps} fps: {result.frames} frames, {result.video_s:.1f} s of video in {result.wall_s} s")
    for t in result.tracks:
        tp = f"TRUE POSITIVE at {t.true_positive_at:6.1f}s" if t.true_positive else "false positive"
        print(
            f"  {t.id:>22} {t.label:<7} {t.start:6.1f}–{t.end:6.1f}s top {t.top_score:.2f} "
            f"(best {t.best_detection:.2f}) detected {t.detections:3d}x, {t.detector_calls:3d} calls  {tp}"
        )
    print(
        f"  visits (person true positives): {result.visits}; detector calls {result.detector_calls} "
        f"({result.refinements} refinements) = {result.detections_per_s} /s of video, "
        f"{result.calls_per_busy_s} per busy second ({result.busy_s} s busy); "
        f"first detection at {result.first_detection_s}s"
    )
    print(f"  MQTT person count: {' '.join(f'{n}@{t:.1f}s' for t, n in result.person_counts)}")
    print(
        f"  per frame: motion {result.motion_us} µs, regions {result.regions_us} µs, "
        f"tracker {result.track_us} µs; detector {result.detect_ms_per_call} ms per call"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--fps", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--out", type=Path, default=RESULTS)
    # What fewer detector calls would cost: the frame processor's pacing, changed for this run only.
    parser.add_argument("--recheck-seconds", type=float, help=f"default {frame_processor.RECHECK_SECONDS}")
    parser.add_argument("--follow-fps", type=float, help=f"default {frame_processor.FOLLOW_FPS}")
    parser.add_argument("--quiet-seconds", type=float, help=f"default {frame_processor.QUIET_SECONDS}")
    args = parser.parse_args(argv)
    if args.recheck_seconds is not None:
        frame_processor.RECHECK_SECONDS = args.recheck_seconds
    if args.follow_fps is not None:
        frame_processor.FOLLOW_FPS = args.follow_fps
    if args.quiet_seconds is not None:
        frame_processor.QUIET_SECONDS = args.quiet_seconds
    pacing = {
        "recheck_seconds": frame_processor.RECHECK_SECONDS,
        "follow_fps": frame_processor.FOLLOW_FPS,
        "quiet_seconds": frame_processor.QUIET_SECONDS,
    }
    print(f"== frame processor pacing: {pacing}")
    results = []
    for fps in args.fps:
        result = run_pipeline(fps, args.video)
        report(result)
        results.append(result)
    stages = time_stages(args.video)
    print(
        f"== stages alone ({stages.frames} frames in memory): motion {stages.motion_us} µs/frame, "
        f"region planning {stages.plan_us} µs, YUV→RGB {stages.rgb_full_height_us} µs (432² region) / "
        f"{stages.rgb_min_region_us} µs (300² region)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "video": args.video.name,
        "pacing": pacing,
        "runs": [asdict(r) for r in results],
        "stages": asdict(stages),
    }
    for run in payload["runs"]:
        for t in run["tracks"]:
            t.pop("scores")
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
