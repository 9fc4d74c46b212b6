"""A logging handler that hands every record of the daemon (all processes) to the live WebSocket's clients."""

from __future__ import annotations

import logging
from typing import Protocol

from frigate_like.websocket.protocol import log_message


class LogSink(Protocol):
    def publish_log(self, message: dict[str, object], level: int) -> None: ...


class WebSocketLogHandler(logging.Handler):
    """Added to the main process's queue listener, beside the stderr handler; never blocks."""

    def __init__(self, sink: LogSink, level: int = logging.DEBUG) -> None:
        super().__init__(level)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < self.level:  # the listener does not look at handler levels
            return
        try:
            self._sink.publish_log(log_message(record), record.levelno)
        except Exception:
            self.handleError(record)
