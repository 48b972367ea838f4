"""The publisher's own read-only database access. It never imports `daemon.ledger.db`.

Three ways in:
- Postgres: psycopg on the publisher's URL, session read-only, TimeZone UTC, optionally `SET ROLE` to
  milkbot_publisher (which can call the analytics functions and read nothing in ops.*).
- DuckDB file: opened read-only (another process may not hold it read-write).
- Embedded: the daemon passes its open ledger (any object with `.engine` and `.query(sql, params)`), because a
  DuckDB file has one writer process.
Rows come back as dicts: DECIMAL → Decimal, TIMESTAMPTZ → aware UTC datetime.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from publisher.redact import redact_error, redact_url

CHUNK = 5000


class PublisherDBError(RuntimeError):
    """The publisher could not open or read its database."""


class Reader(Protocol):
    engine: str

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]: ...

    def close(self) -> None: ...


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None and value.tzinfo is not UTC:
        return value.astimezone(UTC)
    return value


def _row(names: list[str], values: Sequence[Any]) -> dict[str, Any]:
    row = dict(zip(names, values))
    for name, value in row.items():
        if type(value) is datetime and value.tzinfo is not None and value.tzinfo is not UTC:
            row[name] = value.astimezone(UTC)
    return row


class PostgresReader:
    engine = "postgres"

    def __init__(self, url: str, role: str | None = None) -> None:
        import psycopg

        try:
            self._conn = psycopg.connect(url, autocommit=True)
            self._conn.execute("SET TIME ZONE 'UTC'")
            self._conn.execute("SET default_transaction_read_only = on")
            if role:
                self._conn.execute(psycopg.sql.SQL("SET ROLE {}").format(psycopg.sql.Identifier(role)))
        except psycopg.Error as exc:
            # psycopg echoes the part of a URL it cannot parse, which may be the password itself.
            reason = redact_error(" ".join(str(exc).split()), url)
            raise PublisherDBError(f"cannot open the publisher database {redact_url(url)}: "
                                   f"{type(exc).__name__}: {reason}") from None

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        import psycopg

        try:
            with self._conn.cursor() as cur:
                cur.execute(self._sql(sql), list(params))
                if cur.description is None:
                    return []
                names = [d[0] for d in cur.description]
                return [_row(names, values) for values in cur.fetchall()]
        except psycopg.Error as exc:
            raise PublisherDBError(f"query failed: {type(exc).__name__}: {exc}") from None

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """A server-side cursor: long histories arrive in chunks, not all at once."""
        import psycopg

        try:
            with self._conn.transaction(), self._conn.cursor(name="publisher_stream") as cur:
                cur.execute(self._sql(sql), list(params))
                names: list[str] | None = None
                while rows := cur.fetchmany(CHUNK):
                    names = names or [d[0] for d in cur.description]
                    for values in rows:
                        yield _row(names, values)
        except psycopg.Error as exc:
            raise PublisherDBError(f"query failed: {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        self._conn.close()


class DuckDBReader:
    engine = "duckdb"

    def __init__(self, path: str, read_only: bool = True, connection: Any = None) -> None:
        import duckdb

        try:
            if connection is not None:
                # A cursor is DuckDB's own second connection to the same database: safe beside the daemon's.
                self._conn = connection.cursor()
            else:
                self._conn = duckdb.connect(path, read_only=read_only and path != ":memory:")
            self._conn.execute("SET TimeZone = 'UTC'")
        except duckdb.Error as exc:
            raise PublisherDBError(f"cannot open {path}: {exc}") from None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return list(self.stream(sql, params))

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        import duckdb

        try:
            cur = self._conn.cursor()
            cur.execute(sql, list(params))
            names = [d[0] for d in cur.description]
            while rows := cur.fetchmany(CHUNK):
                for values in rows:
                    yield _row(names, values)
            cur.close()
        except duckdb.Error as exc:
            raise PublisherDBError(f"query failed: {exc}") from None

    def close(self) -> None:
        self._conn.close()


class EmbeddedReader:
    """Wraps the daemon's open ledger (duck-typed: `.engine`, `.query`) for the single-process mode."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger
        self.engine = ledger.engine

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        # The daemon's ledger already returns TIMESTAMPTZ as aware UTC datetimes (its documented contract).
        return self._ledger.query(sql, list(params))

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        yield from self.query(sql, params)

    def close(self) -> None:
        """The daemon owns the ledger; nothing to close here."""


def open_reader(url: str, role: str | None = None) -> Reader:
    """A reader for `postgresql://…` or `duckdb:///path`. The role applies to Postgres only."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        return PostgresReader(url, role)
    if parts.scheme == "duckdb" and not parts.netloc and parts.path not in ("", "/"):
        path = parts.path
        return DuckDBReader(":memory:" if path in ("/:memory:", ":memory:") else path)
    raise PublisherDBError("the publisher database URL must be postgresql://… or duckdb:///path")


def reader_for(source: Any, role: str | None = None) -> Reader:
    """A URL string, a Reader, or the daemon's open ledger."""
    if isinstance(source, str):
        return open_reader(source, role)
    if hasattr(source, "stream"):
        return source
    if hasattr(source, "query") and hasattr(source, "engine"):
        if source.engine == "duckdb" and hasattr(source, "raw"):
            return DuckDBReader(":embedded:", connection=source.raw)
        return EmbeddedReader(source)
    raise PublisherDBError(f"cannot read from {type(source).__name__}")
