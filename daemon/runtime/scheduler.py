"""Run the daemon's two loops on apscheduler until asked to stop.

Each loop is one job with max_instances=1 and coalesce=True (a late run is merged, never stacked), and both
cycles take the daemon's cycle lock, so no two cycles ever overlap. `stop()` (e.g. from SIGTERM) lets the
cycle in progress finish, then the scheduler shuts down waiting for it.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)


class DaemonScheduler:
    def __init__(self, daemon: Any, *, fast_seconds: float, slow_seconds: float) -> None:
        self.daemon = daemon
        self.fast_seconds = fast_seconds
        self.slow_seconds = slow_seconds
        self._stop = threading.Event()
        self.scheduler = BackgroundScheduler(
            timezone="UTC", job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None})

    def start(self) -> None:
        first = self.daemon.clock.now()
        self.scheduler.add_job(self.daemon.slow_cycle, "interval", seconds=self.slow_seconds, id="slow",
                               next_run_time=first)
        self.scheduler.add_job(self.daemon.fast_cycle, "interval", seconds=self.fast_seconds, id="fast",
                               next_run_time=first + timedelta(seconds=1))
        self.scheduler.start()

    def stop(self) -> None:
        self._stop.set()

    def wait(self, poll_seconds: float = 1.0) -> None:
        """Block until stop(); then shut the scheduler down, waiting for the running cycle to finish."""
        while not self._stop.wait(poll_seconds):
            pass
        log.info("stopping: waiting for the cycle in progress")
        self.scheduler.shutdown(wait=True)
