"""Command line: ``run`` the daemon, ``check-config`` a file, ``show-config`` the effective config."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from frigate_like import __version__
from frigate_like.config import FrigateConfig, format_problems, load_config, to_public_dict
from frigate_like.errors import ConfigError

DEFAULT_CONFIG = "config/config.yml"
CONFIG_ENV = "FRIGATE_LIKE_CONFIG"


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
    return parser


def _load(path: Path) -> FrigateConfig | None:
    """The config, or ``None`` after printing its problems to stderr."""
    try:
        return load_config(path)
    except ConfigError as err:
        print(format_problems(err, path), file=sys.stderr)
        return None


def check_config(path: Path) -> int:
    """Print ``config OK: N cameras`` or every problem; the exit status."""
    cfg = _load(path)
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


def run(path: Path, move_corrupt_database: bool = False) -> int:
    """Validate like ``check-config``, then hand the config to the composition root."""
    cfg = _load(path)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``frigate-like`` and ``python -m frigate_like``."""
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return run(args.config, args.move_corrupt_database)
    commands = {"check-config": check_config, "show-config": show_config}
    return commands[args.command](args.config)


if __name__ == "__main__":
    sys.exit(main())
