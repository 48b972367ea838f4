"""Parsers for NWS forecasts: 12-hour periods, hourly periods and the raw gridpoint layers.

Pure: payload dicts in, typed values out. Every daily maximum computed here buckets hours by the city's
fixed local-standard-time day (the climate day), never the civil zone. Freshness is checked by
`check_current`, which the client runs on every forecast it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from daemon.cities import City
from daemon.weather.errors import StaleForecastError, WeatherParseError
from daemon.weather.units import (
    c_to_f,
    checked_celsius,
    checked_f,
    encoded_integer_f,
    parse_instant,
    parse_interval,
    quantity_to_f,
    unit_is,
)


@dataclass(frozen=True)
class ForecastPeriod:
    number: int
    name: str
    start: datetime
    end: datetime
    is_daytime: bool
    temperature_f: float | None

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True)
class Forecast:
    """A /forecast or /forecast/hourly document."""

    generated_at: datetime | None
    update_time: datetime | None
    periods: tuple[ForecastPeriod, ...]

    @property
    def issued_at(self) -> datetime | None:
        """When the WFO grids behind this forecast were updated (falls back to generatedAt)."""
        return self.update_time or self.generated_at


def _period_temperature_f(period: Mapping[str, Any]) -> float | None:
    """Both shapes: bare integer + temperatureUnit (deprecated) or a QuantitativeValue (feature flag)."""
    value = period.get("temperature")
    if isinstance(value, dict):
        return quantity_to_f(value)
    if value is None:
        return None
    unit = period.get("temperatureUnit", "F")
    if unit == "F":
        return checked_f(value)
    if unit == "C":
        return c_to_f(checked_celsius(value))
    raise WeatherParseError(f"unknown temperatureUnit {unit!r}")


def _parse_period(raw: Mapping[str, Any]) -> ForecastPeriod:
    try:
        start, end = parse_instant(raw["startTime"]), parse_instant(raw["endTime"])
        number = int(raw.get("number", 0))
    except (KeyError, TypeError, ValueError) as exc:
        raise WeatherParseError(f"forecast period without valid times: {exc}") from None
    if end <= start:
        raise WeatherParseError(f"forecast period {number} ends before it starts")
    return ForecastPeriod(
        number=number,
        name=str(raw.get("name") or ""),
        start=start,
        end=end,
        is_daytime=bool(raw.get("isDaytime")),
        temperature_f=_period_temperature_f(raw),
    )


def _optional_instant(props: Mapping[str, Any], key: str) -> datetime | None:
    return parse_instant(props[key]) if props.get(key) else None


def parse_forecast(payload: Mapping[str, Any]) -> Forecast:
    """A /gridpoints/{wfo}/{x},{y}/forecast[/hourly] GeoJSON document."""
    props = payload.get("properties") if isinstance(payload, Mapping) else None
    if not isinstance(props, Mapping) or not isinstance(props.get("periods"), list):
        raise WeatherParseError("forecast payload has no properties.periods")
    periods = tuple(sorted((_parse_period(p) for p in props["periods"]), key=lambda p: p.start))
    if not periods:
        raise WeatherParseError("forecast has no periods")
    return Forecast(
        generated_at=_optional_instant(props, "generatedAt"),
        update_time=_optional_instant(props, "updateTime") or _optional_instant(props, "updated"),
        periods=periods,
    )


def check_current(forecast: Forecast, now: datetime, max_age: timedelta) -> None:
    """Raise StaleForecastError unless the forecast is recent and its first period contains `now`.

    Stale CDN edges have served yesterday's document with a 200 (api#71); this is the defence.
    """
    issued = forecast.issued_at
    if issued is None:
        raise StaleForecastError("forecast carries neither updateTime nor generatedAt")
    if issued > now + timedelta(minutes=5):
        raise StaleForecastError(f"forecast updateTime {issued.isoformat()} is in the future (clock skew?)")
    if now - issued > max_age:
        raise StaleForecastError(f"forecast updated {issued.isoformat()} is older than {max_age}")
    first = forecast.periods[0]
    if not first.contains(now):
        raise StaleForecastError(
            f"first period {first.start.isoformat()}..{first.end.isoformat()} does not contain now {now.isoformat()}"
        )


def daytime_high_f(forecast: Forecast, city: City, day: date) -> float | None:
    """The daytime period's temperature for LST date `day` (the forecast high), or None if not offered."""
    for period in forecast.periods:
        if period.is_daytime and period.start.astimezone(city.lst).date() == day:
            return period.temperature_f
    return None


def hourly_max_f(forecast: Forecast, city: City, day: date, after: datetime | None = None) -> float | None:
    """Max of hourly periods starting inside the LST day (optionally only those starting at/after `after`)."""
    start, end = city.climate_day_bounds(day)
    temps = [
        p.temperature_f
        for p in forecast.periods
        if start <= p.start < end and p.temperature_f is not None and (after is None or p.end > after)
    ]
    return max(temps) if temps else None


# -- raw gridpoint layers ------------------------------------------------------------------------------
@dataclass(frozen=True)
class GridValue:
    start: datetime
    end: datetime
    value_c: float | None


def parse_grid_layer(grid: Mapping[str, Any], name: str) -> tuple[GridValue, ...]:
    """One numeric layer of /gridpoints/{wfo}/{x},{y} (`maxTemperature`, `temperature`, …), in °C."""
    props = grid.get("properties", grid)
    layer = props.get(name) if isinstance(props, Mapping) else None
    if not isinstance(layer, Mapping) or not isinstance(layer.get("values"), list):
        raise WeatherParseError(f"gridpoint layer {name!r} is missing")
    if not unit_is(layer.get("uom"), "degC"):
        raise WeatherParseError(f"gridpoint layer {name!r} has unit {layer.get('uom')!r}, expected degC")
    values = []
    for item in layer["values"]:
        start, end = parse_interval(item.get("validTime"))
        raw = item.get("value")
        values.append(GridValue(start, end, None if raw is None else checked_celsius(raw)))
    return tuple(sorted(values, key=lambda v: v.start))


def grid_max_temperature_f(grid: Mapping[str, Any], city: City, day: date) -> int | None:
    """NDFD maxTemperature (≈7 AM–7 PM LST daytime max) for LST date `day`, as the forecaster's integer °F."""
    for value in parse_grid_layer(grid, "maxTemperature"):
        if value.value_c is not None and value.start.astimezone(city.lst).date() == day:
            return encoded_integer_f(value.value_c)
    return None


def grid_hourly_max_f(grid: Mapping[str, Any], city: City, day: date) -> int | None:
    """Max of the hourly `temperature` layer over intervals overlapping the LST day, integer °F.

    Merged intervals (equal consecutive hours) count if any part overlaps the day.
    """
    start, end = city.climate_day_bounds(day)
    temps = [
        encoded_integer_f(v.value_c)
        for v in parse_grid_layer(grid, "temperature")
        if v.value_c is not None and v.start < end and v.end > start
    ]
    return max(temps) if temps else None


def grid_update_time(grid: Mapping[str, Any]) -> datetime | None:
    props = grid.get("properties", grid)
    return _optional_instant(props, "updateTime") if isinstance(props, Mapping) else None
