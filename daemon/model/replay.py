"""Point-in-time replay: the ModelInputs an event would have had at `decided_at`, from a Dataset.

Only trades stamped at or before decided_at (the reference market Brier's convention), observations stamped strictly
before it, and daily highs whose climate report would have been final by then are visible. A check after every
query raises LookAheadError if anything newer slipped through.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np

from daemon.model.api import ModelInputs
from daemon.model.data import Dataset, Event

# A day's final climate report is out ~1-2 h after the LST midnight (weather.md §A.1); assume 4 h to be safe.
FINAL_HIGH_DELAY = timedelta(hours=4)


class LookAheadError(RuntimeError):
    """Something stamped after the decision time reached the model."""


# The replay's stand-in for the mid price: the mean of the last few trades close to the latest one (a single last
# trade sits at the bid or the ask). The market's own Brier column still uses the single last trade.
MID_TRADES = 5
MID_WINDOW_MINUTES = 30


def last_trades(ds: Dataset, horizons: list[float]) -> dict[tuple[str, float], tuple[int, datetime, float]]:
    """(ticker, horizon) -> (last yes price in cents, its time, mid proxy in dollars) at/before close − horizon."""
    if not ds.has_trades or not horizons:
        return {}
    values = ", ".join(f"({float(h)})" for h in horizons)
    rows = ds.con.execute(f"""
        WITH cut AS (
            SELECT m.ticker, h.hours,
                   CAST(m.close_time AS TIMESTAMPTZ) - to_microseconds(CAST(h.hours * 3600e6 AS BIGINT)) AS cutoff
            FROM markets m CROSS JOIN (VALUES {values}) AS h(hours)),
        seen AS (
            SELECT c.ticker, c.hours, c.cutoff, t.yes_price, t.created_time,
                   row_number() OVER (PARTITION BY c.ticker, c.hours ORDER BY t.created_time DESC, t.trade_id DESC) AS rn,
                   max(t.created_time) OVER (PARTITION BY c.ticker, c.hours) AS latest
            FROM cut c JOIN trades t ON t.ticker = c.ticker AND t.created_time <= c.cutoff)
        SELECT ticker, hours, cutoff, max(CASE WHEN rn = 1 THEN yes_price END) AS price, max(created_time) AS at,
               avg(CASE WHEN rn <= {MID_TRADES} AND created_time >= latest - INTERVAL {MID_WINDOW_MINUTES} MINUTE
                        THEN yes_price END) / 100.0 AS mid
        FROM seen WHERE rn <= {MID_TRADES} GROUP BY ticker, hours, cutoff""").fetchall()
    out = {}
    for ticker, hours, cutoff, price, at, mid in rows:
        if at > cutoff:
            raise LookAheadError(f"trade {ticker} at {at} is after the decision time {cutoff}")
        out[(ticker, float(hours))] = (int(price), at, float(mid))
    return out


def last_known_high(ds: Dataset, city: str, day: date, decided_at: datetime) -> tuple[float, date] | None:
    """The newest settled high before `day` whose final climate report was out by decided_at."""
    highs = ds.highs.get(city, {})
    for back in range(1, 8):
        d = day - timedelta(days=back)
        if d in highs and ds.registry.get(city).climate_day_bounds(d)[1] + FINAL_HIGH_DELAY <= decided_at:
            return highs[d], d
    return None


def observed_so_far(ds: Dataset, city: str, day: date, decided_at: datetime) -> tuple[float, datetime] | None:
    """Max observed temperature of the LST day strictly before decided_at, and the time of the last reading."""
    if city not in ds.hourly:
        return None
    times, temps = ds.hourly[city]
    start, _ = ds.registry.get(city).climate_day_bounds(day)
    i0 = np.searchsorted(times, start.timestamp(), "left")
    i1 = np.searchsorted(times, decided_at.timestamp(), "left")
    if i1 <= i0:
        return None
    until = datetime.fromtimestamp(float(times[i1 - 1]), tz=UTC)
    if until >= decided_at:
        raise LookAheadError(f"observation at {until} is not before the decision time {decided_at}")
    return float(temps[i0:i1].max()), until


def inputs_at(ds: Dataset, event: Event, hours: float, trades: dict, use_market: bool = True) -> ModelInputs:
    decided_at = event.close_time - timedelta(hours=hours)
    prices = []
    if use_market:
        for ticker, _ in event.ladder:
            hit = trades.get((ticker, float(hours)))
            if hit is not None and hit[1] > decided_at:
                raise LookAheadError(f"trade {ticker} at {hit[1]} is after the decision time {decided_at}")
            prices.append((ticker, None if hit is None else Decimal(str(round(hit[2], 4)))))
    obs = observed_so_far(ds, event.city_code, event.climate_day, decided_at)
    last = last_known_high(ds, event.city_code, event.climate_day, decided_at)
    return ModelInputs(
        city_code=event.city_code, climate_day=event.climate_day, decided_at=decided_at,
        forecast_high_f=None, forecast_issued_at=None,  # no point-in-time forecast archive in the data
        observed_max_f=obs[0] if obs else None, observed_until=obs[1] if obs else None,
        brackets=event.ladder, market_yes_prices=tuple(prices),
        last_high_f=last[0] if last else None, last_high_day=last[1] if last else None,
        lst_offset_hours=event.lst_offset_hours)
