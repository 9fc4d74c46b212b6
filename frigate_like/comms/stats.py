"""Publishes the ``/api/stats`` document on ``stats`` every ``stats_interval`` seconds."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from frigate_like.comms import topics
from frigate_like.comms.publisher import Publisher

logger = logging.getLogger(__name__)


class StatsPublisher:
    """The body of the ``mqtt-stats`` thread; ``run`` returns soon after ``stop`` is set."""

    def __init__(
        self, publisher: Publisher, stats: Callable[[], dict[str, Any]], interval: float, stop: threading.Event
    ) -> None:
        self._publisher = publisher
        self._stats = stats
        self._interval = interval
        self._stop = stop

    def run(self) -> None:
        while not self._stop.wait(self._interval):
            self.publish_once()

    def publish_once(self) -> None:
        try:
            document = json.dumps(self._stats())
        except Exception:
            logger.exception("stats could not be gathered")
            return
        # stale stats are worth nothing: not kept while the broker is away
        self._publisher.publish(topics.STATS, document, backlog=False)
