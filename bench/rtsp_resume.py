"""How long frames take to resume after a network camera comes back, and where that time goes.

Two parts, both against GStreamer's RTSP server (``tests/rtsp_server.py``, the person video:
H.264 768x432 at 10 fps, a key frame every 1 s like a typical camera, sent as it is):

- ``ffmpeg``: the daemon's detect ffmpeg alone against a server started just before it, per
  set of extra input args: the time of an RTSP DESCRIBE on a fresh server (the server preparing
  its media) and from starting ffmpeg to its first raw frame on stdout (process start, RTSP
  handshake, stream analysis, decoding up to the first frame).
- ``relay``: the same detect ffmpeg against a camera started just before it, read directly and through
  the daemon's RTSP restream server (``restream/gst_server.py``, the relay opening the camera at the
  reader's DESCRIBE, as after an outage), alternating: ffmpeg start → first raw frame.
- ``daemon``: ``frigate-like run`` on the RTSP camera; the server is killed and started again
  ``--outages`` times (down ``--down`` s, jittered so the return falls anywhere in the probe
  cycle). Per outage, counted from the moment the server is ready again: when the daemon
  started the detect ffmpeg that delivered (its debug log line) and when ``/api/demo/latest.jpg``
  changed; ``ffmpeg_launches_while_down`` counts the ffmpegs started (reconnects) while it was down,
  ``restream_clients`` the daemon's readers on its restream once frames are back (0: read directly).
  The restream is on, as by default; ``--direct`` turns it off (every ffmpeg opens the camera).

    PYTHONPATH=. nice -n 5 .venv/bin/python bench/rtsp_resume.py --outages 5

Writes bench/results/rtsp_resume.json and prints the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import re
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from frigate_like.config import config_from_dict  # noqa: E402
from frigate_like.config.ffmpeg import DEFAULT_INPUT_ARGS  # noqa: E402
from frigate_like.video.binaries import find_ffmpeg  # noqa: E402
from frigate_like.video.ffmpeg import build_command, ffmpeg_env  # noqa: E402
from tests.integration.daemon import SHARED, Daemon, demo_config, free_port  # noqa: E402

PERSON = SHARED / "media" / "one-by-one-person-detection.mp4"
RTSP_SERVER = REPO / "tests" / "rtsp_server.py"
RELAY_SERVER = REPO / "frigate_like" / "restream" / "gst_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"  # python3-gi lives in the system python, not in the venv
OPTION_SETS = {  # input args of the ffmpeg part added to Frigate 0.8's default input args
    "defaults (before)": "",
    "fpsprobesize 0 (the daemon now)": "-fpsprobesize 0",
    "analyzeduration 0.5 s": "-analyzeduration 500000",
    "probesize 32": "-probesize 32",
}
LAUNCH = re.compile(r"^(\S+ \S+) DEBUG +ffmpeg\.demo: starting ffmpeg for demo: (.*)$")


def lscpu_model() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


@contextlib.contextmanager
def rtsp_server(port: int) -> Iterator[float]:
    """The person video at rtsp://127.0.0.1:<port>/cam; yields the epoch time it said ready."""
    proc = subprocess.Popen([SYSTEM_PYTHON, str(RTSP_SERVER), str(port), str(PERSON)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != b"ready":
        proc.kill()
        proc.wait()
        raise SystemExit("no GStreamer RTSP server (python3-gi with GstRtspServer)")
    try:
        yield time.time()
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def describe_seconds(port: int) -> float:
    """One RTSP DESCRIBE round trip (a fresh server builds its media pipeline here)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        url = f"rtsp://127.0.0.1:{port}/cam"
        sock.sendall(f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n".encode())
        reply = sock.recv(4096)
    assert reply.startswith(b"RTSP/1.0 200"), reply[:80]
    return time.monotonic() - started


def detect_command(port: int, extra: str) -> list[str]:
    """The daemon's detect ffmpeg for the RTSP camera with the default input args, its own
    ``-fpsprobesize 0`` taken out and ``extra`` put in before ``-i``."""
    raw: dict[str, Any] = {
        "model": {
            "path": str(SHARED / "models" / "ssd_mobilenet_v1_coco_quant.tflite"),
            "labelmap_path": str(SHARED / "models" / "coco_labelmap.txt"),
        },
        "cameras": {
            "demo": {
                "ffmpeg": {"inputs": [{"path": f"rtsp://127.0.0.1:{port}/cam", "roles": ["detect"]}]},
                "width": 768,
                "height": 432,
                "fps": 5,
            }
        },
    }
    cam = config_from_dict(raw).cameras["demo"]
    command = build_command(cam, cam.ffmpeg.inputs[0], Path(tempfile.gettempdir()), find_ffmpeg(), "b", ("detect",))
    assert command is not None
    args = list(command.args)
    if "-fpsprobesize" in args:
        del args[args.index("-fpsprobesize") : args.index("-fpsprobesize") + 2]
    at = args.index("-i")
    return [*args[:at], *shlex.split(extra), *args[at:]]


def first_frame_seconds(args: list[str], frame_size: int) -> float:
    started = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ffmpeg_env())
    assert proc.stdout is not None
    try:
        got = 0
        while got < frame_size:
            chunk = proc.stdout.read(frame_size - got)
            if not chunk:
                raise RuntimeError(f"ffmpeg ended before its first frame: {shlex.join(args)}")
            got += len(chunk)
        return time.monotonic() - started
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def ffmpeg_part(repeat: int) -> list[dict[str, Any]]:
    rows = []
    for name, extra in OPTION_SETS.items():
        describe, first = [], []
        for _ in range(repeat):
            port = free_port()
            with rtsp_server(port):
                describe.append(describe_seconds(port))
            port = free_port()
            with rtsp_server(port):
                first.append(first_frame_seconds(detect_command(port, extra), 768 * 432 * 3 // 2))
        row: dict[str, Any] = {
            "options": name,
            "command": shlex.join(detect_command(0, extra)),
            "describe_s": _stats(describe),
            "ffmpeg_to_first_frame_s": _stats(first),
        }
        frame = row["ffmpeg_to_first_frame_s"]
        print(f"{name:<32} DESCRIBE {row['describe_s']['median']:.3f} s   ffmpeg start → first frame "
              f"{frame['median']:.3f} s (min {frame['min']:.3f}, max {frame['max']:.3f})")  # fmt: skip
        rows.append(row)
    return rows


@contextlib.contextmanager
def relay_server(port: int, camera_url: str) -> Iterator[str]:
    """The daemon's restream server relaying ``camera_url`` at ``/cam``; yields the URL to read."""
    proc = subprocess.Popen([SYSTEM_PYTHON, str(RELAY_SERVER), "127.0.0.1", str(port)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        if not json.loads(proc.stdout.readline() or "{}").get("ready"):
            raise SystemExit("the restream server did not start (python3-gi with GstRtspServer)")
        proc.stdin.write(json.dumps({"op": "add", "mount": "/cam", "url": camera_url}) + "\n")
        proc.stdin.flush()
        time.sleep(0.3)  # the command is read; the camera is opened at the first DESCRIBE
        yield f"rtsp://127.0.0.1:{port}/cam"
    finally:
        proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()


def relay_part(repeat: int) -> dict[str, Any]:
    """The daemon's detect ffmpeg (``-fpsprobesize 0``) on a fresh camera: directly, then through the relay."""
    frame_size = 768 * 432 * 3 // 2
    direct, relayed = [], []
    for _ in range(repeat):
        port = free_port()
        with rtsp_server(port):
            direct.append(first_frame_seconds(detect_command(port, "-fpsprobesize 0"), frame_size))
        port = free_port()
        with rtsp_server(port), relay_server(free_port(), f"rtsp://127.0.0.1:{port}/cam") as url:
            args = detect_command(port, "-fpsprobesize 0")
            args[args.index(f"rtsp://127.0.0.1:{port}/cam")] = url
            relayed.append(first_frame_seconds(args, frame_size))
    rows = {"direct": _stats(direct), "through the restream": _stats(relayed)}
    for name, row in rows.items():
        print(f"{name:<22} ffmpeg start → first frame {row['median']:.3f} s (min {row['min']:.3f}, "
              f"max {row['max']:.3f})")  # fmt: skip
    return rows


def _stats(values: list[float]) -> dict[str, Any]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "all": [round(v, 3) for v in values]}  # fmt: skip


def launches(log: str) -> list[float]:
    """Epoch times at which the daemon started a detect ffmpeg (its debug line)."""
    times = []
    for line in log.splitlines():
        match = LAUNCH.match(line)
        if match and match.group(2).rstrip().endswith("pipe:"):
            times.append(datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp())
    return times


def daemon_part(
    outages: int, down: float, seed: int, tmp: Path, extra_input_args: str, *, direct: bool = False
) -> list[dict[str, Any]]:
    port = free_port()
    cfg = demo_config(tmp, loop=False, fps=5)
    cfg["restream"]["enabled"] = not direct
    inp = cfg["cameras"]["demo"]["ffmpeg"]["inputs"][0]
    inp["path"] = f"rtsp://127.0.0.1:{port}/cam"
    # the defaults (Frigate 0.8's RTSP args), plus e.g. "-fpsprobesize 20": ffmpeg's own analysis, as before
    inp["input_args"] = f"{DEFAULT_INPUT_ARGS} {extra_input_args}".strip()
    cfg["logger"] = {"default": "info", "logs": {"ffmpeg.demo": "debug"}}
    daemon = Daemon(tmp, cfg, env={"PYTHONPATH": str(REPO)})
    rng = random.Random(seed)

    def stats() -> dict[str, Any]:
        return dict(daemon.get_json("/api/stats")["demo"])

    def latest() -> bytes:
        return daemon.get("/api/demo/latest.jpg")

    rows: list[dict[str, Any]] = []
    try:
        with rtsp_server(port):
            daemon.start()
            daemon.wait_for(lambda: stats()["camera_fps"] > 0, 60, what="frames")
        for _ in range(outages):
            down_for = down + rng.uniform(0.0, 3.0)
            at_kill = int(stats()["reconnects_last_hour"])
            time.sleep(down_for)
            stalled, at_return = latest(), int(stats()["reconnects_last_hour"])
            with rtsp_server(port) as back_at:
                latest_at = daemon.wait_for(lambda old=stalled: latest() != old and time.time(), 60, 0.05, "frames")
                started = [t for t in launches(daemon.log()) if t <= latest_at]
                launched = started[-1] if started else back_at
            row = {
                "down_s": round(down_for, 1),
                "launch_after_return_s": round(max(0.0, launched - back_at), 3),
                "launch_to_latest_jpg_s": round(latest_at - launched, 3),
                "resume_s": round(latest_at - back_at, 3),
                "ffmpeg_launches_while_down": at_return - at_kill,
                "restream_clients": int(stats().get("restream_clients", 0)),
            }
            print("  ".join(f"{k} {v}" for k, v in row.items()), flush=True)
            rows.append(row)
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.terminate()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outages", type=int, default=5)
    parser.add_argument("--down", type=float, default=6.0, help="s the camera stays down (plus 0-3 s of jitter)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per option set in the ffmpeg part")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--parts", nargs="+", choices=("ffmpeg", "relay", "daemon"), default=["ffmpeg", "daemon"])
    parser.add_argument("--direct", action="store_true", help="daemon part: restream off, cameras read directly")
    parser.add_argument("--label", default="", help="a note stored with the figures (e.g. before/after)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "rtsp_resume.json")
    parser.add_argument("--extra-input-args", default="", help="daemon part: after the default input args")
    parser.add_argument("--keep", type=Path, help="run the daemon in this (new) folder and keep its log")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": {"cpu": lscpu_model(), "cores": os.cpu_count(), "load_before": os.getloadavg()},
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    if "ffmpeg" in args.parts:
        report["ffmpeg"] = ffmpeg_part(args.repeat)
    if "relay" in args.parts:
        report["relay"] = relay_part(args.repeat)
    if "daemon" in args.parts:
        if args.keep:
            args.keep.mkdir(parents=True)
            outages = daemon_part(args.outages, args.down, args.seed, args.keep, args.extra_input_args,
                                  direct=args.direct)  # fmt: skip
        else:
            with tempfile.TemporaryDirectory(prefix="rtsp-resume-") as tmp:
                outages = daemon_part(args.outages, args.down, args.seed, Path(tmp), args.extra_input_args,
                                      direct=args.direct)  # fmt: skip
        resume = [o["resume_s"] for o in outages]
        report["daemon"] = {"outages": outages, "resume_s": _stats(resume)}
        print(f"resume after the camera's return: median {statistics.median(resume):.2f} s, "
              f"max {max(resume):.2f} s over {len(resume)} outages")  # fmt: skip
    report["machine"]["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out} (CPU: {report['machine']['cpu']})")


if __name__ == "__main__":
    main()
