"""Command line: ``run`` the daemon, ``check-config`` a file, ``show-config`` the effective config,
``convert-model`` the model for the ``onnx`` detector, ``cluster status`` of a cluster's nodes."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from frigate_like import CONFIG_ENV, DEFAULT_CONFIG, __version__
from frigate_like.config import FrigateConfig, format_problems, load_config, to_public_dict
from frigate_like.config.starter import first_start, starter_text
from frigate_like.errors import ConfigError
from frigate_like.track.camera_process import ring_slots

RETRY_DELAY_ENV = "FRIGATE_LIKE_RETRY_DELAY"


def _add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG),
        help=f"the YAML config file (default: ${CONFIG_ENV} or {DEFAULT_CONFIG})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subcommand per job."""
    parser = argparse.ArgumentParser(prog="frigate-like", description="A self-hosted NVR daemon.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="validate the config, then run the daemon")
    _add_config_arg(run)
    run.add_argument(
        "--move-corrupt-database",
        action="store_true",
        help="if the SQLite database is damaged, move it aside (<name>.corrupt-<time>) and start an empty one",
    )
    check = commands.add_parser("check-config", help="validate the config and list every problem")
    _add_config_arg(check)
    show = commands.add_parser("show-config", help="print the effective config as JSON, secrets masked")
    _add_config_arg(show)
    commands.add_parser("starter-config", help="print a commented starter config (the one a first start writes)")
    convert = commands.add_parser(
        "convert-model", help="convert the config's .tflite model to ONNX once, into the cache (onnx detectors)"
    )
    _add_config_arg(convert)
    cluster = commands.add_parser("cluster", help="the cluster of the config's database: 'cluster status'")
    cluster.add_argument("action", choices=["status"], help="status: nodes, heartbeats, leases, cameras")
    _add_config_arg(cluster)
    return parser


def _load(path: Path, *, preflight: bool = False) -> FrigateConfig | None:
    """The config, or ``None`` after printing its problems to stderr; its warnings go to stderr too.

    ``preflight`` also checks what ``run`` needs of the host (shared memory, writable
    folders), so ``check-config`` saying OK means ``run`` starts.
    """
    try:
        cfg = load_config(path, ring_slots=ring_slots() if preflight else None)
    except ConfigError as err:
        print(format_problems(err, path), file=sys.stderr)
        return None
    for warning in cfg.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return cfg


def check_config(path: Path) -> int:
    """Print ``config OK: N cameras`` or every problem; the exit status."""
    cfg = _load(path, preflight=True)
    if cfg is None:
        return 1
    count = len(cfg.cameras)
    print(f"config OK: {count} camera{'s' if count != 1 else ''}")
    return 0


def show_config(path: Path) -> int:
    """Print the resolved config as ``/api/config`` shows it; the exit status."""
    cfg = _load(path)
    if cfg is None:
        return 1
    print(json.dumps(to_public_dict(cfg), indent=2))
    return 0


def convert_model(path: Path) -> int:
    """Convert ``model.path`` for ONNX Runtime into ``<cache_dir>/models`` (where the daemon looks)."""
    cfg = _load(path)
    if cfg is None:
        return 1
    from frigate_like.detect.onnx_convert import cached_onnx_model
    from frigate_like.errors import DetectorUnavailable

    try:
        target = cached_onnx_model(cfg.model.file_for("onnx"), Path(cfg.paths.cache_dir) / "models")
    except DetectorUnavailable as err:
        print(f"convert-model: {err}", file=sys.stderr)
        return 1
    print(target)
    return 0


def run(path: Path, move_corrupt_database: bool = False) -> int:
    """Validate like ``check-config``, then hand the config to the composition root.

    Without a config file (a first start), writes the starter config there when it can and says
    what to edit, in one line; the exit status is 1 either way.
    """
    if not path.exists():
        print(first_start(path), file=sys.stderr)
        return 1
    cfg = _load(path, preflight=True)
    if cfg is None:
        return 1
    from frigate_like.app import run as run_app  # imported late: it pulls in every runtime module

    if move_corrupt_database and not cfg.database.url:
        from frigate_like.db.database import move_aside_if_corrupt

        moved = move_aside_if_corrupt(Path(cfg.database.path))
        if moved is not None:
            print(f"moved the damaged database aside to {moved}", file=sys.stderr)

    try:
        return run_app(cfg, path)
    except ConfigError as err:  # a problem only found at start-up (shared memory, ...)
        print(format_problems(err, path), file=sys.stderr)
        return 1


def cluster_status(path: Path) -> int:
    """Print the nodes, leases and cameras of the config's cluster; the exit status."""
    cfg = _load(path)
    if cfg is None:
        return 1
    if cfg.cluster is None:
        print("cluster status: the config has no cluster section (a single node)", file=sys.stderr)
        return 1
    from frigate_like.cluster.directory import ClusterDirectory
    from frigate_like.cluster.status import status_lines
    from frigate_like.db.database import connect_database
    from frigate_like.errors import FrigateLikeError

    try:
        db = connect_database(cfg.database)
    except FrigateLikeError as err:
        print(f"cluster status: {err}", file=sys.stderr)
        return 1
    try:
        lines = status_lines(ClusterDirectory(db, cfg.cluster.lease_seconds), cfg.cameras, cfg.cluster.lease_seconds)
    except Exception as err:  # e.g. the tables do not exist yet: no node ever started
        print(f"cluster status: cannot read the cluster tables: {err}", file=sys.stderr)
        return 1
    finally:
        db.close()
    print("\n".join(lines))
    return 0


def wait_before_exit(code: int) -> None:
    """After a failed ``run``, waits ``$FRIGATE_LIKE_RETRY_DELAY`` seconds (unset or 0: not at all).

    A start-up failure only the user can fix (no config, a bad one, no Coral) would otherwise
    make a container restart policy spin; the image sets 60 s, so it retries once a minute and
    a fix (a config written, a Coral plugged in) is picked up without a manual restart. A stop
    signal ends the wait at once with the same exit status.
    """
    try:
        delay = float(os.environ.get(RETRY_DELAY_ENV) or 0)
    except ValueError:
        delay = 0.0
    if delay <= 0:
        return

    def leave(_signum: int, _frame: object) -> None:
        raise SystemExit(code)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)
    print(f"exiting in {delay:g} s ({RETRY_DELAY_ENV}), so a restart policy retries slowly", file=sys.stderr)
    time.sleep(delay)


def print_starter() -> int:
    sys.stdout.write(starter_text())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``frigate-like`` and ``python -m frigate_like``."""
    args = build_parser().parse_args(argv)
    if args.command == "starter-config":
        return print_starter()
    commands = {"check-config": check_config, "show-config": show_config, "convert-model": convert_model}
    if args.command == "run":
        code = run(args.config, args.move_corrupt_database)
    elif args.command == "cluster":
        code = cluster_status(args.config)
    else:
        code = commands[args.command](args.config)
    if args.command == "run" and code != 0:
        wait_before_exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
