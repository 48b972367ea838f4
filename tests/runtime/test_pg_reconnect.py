"""Losing the Postgres session (pg_terminate_backend) loses the daemon's advisory lock with it.

The daemon sends no order until it has reconnected (backoff on the injected clock) and re-taken the lock; if
another process took the lock meanwhile, or the database stays away beyond the bound, it stops trading and
`milkbot run` exits non-zero. Real Postgres throughout; waits are bounded polls on the server's own views.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from _runtime_kit import account_orders, live_world, step
from test_run_sigterm import WAIT_SECONDS, _start, _wait_for

from daemon.ledger.db import Database, connect
from daemon.runtime.guard import DaemonGuard, FatalLedgerError
from daemon.runtime.lock import _ADVISORY_KEY, DaemonLock

_HOLDER = ("SELECT MIN(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::bigint = ?"
           " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")


def _terminate(admin: Database, pid: int) -> None:
    assert admin.scalar("SELECT pg_terminate_backend(?)", [pid])
    deadline = time.monotonic() + WAIT_SECONDS
    while admin.scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?", [pid]):
        assert time.monotonic() < deadline, "backend did not go away"
        time.sleep(0.05)


def _guarded(world, db: Database, url: str, **kw) -> tuple[DaemonGuard, list[str]]:
    lock = DaemonLock(db, url).acquire()
    fatal: list[str] = []
    guard = DaemonGuard(db, lock, world.clock, on_fatal=fatal.append, **kw)
    world.daemon.guard = guard
    return guard, fatal


def test_terminated_backend_reconnects_and_retakes_the_lock(pg_db: Database, pg_url: str, tmp_path: Path) -> None:
    with live_world(pg_db, tmp_path) as world, connect(pg_url) as admin:
        guard, fatal = _guarded(world, pg_db, pg_url)
        world.daemon.start()
        step(world, 60)
        old = pg_db.raw.info.backend_pid
        assert admin.scalar(_HOLDER, [_ADVISORY_KEY]) == old
        _terminate(admin, old)
        assert guard.send_refusal() == "the daemon lock is not proven held"  # no order until re-taken
        stats = step(world, 60)
        assert stats.errors == [] and not fatal and guard.reconnects == 1
        new = pg_db.raw.info.backend_pid
        assert new != old and admin.scalar(_HOLDER, [_ADVISORY_KEY]) == new
        assert guard.send_refusal() is None
        event = pg_db.query_one("SELECT message, detail FROM ops.risk_events WHERE detail->>'limit' = 'daemon_lock'")
        assert event is not None and "re-took the daemon lock" in event["message"]
        assert step(world, 60).errors == []


def test_terminated_mid_cycle_recovers_the_session_and_records_the_failure(pg_db: Database, pg_url: str,
                                                                           tmp_path: Path) -> None:
    with live_world(pg_db, tmp_path) as world, connect(pg_url) as admin:
        guard, fatal = _guarded(world, pg_db, pg_url)
        world.daemon.start()
        step(world, 60)
        old = pg_db.raw.info.backend_pid
        real = world.daemon._discover

        def discover_then_lose_the_session():  # the session dies in the middle of the cycle
            _terminate(admin, old)
            return real()

        world.daemon._discover = discover_then_lose_the_session
        stats = step(world, 60, slow=False)
        world.daemon._discover = real
        assert stats.errors and not fatal and guard.reconnects == 1
        assert admin.scalar(_HOLDER, [_ADVISORY_KEY]) == pg_db.raw.info.backend_pid
        assert world.daemon.risk.current_state() == "HALTED"     # the database-write breaker saw the failure
        assert pg_db.scalar("SELECT COUNT(*) FROM ops.trading_state WHERE set_by = 'risk:db_failure'") == 1


def test_lock_taken_by_another_process_meanwhile_stops_trading(pg_db: Database, pg_url: str,
                                                               tmp_path: Path) -> None:
    with live_world(pg_db, tmp_path) as world, connect(pg_url) as other:
        guard, fatal = _guarded(world, pg_db, pg_url)
        world.daemon.start()
        step(world, 60)
        sent = len(account_orders(world.exchange))
        _terminate(other, pg_db.raw.info.backend_pid)
        assert other.scalar("SELECT pg_try_advisory_lock(?)", [_ADVISORY_KEY])   # a second daemon, say
        stats = step(world, 60)
        assert fatal and "another process" in fatal[0] and guard.fatal
        assert any("FatalLedgerError" in e for e in stats.errors)
        assert guard.send_refusal() == guard.fatal
        with pytest.raises(FatalLedgerError):
            guard.before_cycle()
        step(world, 60)
        assert len(account_orders(world.exchange)) == sent                      # nothing sent since


def test_database_away_beyond_the_bound_is_fatal(pg_db: Database, pg_url: str, pg_server_url: str,
                                                 tmp_path: Path) -> None:
    name = pg_url.rsplit("/", 1)[1]
    with live_world(pg_db, tmp_path) as world, connect(pg_server_url) as admin:
        _, fatal = _guarded(world, pg_db, pg_url, max_outage=timedelta(minutes=2))
        world.daemon.start()
        step(world, 60)
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        try:
            started = world.clock.now()
            _terminate(admin, pg_db.raw.info.backend_pid)
            stats = step(world, 0, slow=False)
        finally:
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        assert fatal and "stayed unreachable" in fatal[0]
        assert any("FatalLedgerError" in e for e in stats.errors)
        assert world.clock.now() - started >= timedelta(minutes=2)             # backoff on the injected clock


def test_run_exits_non_zero_when_another_process_takes_the_lock(pg_url: str, tmp_path: Path) -> None:
    proc, log = _start(tmp_path, pg_url)
    try:
        with connect(pg_url) as other:
            def trading() -> bool:
                beat = other.query_one("SELECT detail FROM ops.heartbeats WHERE component = 'daemon'")
                return beat is not None and beat["detail"].get("kind") == "fast"

            _wait_for("a fast cycle", trading, proc, log)
            holder = other.scalar(_HOLDER, [_ADVISORY_KEY])
            other.scalar("SELECT pg_terminate_backend(?)", [holder])
            other.scalar("SELECT pg_advisory_lock(?)", [_ADVISORY_KEY])         # granted once the backend is gone
            taken_at = other.scalar("SELECT now()")
            proc.wait(timeout=WAIT_SECONDS)
            output = log.read_text()
            assert proc.returncode == 1, output[-3000:]
            assert "another process" in output and "Traceback" not in output.split("stopping:")[-1]
            assert other.scalar("SELECT COUNT(*) FROM ops.orders WHERE sent_at > ?", [taken_at]) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
