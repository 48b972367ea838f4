"""The one door through which the model reads weather: nothing received after the decision time.

`AsOfWeather` filters on received_at <= as_of in SQL and then re-checks every row it returns; a row
from the future — whether the query was wrong or a caller hands one in — raises LookAheadError rather
than leaking information a live system could not have had.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from daemon.clock import ensure_utc
from daemon.ledger.db import Database

_COLUMNS = (
    "id, city_code, climate_day, source, issued_at, valid_at, received_at, forecast_high_f,"
    " hourly_max_f, observed_max_f, observed_until, payload"
)


class LookAheadError(RuntimeError):
    """A weather row received after the decision time was about to be used."""


def check_as_of(rows: Iterable[dict[str, Any]], as_of: datetime) -> None:
    """Raise LookAheadError if any row was received after `as_of` (or has no received_at)."""
    cutoff = ensure_utc(as_of)
    for row in rows:
        received = row.get("received_at")
        if received is None or ensure_utc(received) > cutoff:
            raise LookAheadError(
                f"weather row {row.get('id')} for {row.get('city_code')} received at {received} "
                f"is after the decision time {cutoff.isoformat()}"
            )


class AsOfWeather:
    def __init__(self, db: Database) -> None:
        self.db = db

    def latest(
        self, city_code: str, climate_day: date, as_of: datetime, source: str | None = None
    ) -> dict[str, Any] | None:
        """The newest snapshot for (city, day) received at or before `as_of`, optionally of one source."""
        cutoff = ensure_utc(as_of)
        sql = f"SELECT {_COLUMNS} FROM ops.weather_snapshots WHERE city_code = ? AND climate_day = ? AND received_at <= ?"
        params: list[Any] = [city_code, climate_day, cutoff]
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        row = self.db.query_one(sql + " ORDER BY received_at DESC, id DESC LIMIT 1", params)
        return self.checked(row, cutoff)

    def by_id(self, snapshot_id: int, as_of: datetime) -> dict[str, Any] | None:
        """A snapshot by id (replay), refusing it if it was received after `as_of`."""
        row = self.db.query_one(f"SELECT {_COLUMNS} FROM ops.weather_snapshots WHERE id = ?", (snapshot_id,))
        return self.checked(row, as_of)

    def history(self, city_code: str, climate_day: date, as_of: datetime) -> list[dict[str, Any]]:
        """Every snapshot for (city, day) received at or before `as_of`, oldest first."""
        cutoff = ensure_utc(as_of)
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM ops.weather_snapshots WHERE city_code = ? AND climate_day = ?"
            " AND received_at <= ? ORDER BY received_at, id",
            (city_code, climate_day, cutoff),
        )
        check_as_of(rows, cutoff)
        return rows

    @staticmethod
    def checked(row: dict[str, Any] | None, as_of: datetime) -> dict[str, Any] | None:
        """Hand a row through the look-ahead guard (None passes)."""
        if row is not None:
            check_as_of([row], as_of)
        return row
