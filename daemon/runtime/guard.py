"""What must hold before the daemon may send an order: its one-daemon lock proven held, no kill request pending.

Postgres: the advisory lock lives in one server session. When that session is lost (a restart, a network cut,
pg_terminate_backend) the lock is gone with it, so from then on no order is sent until the daemon has
reconnected (backoff on the injected clock) and taken the lock again. If another process took the lock
meanwhile, or the database stays away longer than `max_outage`, the guard is fatal: the daemon stops and
`milkbot run` exits non-zero (systemd restarts it; a second daemon then refuses to start beside the first).
Embedded DuckDB: the lock file's flock cannot be lost while the process lives; kill requests and status
snapshots go through daemon.runtime.control, since no other process can open the ledger.
Never reads the wall clock (snapshot pacing uses a stopwatch, never for trading decisions).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from daemon.clock import Clock, SystemClock
from daemon.ledger.db import Database, DatabaseError
from daemon.runtime.control import ControlFiles
from daemon.runtime.lock import AlreadyRunningError, DaemonLock, LockStillReleasingError

log = logging.getLogger(__name__)
_STOPWATCH = SystemClock()  # paces status snapshots only
SNAPSHOT_EVERY_SECONDS = 2.0


class FatalLedgerError(RuntimeError):
    """The daemon must stop: its lock is lost to another process, or the database stayed away too long."""


class DaemonGuard:
    def __init__(self, db: Database, lock: DaemonLock, clock: Clock, control: ControlFiles | None = None, *,
                 max_outage: timedelta = timedelta(minutes=5),
                 backoff_seconds: Sequence[float] = (1, 2, 5, 10, 30),
                 on_fatal: Callable[[str], None] | None = None) -> None:
        self.db = db
        self.lock = lock
        self.clock = clock
        self.control = control
        self.max_outage = max_outage
        self.backoff_seconds = tuple(backoff_seconds)
        self.on_fatal = on_fatal or (lambda reason: None)
        self.fatal: str | None = None
        self.reconnects = 0
        self._last_snapshot: float | None = None

    # -- before every order -----------------------------------------------------------------------------
    def send_refusal(self) -> str | None:
        """Why no order may be sent right now (None: it may)."""
        if self.fatal:
            return self.fatal
        if self.control is not None and self.control.pending_kill() is not None:
            return "kill switch requested by the operator (control file)"
        if not self.lock.proven_held():
            return "the daemon lock is not proven held"
        return None

    # -- around every cycle -----------------------------------------------------------------------------
    def before_cycle(self) -> None:
        """Re-take a lost lock (reconnecting first) and apply a pending kill request; FatalLedgerError when the
        daemon must stop."""
        if self.fatal:
            raise FatalLedgerError(self.fatal)
        if not self.lock.proven_held():
            self._recover("the daemon lock is not proven held")
        self._apply_kill_request()

    def after_failure(self, exc: BaseException) -> None:
        """A cycle failed: if the ledger session (and with it the lock) is gone, recover it now."""
        if self.db.engine == "postgres" and not self.fatal and not self.lock.proven_held():
            self._recover(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")

    def after_cycle(self) -> None:
        """The status snapshot `milkbot status` shows while the embedded ledger is locked (paced)."""
        if self.control is None:
            return
        now_s = _STOPWATCH.monotonic()
        if self._last_snapshot is not None and now_s - self._last_snapshot < SNAPSHOT_EVERY_SECONDS:
            return
        from daemon.runtime.reports import status

        try:
            now = self.clock.now()
            self.control.write_status(status(self.db, now), now, os.getpid())
            self._last_snapshot = now_s
        except Exception:  # noqa: BLE001 - a missing snapshot never stops trading
            log.exception("status snapshot failed")

    # -- internals --------------------------------------------------------------------------------------
    def _apply_kill_request(self) -> None:
        if self.control is None:
            return
        request = self.control.pending_kill()
        if request is None:
            return
        from daemon.runtime.daemon import CANCEL_RESTING_MARK
        from daemon.trading import state as st

        reason = f"{request.reason} {CANCEL_RESTING_MARK}" if request.cancel_resting else request.reason
        st.kill(self.db, self.clock, reason[:500], request.set_by)
        self.control.clear(request)
        log.warning("kill switch from the control file (requested %s by %s): HALTED", request.requested_at,
                    request.set_by)

    def _recover(self, why: str) -> None:
        if self.db.engine != "postgres":
            self._die(f"the daemon lock was lost ({why})")
        log.error("ledger session lost (%s): no order is sent until it is back and the lock re-taken", why)
        started, attempt = self.clock.monotonic(), 0
        while True:
            try:
                self.db.reconnect()
                self.lock.reacquire()
                break
            except LockStillReleasingError as exc:  # the server is still ending our old session: wait for it
                problem: Exception = exc
            except AlreadyRunningError as exc:
                self._die(str(exc))
            except DatabaseError as exc:
                problem = exc
            waited = self.clock.monotonic() - started
            limit = self.max_outage.total_seconds()
            if waited >= limit:
                self._die(f"the database stayed unreachable for {waited:.0f}s (limit {limit:.0f}s):"
                          f" {str(problem).splitlines()[0]}")
            delay = self.backoff_seconds[min(attempt, len(self.backoff_seconds) - 1)]
            attempt += 1
            log.warning("reconnect attempt %d failed (%s); next in %.0fs", attempt, problem, delay)
            self.clock.sleep(min(delay, limit - waited))
        self.reconnects += 1
        log.warning("reconnected to the ledger and re-took the daemon lock (attempt %d)", attempt + 1)
        self._record_reconnect(why, self.clock.monotonic() - started)

    def _record_reconnect(self, why: str, seconds: float) -> None:
        from daemon.ledger.db import Json

        try:
            self.db.execute(
                "INSERT INTO ops.risk_events (occurred_at, kind, severity, message, detail) VALUES (?, ?, ?, ?, ?)",
                (self.clock.now(), "breaker", "warning",
                 f"ledger session lost ({why[:200]}); reconnected and re-took the daemon lock after {seconds:.0f}s",
                 Json({"limit": "daemon_lock", "actual": "re-taken", "allowed": "held", "why": why[:300]})))
        except DatabaseError:
            log.exception("could not record the reconnect")

    def _die(self, reason: str) -> Any:
        self.fatal = f"stopping: {reason}"
        log.critical("%s", self.fatal)
        self.on_fatal(self.fatal)
        raise FatalLedgerError(self.fatal)
