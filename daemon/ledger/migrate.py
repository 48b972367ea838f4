"""A small migration runner: numbered SQL files, applied in order, recorded with their checksum.

Files in `migrations/` are named `NNNN_name.sql` (both engines), `NNNN_name.postgres.sql` or
`NNNN_name.duckdb.sql` (one engine). A file that was applied and has since changed stops the runner:
the fix is a new migration, never an edit. Running twice applies nothing the second time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from daemon.clock import Clock
from daemon.ledger.db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
_MIGRATION_LOCK_KEY = 0x6D696C6B  # 'milk': the advisory-lock key that serialises migrations
_NAME = re.compile(r"^(?P<number>\d{4})_(?P<name>[a-z0-9_]+?)(?:\.(?P<engine>postgres|duckdb))?\.sql$")


class MigrationError(RuntimeError):
    """The migrations on disk disagree with what the database has applied, or one failed."""


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    engine: str | None
    path: Path

    @property
    def version(self) -> str:
        return self.path.name

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class MigrationStatus:
    migration: Migration
    applied_at: datetime | None
    changed: bool


def discover(directory: Path = MIGRATIONS_DIR, engine: str | None = None) -> list[Migration]:
    """The migrations in `directory` that apply to `engine`, in order. Refuses malformed names."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files must be named NNNN_name[.postgres|.duckdb].sql")
        m = Migration(int(match["number"]), match["name"], match["engine"], path)
        if engine is None or m.engine in (None, engine):
            found.append(m)
    _refuse_duplicates(found)
    return sorted(found, key=lambda m: (m.number, m.version))


def _refuse_duplicates(migrations: list[Migration]) -> None:
    seen: dict[tuple[int, str | None], str] = {}
    for m in migrations:
        for engine in ([m.engine] if m.engine else ["postgres", "duckdb"]):
            key = (m.number, engine)
            if key in seen and seen[key] != m.version:
                raise MigrationError(f"two migrations numbered {m.number:04d} for {engine}: {seen[key]}, {m.version}")
            seen[key] = m.version


_BOOKKEEPING = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.schema_migrations (
    version    TEXT PRIMARY KEY,
    checksum   TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
);
"""


def _applied(db: Database) -> dict[str, dict]:
    db.executescript(_BOOKKEEPING)
    return {r["version"]: r for r in db.query("SELECT version, checksum, applied_at FROM ops.schema_migrations")}


def status(db: Database, directory: Path = MIGRATIONS_DIR) -> list[MigrationStatus]:
    applied = _applied(db)
    out = []
    for m in discover(directory, db.engine):
        row = applied.get(m.version)
        out.append(MigrationStatus(m, row["applied_at"] if row else None, bool(row) and row["checksum"] != m.checksum))
    return out


def migrate(db: Database, clock: Clock | None = None, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration in order; return the versions applied. Safe to run twice."""
    from daemon.clock import SystemClock

    clock = clock or SystemClock()
    with _exclusive(db):
        return _apply_pending(db, clock, directory)


@contextmanager
def _exclusive(db: Database) -> Iterator[None]:
    """Two processes migrating one Postgres database take turns (DuckDB files have one writer anyway)."""
    if db.engine != "postgres":
        yield
        return
    db.execute("SELECT pg_advisory_lock(?)", [_MIGRATION_LOCK_KEY])
    try:
        yield
    finally:
        db.execute("SELECT pg_advisory_unlock(?)", [_MIGRATION_LOCK_KEY])


def _apply_pending(db: Database, clock: Clock, directory: Path) -> list[str]:
    current = status(db, directory)
    changed = [s.migration.version for s in current if s.changed]
    if changed:
        raise MigrationError(f"applied migrations were edited since: {', '.join(changed)}; add a new migration instead")
    done: list[str] = []
    for s in current:
        if s.applied_at is not None:
            continue
        m = s.migration
        try:
            with db.transaction():
                db.executescript(m.sql)
                db.execute(
                    "INSERT INTO ops.schema_migrations (version, checksum, applied_at) VALUES (?, ?, ?)",
                    [m.version, m.checksum, clock.now()],
                )
        except Exception as exc:  # noqa: BLE001 - re-raised with the file name
            raise MigrationError(f"{m.version} failed: {exc}") from exc
        done.append(m.version)
    return done
