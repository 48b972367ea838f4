"""One daemon per database; the two loops never overlap; SHADOW never points at a real exchange."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import typer

from daemon.clock import SystemClock
from daemon.ledger.db import Database
from daemon.runtime.lock import AlreadyRunningError, DaemonLock
from daemon.runtime.scheduler import DaemonScheduler


def test_second_daemon_on_same_duckdb_is_refused(duckdb_db: Database, duckdb_url: str) -> None:
    with DaemonLock(duckdb_db, duckdb_url), pytest.raises(AlreadyRunningError):
        DaemonLock(duckdb_db, duckdb_url).acquire()
    DaemonLock(duckdb_db, duckdb_url).acquire().release()  # free again once released


def test_second_daemon_on_same_postgres_is_refused(pg_db: Database, pg_url: str) -> None:
    from daemon.ledger.db import connect

    other = connect(pg_url)
    try:
        with DaemonLock(pg_db, pg_url), pytest.raises(AlreadyRunningError):
            DaemonLock(other, pg_url).acquire()
        DaemonLock(other, pg_url).acquire().release()
    finally:
        other.close()


class _SlowDaemon:
    """Cycles that take longer than their interval, counting how many ever run at once."""

    def __init__(self) -> None:
        self.clock = SystemClock()
        self.lock = threading.Lock()
        self.running = 0
        self.max_running = 0
        self.runs = 0

    def _cycle(self) -> None:
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        time.sleep(0.2)
        with self.lock:
            self.running -= 1
            self.runs += 1

    fast_cycle = _cycle


def test_loops_never_overlap_and_stop_waits_for_the_running_cycle() -> None:
    fake = _SlowDaemon()
    fake.slow_cycle = lambda: None  # type: ignore[attr-defined]
    scheduler = DaemonScheduler(fake, fast_seconds=0.05, slow_seconds=60)
    scheduler.start()
    deadline = time.monotonic() + 5
    while fake.runs < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    scheduler.stop()
    scheduler.wait(poll_seconds=0.01)
    assert fake.runs >= 3
    assert fake.max_running == 1       # max_instances=1: a late run never starts beside the current one
    assert fake.running == 0           # shutdown waited for the cycle in progress


def test_shadow_refuses_a_non_loopback_exchange(tmp_path: Path) -> None:
    from daemon.cli.runtime_common import exchange_client
    from daemon.config import ConfigError, load_settings

    env = {"MILKBOT_DATA_DIR": str(tmp_path), "MILKBOT_EXCHANGE__ENVIRONMENT": "custom"}
    prod = "https://external-api.kalshi.com/trade-api/v2"
    with pytest.raises(ConfigError, match="loopback"):  # refused when the settings load ...
        load_settings(None, {**env, "MILKBOT_EXCHANGE__BASE_URL": prod})
    settings = load_settings(None, {**env, "MILKBOT_EXCHANGE__BASE_URL": "http://127.0.0.1:9/trade-api/v2",
                                    "MILKBOT_EXCHANGE__KEY_ID": "k", "MILKBOT_EXCHANGE__PRIVATE_KEY_PATH": "/k"})
    bypassed = settings.model_copy(update={"exchange": settings.exchange.model_copy(update={"base_url": prod})})
    with pytest.raises(typer.Exit):  # ... and again before a client exists, if validation was bypassed
        exchange_client(bypassed, SystemClock())
