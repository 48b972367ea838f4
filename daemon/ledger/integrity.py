"""Refuse to write to a damaged DuckDB ledger: every block of every table is read (checksums verified) through a
read-only connection before the ledger is opened for writing.

A corrupt file is reported and left exactly as it was — never repaired, truncated, replaced or checkpointed —
so the operator can restore a backup or hand it to DuckDB's own tools. Costs one read of the file (about 0.2 s
for a 15 MB demo ledger); the production ledger is Postgres, which checks its own pages.
"""

from __future__ import annotations

import re
from pathlib import Path


class LedgerCorruptError(RuntimeError):
    """The DuckDB ledger file is damaged. Raised as a DatabaseError by `daemon.ledger.db.connect`."""


def check_duckdb_file(path: str) -> None:
    """Read every row of every table of an existing DuckDB file, read-only; raise LedgerCorruptError if DuckDB
    reports damage. A missing file, or one another process holds, is left to the normal open."""
    import duckdb

    if path == ":memory:" or not Path(path).is_file():
        return
    try:
        conn = duckdb.connect(path, read_only=True)
    except duckdb.Error as exc:
        if _is_corruption(exc):
            raise LedgerCorruptError(_message(path, exc)) from exc
        return  # locked, or not a DuckDB file at all: the read-write open reports it
    try:
        tables = conn.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                              "WHERE database_name = current_database()").fetchall()
        for schema, table in tables:
            # Hashing the whole row reads every column, so every data block's checksum is verified.
            conn.execute(f'SELECT bit_xor(hash(t)) FROM "{schema}"."{table}" AS t').fetchall()
    except duckdb.Error as exc:
        raise LedgerCorruptError(_message(path, exc)) from exc
    finally:
        conn.close()


def _is_corruption(exc: Exception) -> bool:
    text = str(exc).lower()
    return "corrupt" in text or "checksum" in text


def _message(path: str, exc: Exception) -> str:
    reason = " ".join(str(exc).split())[:200]
    path = re.sub(r"^/+", "/", path)
    return (f"the DuckDB ledger {path} is damaged ({reason}); it was not opened for writing and is left as it was:"
            " restore it from a backup or move it aside")
