"""Listing of daily-high events and their six bracket markets, shaped like Kalshi's listings.

The rules text follows Kalshi's era (daemon.settlement.rules): days from 2026-08-14 cite the station's CLI code and
The Weather Company; earlier days name the station and the NWS Daily Climate Report.

Day D of a city: created D−1 09:30Z, opens D−1 14:00Z, closes at the end of the LST climate day
(00:00 LST on D+1), expected expiration D+1 19:00Z, latest D+7 14:00Z. The ladder is two tails and four
2 °F `between` brackets around the forecast known at creation (climatology when there is none).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from daemon.cities import City
from daemon.exchange.sim.state import SimEvent, SimMarket
from daemon.settlement.rules import TWC_FROM
from daemon.simulation.truth import TruthSource

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_RULE = ("If the maximum temperature recorded at {station} ({cli}) for {date}, is {cond} fahrenheit "
         "according to The Weather Company, then the market resolves to Yes.")
_NWS_RULE = ("If the highest temperature recorded in {station} for {date} as reported by the National Weather "
             "Service's Daily Climate Report, is {cond}, then the market resolves to Yes.")


def event_ticker(series: str, day: date) -> str:
    return f"{series}-{day:%y}{_MONTHS[day.month - 1]}{day:%d}"


def human_date(day: date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def created_time(day: date) -> datetime:
    return datetime.combine(day - timedelta(days=1), time(9, 30), tzinfo=UTC)


def open_time(day: date) -> datetime:
    return datetime.combine(day - timedelta(days=1), time(14, 0), tzinfo=UTC)


def rules_text(city: City, day: date, cond: str) -> str:
    """The market's rules_primary as Kalshi words it for that climate day's era."""
    if day >= TWC_FROM:
        place = city.name if city.code != "NYC" else "New York City"
        return _RULE.format(station=place, cli=city.cli_code, date=human_date(day), cond=cond)
    return _NWS_RULE.format(station=city.station_name, date=f"{day:%B} {day.day}, {day.year}", cond=cond)


def ladder_base(truth: TruthSource, city: City, day: date) -> int:
    """Floor strike of the lowest `between` bracket: the centre of the ladder minus 3."""
    centre = truth.forecast_high(city.code, day, created_time(day))
    if centre is None:
        centre = truth.climatology(city.code, day)[0]
    return round(centre) - 3


def build_event(city: City, day: date, truth: TruthSource) -> tuple[SimEvent, list[SimMarket]]:
    series = city.series[0]
    ticker = event_ticker(series, day)
    close = city.climate_day_bounds(day)[1]
    label = human_date(day)
    place = city.name if city.code != "NYC" else "New York City"
    event = SimEvent(ticker, series, city.code, day, f"Highest temperature in {place} on {label}?",
                     f"On {label}", close)
    base = ladder_base(truth, city, day)
    specs: list[tuple[str, str, int | None, int | None, str, str, str]] = [
        (f"T{base}", "less", None, base, f"{base - 1}° or below", f"<{base}°", f"less than {base}°")]
    for lo in range(base, base + 8, 2):
        specs.append((f"B{lo}.5", "between", lo, lo + 1, f"{lo}° to {lo + 1}°", f"{lo}-{lo + 1}°",
                      f"between {lo}-{lo + 1}°"))
    top = base + 7
    specs.append((f"T{top}", "greater", top, None, f"{top + 1}° or above", f">{top}°", f"greater than {top}°"))
    markets = []
    for suffix, strike_type, floor, cap, subtitle, short, cond in specs:
        markets.append(SimMarket(
            ticker=f"{ticker}-{suffix}", event_ticker=ticker, series_ticker=series, city_code=city.code,
            day=day, strike_type=strike_type, floor_strike=floor, cap_strike=cap, yes_sub_title=subtitle,
            title=f"Will the maximum temperature be {short} on {label}?",
            rules_primary=rules_text(city, day, cond),
            created_time=created_time(day), open_time=open_time(day), close_time=close,
            expected_expiration_time=datetime.combine(day + timedelta(days=1), time(19, 0), tzinfo=UTC),
            latest_expiration_time=datetime.combine(day + timedelta(days=7), time(14, 0), tzinfo=UTC),
            occurrence_datetime=datetime.combine(day + timedelta(days=1), time(14, 0), tzinfo=UTC),
            updated_time=created_time(day)))
        event.market_tickers.append(markets[-1].ticker)
    return event, markets
