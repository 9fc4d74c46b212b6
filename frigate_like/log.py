"""Queue-based logging across processes, with secrets redacted in every record (``redact.RedactingFilter``)."""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing as mp
from collections.abc import Mapping
from typing import Any

from frigate_like.redact import RedactingFilter

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_main_logging(
    default_level: str, levels: Mapping[str, str], log_queue: Any
) -> logging.handlers.QueueListener:
    """Main process: records from every process go through ``log_queue`` to stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    listener = logging.handlers.QueueListener(log_queue, handler, respect_handler_level=False)
    listener.start()
    _install_queue_handler(default_level, levels, log_queue)
    return listener


def configure_child_logging(default_level: str, levels: Mapping[str, str], log_queue: Any) -> None:
    """A child process sends its records to the main process's listener."""
    _install_queue_handler(default_level, levels, log_queue)


def _install_queue_handler(default_level: str, levels: Mapping[str, str], log_queue: Any) -> None:
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    queue_handler = logging.handlers.QueueHandler(log_queue)
    queue_handler.addFilter(RedactingFilter())
    root.addHandler(queue_handler)
    root.setLevel(default_level.upper())
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level.upper())
    # Libraries that are chatty at INFO.
    logging.getLogger("peewee_migrate").setLevel(logging.WARNING)
    logging.getLogger("uvicorn").setLevel(logging.WARNING)  # "started", "waiting for startup", ...


def add_listener_handler(listener: logging.handlers.QueueListener, handler: logging.Handler) -> None:
    """One more destination for every record of every process (e.g. the live WebSocket)."""
    listener.handlers = (*listener.handlers, handler)  # read afresh for each record


def new_log_queue(ctx: Any = None) -> Any:
    """A queue that may cross process boundaries (unbounded: logging must never block)."""
    return (ctx or mp).Queue()
