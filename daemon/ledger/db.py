"""One database API over two engines: Postgres (psycopg 3) in production, DuckDB embedded.

SQL is written once with `?` placeholders in the subset both engines run. Rows come back as dicts with the
same Python types on both engines: DECIMAL → Decimal, TIMESTAMPTZ → aware UTC datetime, JSON → parsed value.
JSON parameters are passed wrapped in `Json(...)`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from daemon.ledger import file_mode
from publisher.redact import redact_error
from publisher.redact import redact_url as _redact_url

Engine = Literal["postgres", "duckdb"]


class DatabaseError(RuntimeError):
    """A database could not be opened or a statement failed; the message names which."""


class DatabaseURLError(DatabaseError, ValueError):
    """The database URL is not one this ledger understands."""


class LedgerLockedError(DatabaseError):
    """The DuckDB file is held by another process (a running daemon): it cannot be opened, even read-only."""


@dataclass(frozen=True)
class Json:
    """A value to store in a JSON column."""

    value: Any

    def dumps(self) -> str:
        return json.dumps(self.value, sort_keys=True, default=_json_default, allow_nan=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def parse_database_url(url: str) -> tuple[Engine, str]:
    """Split a ledger URL into (engine, target). DuckDB targets are file paths or ':memory:'."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        return "postgres", url
    if parts.scheme == "duckdb":
        # duckdb:///abs/path → '/abs/path'; duckdb:///:memory: → ':memory:'; duckdb://rel/path is refused.
        if parts.netloc:
            raise DatabaseURLError(f"{redact_url(url)!r}: use duckdb:///path (three slashes), not a host")
        path = parts.path
        if path in ("/:memory:", ":memory:"):
            return "duckdb", ":memory:"
        if not path or path == "/":
            raise DatabaseURLError(f"{url!r}: no file path after duckdb:///")
        return "duckdb", path
    raise DatabaseURLError(f"{redact_url(url)!r}: expected postgresql://… or duckdb:///path/to/file.duckdb")


_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?|%")


def _to_psycopg(sql: str) -> str:
    """Translate `?` placeholders to `%s` and escape literal `%`, leaving string literals intact."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return token.replace("%", "%%")

    return _PLACEHOLDER.sub(swap, sql)


class Database:
    """A connection to the ledger. Thread-safe: statements are serialised on one connection."""

    def __init__(self, engine: Engine, conn: Any, target: str) -> None:
        self.engine: Engine = engine
        self._conn = conn
        self._target = target
        self._lock = threading.RLock()
        self._tx_depth = 0

    def __repr__(self) -> str:
        where = self._target if self.engine == "duckdb" else redact_url(self._target)
        return f"Database({self.engine}, {where})"

    @property
    def raw(self) -> Any:
        """The underlying driver connection, for engine-specific work (COPY, DuckDB parquet reads)."""
        return self._conn

    # -- statements -----------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._run(sql, params)
            if cur.description is None:
                return []
            names = [d[0] for d in cur.description]
            json_cols = self._json_columns(cur)
            try:
                fetched = cur.fetchall()
            except Exception as exc:  # noqa: BLE001 - every driver error is a DatabaseError
                raise DatabaseError(f"{exc.__class__.__name__}: {exc}\n  in: {sql.strip()[:300]}") from exc
            return [self._row(names, json_cols, row) for row in fetched]

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.query_one(sql, params)
        return None if row is None else next(iter(row.values()))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._lock:
            cur = self._run(sql, params)
            count = cur.rowcount if cur.rowcount is not None else -1
            if self.engine == "duckdb" and count == -1 and cur.description:
                # DuckDB reports DML counts as a one-row result.
                row = cur.fetchone()
                count = int(row[0]) if row and isinstance(row[0], int) else -1
            return count

    def executescript(self, sql: str) -> None:
        """Run a multi-statement script (migrations). No parameters."""
        with self._lock:
            try:
                self._conn.execute(sql)
            except Exception as exc:  # noqa: BLE001 - re-raised with context
                raise DatabaseError(f"script failed on {self.engine}: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """All statements inside commit together or not at all. Nested calls join the outer transaction."""
        with self._lock:
            if self._tx_depth:
                self._tx_depth += 1
                try:
                    yield self
                finally:
                    self._tx_depth -= 1
                return
            self._begin()
            self._tx_depth = 1
            try:
                yield self
            except BaseException:
                self._tx_depth = 0
                self._rollback()
                raise
            self._tx_depth = 0
            self._commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def reconnect(self) -> None:
        """Postgres: replace a lost connection with a new session (session state, such as advisory locks, is
        not carried over: the caller re-takes what it held). Raises DatabaseError while the server is away."""
        if self.engine != "postgres":
            raise DatabaseError("only a Postgres ledger reconnects; a DuckDB file is held for the process")
        with self._lock:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - the old session is gone anyway
                pass
            try:
                self._conn = _connect_postgres(self._target)._conn
            except DatabaseError:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. the session dropped again during SET TIME ZONE
                raise DatabaseError(f"reconnect failed: {type(exc).__name__}: {exc}") from exc
            self._tx_depth = 0

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- engine details -------------------------------------------------------------------------
    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        values = [self._adapt(p) for p in params]
        try:
            if self.engine == "postgres":
                return self._conn.execute(_to_psycopg(sql), values or None)
            return self._conn.execute(sql, values)
        except Exception as exc:  # noqa: BLE001 - re-raised with context
            raise DatabaseError(f"{exc.__class__.__name__}: {exc}\n  in: {sql.strip()[:300]}") from exc

    def _adapt(self, value: Any) -> Any:
        if isinstance(value, Json):
            return value.dumps()
        if isinstance(value, float) and value != value:
            raise DatabaseError("refusing to store NaN")
        if isinstance(value, Path):
            return str(value)
        return value

    def _json_columns(self, cur: Any) -> set[int]:
        if self.engine == "postgres":
            return set()  # psycopg already parses json
        return {i for i, d in enumerate(cur.description) if str(d[1]).upper() == "JSON"}

    @staticmethod
    def _row(names: list[str], json_cols: set[int], row: Sequence[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, (name, value) in enumerate(zip(names, row)):
            if i in json_cols and isinstance(value, str):
                value = json.loads(value)
            elif isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(timezone.utc)
            out[name] = value
        return out

    def _begin(self) -> None:
        try:
            self._conn.execute("BEGIN TRANSACTION" if self.engine == "duckdb" else "BEGIN")
        except Exception as exc:  # noqa: BLE001 - every driver error is a DatabaseError (the write breaker)
            raise DatabaseError(f"BEGIN failed on {self.engine}: {type(exc).__name__}: {exc}") from exc

    def _commit(self) -> None:
        # A failed COMMIT (a commit-time conflict, a full disk, a dropped connection) is a failed write like
        # any other: it surfaces as DatabaseError so the database-write breaker sees it.
        try:
            self._conn.execute("COMMIT")
        except Exception as exc:  # noqa: BLE001 - re-raised as DatabaseError
            self._rollback()
            raise DatabaseError(f"COMMIT failed on {self.engine}: {type(exc).__name__}: {exc}") from exc

    def _rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - nothing to roll back is fine
            pass


def redact_url(url: str) -> str:
    """A database URL safe to print: every password (userinfo, `?password=`, keyword form) replaced by ***."""
    return _redact_url(url)


def connect(url: str, *, read_only: bool = False) -> Database:
    """Open the ledger named by `url`. Creates the DuckDB file's directory if needed."""
    engine, target = parse_database_url(url)
    if engine == "postgres":
        return _connect_postgres(target)
    # Before anything (even a checkpoint) could write to a damaged file, and before a read-only command would
    # print figures from one.
    _refuse_damaged(target)
    return _connect_duckdb(target, read_only)


def _refuse_damaged(target: str) -> None:
    from daemon.ledger.integrity import LedgerCorruptError, check_duckdb_file

    try:
        check_duckdb_file(target)
    except LedgerCorruptError as exc:
        raise DatabaseError(str(exc)) from exc


def _connect_postgres(url: str) -> Database:
    import psycopg

    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        # psycopg echoes the part of a URL it cannot parse, which may be the password itself.
        reason = redact_error(" ".join(str(exc).split()), url) or type(exc).__name__
        raise DatabaseError(
            f"cannot connect to Postgres at {redact_url(url)}: {reason} (check the URL and that the server is running)"
        ) from exc
    conn.execute("SET TIME ZONE 'UTC'")
    return Database("postgres", conn, url)


def _connect_duckdb(target: str, read_only: bool) -> Database:
    import duckdb

    if target != ":memory:":
        file_mode.prepare_directory(Path(target))  # created 0700; an open one is warned about
    try:
        conn = duckdb.connect(target, read_only=read_only)
    except duckdb.Error as exc:
        locked = "lock" in str(exc).lower()
        hint = " (another milkbot process has it open: stop it or use another --data-dir)" if locked else ""
        reason = str(exc).strip().splitlines()[0]
        error = LedgerLockedError if locked else DatabaseError
        raise error(f"cannot open DuckDB file {target}: {reason}{hint}") from exc
    if target != ":memory:":
        file_mode.tighten(Path(target))  # ledger and WAL 0600: no other local user reads trades
    conn.execute("SET TimeZone = 'UTC'")
    return Database("duckdb", conn, target)
