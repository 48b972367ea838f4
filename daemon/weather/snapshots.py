"""Weather snapshots: what the daemon knew about a city's climate day, and when it learned it.

Every row carries issued_at (when the source issued it), valid_at (the instant the values describe),
received_at (when we had it — the as-of key) and the raw payload, so a decision can be replayed.
Storing refuses naive datetimes and NaN/absurd temperatures: bad input never reaches the ledger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from daemon.clock import ensure_utc
from daemon.ledger.db import Database, Json
from daemon.weather.errors import WeatherParseError
from daemon.weather.units import checked_f

# "recorded": replayed from a recorded data directory (daemon/weather/recorded.py, the backtester).
SOURCES = frozenset({"nws_forecast", "nws_hourly", "nws_observations", "cli", "assembled", "sim", "recorded"})


@dataclass(frozen=True)
class WeatherSnapshot:
    city_code: str
    climate_day: date
    source: str
    issued_at: datetime | None
    valid_at: datetime | None
    received_at: datetime
    forecast_high_f: float | None
    hourly_max_f: float | None
    observed_max_f: float | None
    observed_until: datetime | None
    payload: dict[str, Any] = field(default_factory=dict)

    def validated(self) -> WeatherSnapshot:
        """Raise WeatherParseError (or ValueError for naive times) unless every field is storable."""
        if self.source not in SOURCES:
            raise WeatherParseError(f"unknown weather source {self.source!r}; expected one of {sorted(SOURCES)}")
        ensure_utc(self.received_at)
        for instant in (self.issued_at, self.valid_at, self.observed_until):
            if instant is not None:
                ensure_utc(instant)
        for value in (self.forecast_high_f, self.hourly_max_f, self.observed_max_f):
            if value is not None:
                checked_f(value)
        if not isinstance(self.payload, dict):
            raise WeatherParseError("snapshot payload must be a dict")
        return self


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else ensure_utc(value)


def store_snapshot(db: Database, snap: WeatherSnapshot) -> int:
    """Insert one snapshot into ops.weather_snapshots; returns its id."""
    snap.validated()
    row = db.query_one(
        "INSERT INTO ops.weather_snapshots (city_code, climate_day, source, issued_at, valid_at, received_at,"
        " forecast_high_f, hourly_max_f, observed_max_f, observed_until, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            snap.city_code,
            snap.climate_day,
            snap.source,
            _utc(snap.issued_at),
            _utc(snap.valid_at),
            ensure_utc(snap.received_at),
            snap.forecast_high_f,
            snap.hourly_max_f,
            snap.observed_max_f,
            _utc(snap.observed_until),
            Json(snap.payload),
        ),
    )
    assert row is not None
    return int(row["id"])


def snapshot_from_row(row: dict[str, Any]) -> WeatherSnapshot:
    """The dataclass view of an ops.weather_snapshots row (id dropped)."""
    return WeatherSnapshot(
        city_code=row["city_code"],
        climate_day=row["climate_day"],
        source=row["source"],
        issued_at=row["issued_at"],
        valid_at=row["valid_at"],
        received_at=row["received_at"],
        forecast_high_f=_float(row["forecast_high_f"]),
        hourly_max_f=_float(row["hourly_max_f"]),
        observed_max_f=_float(row["observed_max_f"]),
        observed_until=row["observed_until"],
        payload=row["payload"] if isinstance(row["payload"], dict) else {},
    )


def _float(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number
