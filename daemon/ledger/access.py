"""How each kind of command opens the ledger: read-only, existing read-write, or created and migrated.

Read-only commands (status, positions, pnl, risk show, orders list/show, golive check, replay) never create,
migrate or write a ledger: DuckDB is opened with read_only=True, Postgres with every transaction READ ONLY and
no migration. A ledger that does not exist, or whose schema was never created, is an error naming where it was
looked for — a typo in --data-dir must not look like an empty, ACTIVE ledger. `milkbot kill` opens an existing
ledger read-write (never creates one). Only `run`, `demo`, `db migrate` and the like create and migrate.
"""

from __future__ import annotations

from pathlib import Path

from daemon.ledger.db import Database, DatabaseError, connect, parse_database_url, redact_url


class LedgerMissingError(DatabaseError):
    """There is no ledger at the configured place (nothing was created)."""


def duckdb_path(url: str) -> Path | None:
    """The DuckDB file a ledger URL names; None for Postgres and in-memory ledgers."""
    engine, target = parse_database_url(url)
    if engine != "duckdb" or target == ":memory:":
        return None
    # duckdb:////abs/path (from an absolute data dir) gives '//abs/path', which POSIX keeps as written.
    return Path("/" + target.lstrip("/")) if target.startswith("/") else Path(target)


def open_read_only(url: str) -> Database:
    """The existing ledger, opened so nothing can be written; LedgerMissingError when there is none."""
    require_ledger_file(url)
    db = connect(url, read_only=True)
    try:
        if db.engine == "postgres":
            db.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        _require_schema(db, url)
        _require_current(db, url)
    except BaseException:
        db.close()
        raise
    return db


def open_existing(url: str) -> Database:
    """The existing ledger, read-write, without migrating it; LedgerMissingError when there is none."""
    require_ledger_file(url)
    db = connect(url)
    try:
        _require_schema(db, url)
    except BaseException:
        db.close()
        raise
    return db


def require_ledger_file(url: str) -> None:
    """LedgerMissingError naming the path when a DuckDB ledger file does not exist (Postgres: no check here)."""
    path = duckdb_path(url)
    if path is not None and not path.is_file():
        raise LedgerMissingError(f"no ledger at {path} (check --data-dir / --database-url; `milkbot db migrate`"
                                 " or `milkbot run` creates one)")


def _require_schema(db: Database, url: str) -> None:
    if db.engine == "postgres":
        present = db.scalar("SELECT to_regclass('ops.schema_migrations') IS NOT NULL")
    else:
        present = db.scalar("SELECT COUNT(*) FROM information_schema.tables"
                            " WHERE table_schema = 'ops' AND table_name = 'schema_migrations'")
    if not present:
        where = redact_url(url) if db.engine == "postgres" else str(duckdb_path(url) or url)
        raise LedgerMissingError(f"no ledger schema in {where} (`milkbot db migrate` creates it)")


def _require_current(db: Database, url: str) -> None:
    """A read-only command cannot migrate: a ledger behind the code is an error, not a traceback later."""
    from daemon.ledger.migrate import discover

    applied = {r["version"] for r in db.query("SELECT version FROM ops.schema_migrations")}
    pending = [m.version for m in discover(engine=db.engine) if m.version not in applied]
    if pending:
        where = redact_url(url) if db.engine == "postgres" else str(duckdb_path(url) or url)
        raise DatabaseError(f"the ledger in {where} has {len(pending)} pending migration(s) ({pending[0]}…):"
                            " run `milkbot db migrate` first")
