"""One heartbeat row per component, refreshed every cycle (`milkbot status` and go/no-go read it)."""

from __future__ import annotations

from typing import Any

from daemon.clock import Clock
from daemon.ledger.db import Database, Json


def beat(db: Database, clock: Clock, component: str, run_id: int | None, status: str, detail: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO ops.heartbeats (component, run_id, beat_at, status, detail) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (component) DO UPDATE SET run_id = excluded.run_id, beat_at = excluded.beat_at,"
        " status = excluded.status, detail = excluded.detail",
        [component, run_id, clock.now(), status, Json(detail)],
    )


def last_beat(db: Database, component: str) -> dict[str, Any] | None:
    return db.query_one("SELECT * FROM ops.heartbeats WHERE component = ?", [component])
