"""One daemon per database: a Postgres session advisory lock, or an exclusive lock file next to a DuckDB file."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from daemon.ledger.db import Database

_ADVISORY_KEY = 0x4D494C4B  # "MILK"


class AlreadyRunningError(RuntimeError):
    """Another daemon holds this database."""


class LockStillReleasingError(AlreadyRunningError):
    """Our own previous (lost) session still holds the lock while the server cleans it up: try again shortly."""


class DaemonLock:
    def __init__(self, db: Database, database_url: str) -> None:
        self.db = db
        self.url = database_url
        self._file: IO[str] | None = None
        self._pg = False
        self._pg_pid: int | None = None  # the server session that took the Postgres lock

    @property
    def lock_path(self) -> Path | None:
        if self.url.startswith("duckdb:///"):
            return Path(self.url.removeprefix("duckdb:///") + ".lock")
        return None

    def acquire(self) -> DaemonLock:
        path = self.lock_path
        if path is None:
            got = self.db.scalar("SELECT pg_try_advisory_lock(?)", [_ADVISORY_KEY])
            if not got:
                raise AlreadyRunningError("another daemon holds this database's advisory lock")
            self._pg = True
            self._pg_pid = int(self.db.scalar("SELECT pg_backend_pid()"))
            return self
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")  # noqa: SIM115 - held for the process lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise AlreadyRunningError(f"another daemon (pid {holder}) holds {path}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return self

    def proven_held(self) -> bool:
        """Is the lock held by this process right now? Postgres: asked of the server (a session lock dies with
        its connection, e.g. pg_terminate_backend); False when the question cannot be answered. DuckDB: the
        lock file's flock lives as long as this process holds the handle."""
        if self._file is not None:
            return True
        if not self._pg:
            return False
        try:
            held = self.db.scalar(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                " AND granted AND classid::bigint = 0 AND objid::bigint = ? AND objsubid = 1", [_ADVISORY_KEY])
        except Exception:  # noqa: BLE001 - no answer is no proof
            return False
        return bool(held)

    def reacquire(self) -> None:
        """After a reconnect: take the Postgres lock again on the new session; AlreadyRunningError when another
        process took it meanwhile."""
        self._pg = False
        got = self.db.scalar("SELECT pg_try_advisory_lock(?)", [_ADVISORY_KEY])
        if not got:
            holder = self.db.scalar(
                "SELECT MIN(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = 0"
                " AND objid::bigint = ? AND objsubid = 1"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", [_ADVISORY_KEY])
            if holder is not None and int(holder) == self._pg_pid:
                raise LockStillReleasingError(f"our lost session (pid {holder}) still holds the lock")
            raise AlreadyRunningError(f"another process (server pid {holder}) took this database's advisory lock"
                                      " while our session was lost")
        self._pg = True
        self._pg_pid = int(self.db.scalar("SELECT pg_backend_pid()"))

    def release(self) -> None:
        if self._pg:
            try:
                self.db.scalar("SELECT pg_advisory_unlock(?)", [_ADVISORY_KEY])
            except Exception:  # noqa: BLE001 - a lost session holds no lock to release
                pass
            finally:
                self._pg = False
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> DaemonLock:  # noqa: PYI034 - acquire() returns self
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
