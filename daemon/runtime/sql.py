"""Multi-row inserts: one statement per batch instead of one per row (DuckDB pays ~ms per statement)."""

from __future__ import annotations

from typing import Any

from daemon.ledger.db import Database, Json

_BATCH = 200


def insert_rows(db: Database, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert dict rows (same keys) and set each row's generated `id` in place."""
    if not rows:
        return
    columns = list(rows[0])
    placeholder = "(" + ", ".join("?" * len(columns)) + ")"
    for start in range(0, len(rows), _BATCH):
        chunk = rows[start:start + _BATCH]
        params = [_value(row[c]) for row in chunk for c in columns]
        created = db.query(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([placeholder] * len(chunk))} RETURNING id",
            params)
        if len(created) != len(chunk):
            raise RuntimeError(f"insert into {table}: {len(created)} ids for {len(chunk)} rows")
        # Ids come from one sequence in insertion order; sorting pairs them with the rows as written.
        for row, new_id in zip(chunk, sorted(int(r["id"]) for r in created)):
            row["id"] = new_id


def _value(value: Any) -> Any:
    return Json(value) if isinstance(value, (dict, list)) else value
