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


class DaemonLock:
    def __init__(self, db: Database, database_url: str) -> None:
        self.db = db
        self.url = database_url
        self._file: IO[str] | None = None
        self._pg = False

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

    def release(self) -> None:
        if self._pg:
            try:
                self.db.scalar("SELECT pg_advisory_unlock(?)", [_ADVISORY_KEY])
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
