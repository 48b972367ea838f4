"""The climate day of an event: the ticker's date, a midnight-to-midnight local *standard* time day.

Parsing lives in `daemon.trading.intents.climate_day_from_ticker` (reused, not duplicated); this adds the strict form
settlement code wants (an error instead of None) and the event's UTC window from the city registry.
"""

from __future__ import annotations

from datetime import date, datetime

from daemon.cities import City
from daemon.trading.intents import climate_day_from_ticker

__all__ = ["TickerDateError", "event_climate_day", "event_window"]


class TickerDateError(ValueError):
    """A market or event ticker carries no valid `-YYMONDD` date."""


def event_climate_day(ticker: str) -> date:
    """`KXHIGHNY-26JAN15` (or a market ticker of it) → 2026-01-15; never read from close_time (already D+1 UTC)."""
    day = climate_day_from_ticker(ticker)
    if day is None:
        raise TickerDateError(f"no climate-day date in ticker {ticker!r}")
    return day


def event_window(ticker: str, city: City) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the LST climate day the event settles on."""
    return city.climate_day_bounds(event_climate_day(ticker))
