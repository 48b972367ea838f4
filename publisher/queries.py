"""Reads the analytics functions as of the cut-off and checks the embargo a second time.

The database already refuses rows younger than the cut-off; every row is checked again here, and a row that
breaks the embargo stops the build (`EmbargoError`) — publishing nothing beats publishing early.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from publisher.db import Reader


class EmbargoError(RuntimeError):
    """A row newer than the cut-off reached the publisher."""


class FutureCutoffError(EmbargoError):
    """The publish time is ahead of the database clock, so the database would not honour the cut-off.

    On Postgres the analytics functions clamp every cut-off to the database's own `now() − 60 min`, so the
    publisher role can never read younger rows, whatever time it asks for (DESIGN invariant 1). That clamp
    stays in production. A publish time (`--as-of`, a simulated clock) in the database's future would get
    data as of the clamp while the pages claim the later as-of: refused instead, before anything is built.
    DuckDB (the embedded mode, one process, no roles) has no clamp and follows the simulated clock.
    """

    def __init__(self, cutoff: datetime, database_cutoff: datetime, delay: timedelta) -> None:
        self.cutoff, self.database_cutoff = cutoff, database_cutoff
        latest = database_cutoff.replace(second=0, microsecond=0) + delay
        super().__init__(
            f"publish time {cutoff + delay:%Y-%m-%dT%H:%MZ} is ahead of the database clock: Postgres shows the "
            f"publisher nothing newer than its now() − 60 min ({database_cutoff:%Y-%m-%dT%H:%M:%SZ}); "
            f"use --as-of {latest:%Y-%m-%dT%H:%MZ} or earlier")


@dataclass(frozen=True, slots=True)
class PublicTrade:
    seq: int
    trade_time: datetime
    city_code: str
    ticker: str
    climate_day: date
    side: str
    action: str
    count: Decimal
    price: Decimal
    fee: Decimal
    liquidity: str
    p_side: float | None
    market_result: str | None
    settled_at: datetime | None
    pnl: Decimal | None
    strategy: str | None


@dataclass(frozen=True, slots=True)
class CityWeather:
    city_code: str
    climate_day: date | None
    observed_max_f: float | None
    observed_until: datetime | None
    observed_at: datetime | None
    forecast_high_f: float | None
    forecast_day: date | None
    forecast_at: datetime | None


@dataclass(frozen=True, slots=True)
class SystemStatus:
    cutoff: datetime
    mode: str | None
    trading_state: str | None
    kill_switch: bool | None
    last_decision_at: datetime | None
    decisions_24h: int
    last_market_data_at: datetime | None
    last_weather_at: datetime | None
    last_fill_at: datetime | None
    risk_warning_24h: int
    risk_critical_24h: int


def _check(cutoff: datetime, what: str, *stamps: datetime | None) -> None:
    for stamp in stamps:
        if stamp is not None and stamp > cutoff:
            raise EmbargoError(f"{what} stamped {stamp.isoformat()} is after the cut-off {cutoff.isoformat()}")


_TRADES_SQL = (
    "SELECT seq, trade_time AT TIME ZONE 'UTC' AS trade_time, city_code, ticker, climate_day, side, action, "
    "CAST(count AS VARCHAR) AS count, CAST(price AS VARCHAR) AS price, CAST(fee AS VARCHAR) AS fee, liquidity, "
    "p_side, market_result, settled_at AT TIME ZONE 'UTC' AS settled_at, CAST(pnl AS VARCHAR) AS pnl, "
    "strategy FROM analytics.public_trades(?) ORDER BY seq"
)
_DECIMALS = ("count", "price", "fee")


def iter_public_trades(reader: Reader, cutoff: datetime) -> Iterator[PublicTrade]:
    """Every public trade as of the cut-off, oldest first (streamed: histories can be long)."""
    # Times come back as naive UTC and decimals as exact text, converted here: the drivers' own conversions
    # (pytz zones, DECIMAL objects in DuckDB) were about a third of the build time for long histories.
    for row in reader.stream(_TRADES_SQL, [cutoff]):
        row["trade_time"] = row["trade_time"].replace(tzinfo=UTC)
        if row["settled_at"] is not None:
            row["settled_at"] = row["settled_at"].replace(tzinfo=UTC)
        for name in _DECIMALS:
            row[name] = Decimal(row[name])
        if row["pnl"] is not None:
            row["pnl"] = Decimal(row["pnl"])
        trade = PublicTrade(**row)
        _check(cutoff, f"trade #{trade.seq}", trade.trade_time, trade.settled_at)
        yield trade


def city_weather(reader: Reader, cutoff: datetime) -> dict[str, CityWeather]:
    rows = reader.query("SELECT * FROM analytics.city_weather(?) ORDER BY city_code", [cutoff])
    out = {}
    for row in rows:
        weather = CityWeather(**row)
        _check(cutoff, f"weather {weather.city_code}", weather.observed_at, weather.forecast_at,
               weather.observed_until)
        out[weather.city_code] = weather
    return out


def database_cutoff(reader: Reader, cutoff: datetime) -> datetime:
    """The cut-off the database will actually apply (Postgres clamps it to its own now() − 60 min)."""
    return reader.query("SELECT cutoff FROM analytics.system_status(?)", [cutoff])[0]["cutoff"]


def check_database_clock(reader: Reader, cutoff: datetime, delay: timedelta) -> None:
    """Refuse, before anything is built, a cut-off the database would silently move (see FutureCutoffError)."""
    applied = database_cutoff(reader, cutoff)
    if applied != cutoff:
        raise FutureCutoffError(cutoff, applied, delay)


def system_status(reader: Reader, cutoff: datetime) -> SystemStatus:
    row = reader.query("SELECT * FROM analytics.system_status(?)", [cutoff])[0]
    status = SystemStatus(**row)
    _check(cutoff, "status", status.last_decision_at, status.last_market_data_at, status.last_weather_at,
           status.last_fill_at)
    # Second lock (build_site checks first): a moved cut-off means the data is older than the page would claim.
    if status.cutoff != cutoff:
        raise EmbargoError(f"the database moved the cut-off to {status.cutoff.isoformat()}: the publish time "
                           f"is ahead of the database clock (asked for {cutoff.isoformat()})")
    return status
