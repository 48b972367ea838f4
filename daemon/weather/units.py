"""Temperature units, plausibility checks and ISO-8601 intervals as the NWS API writes them.

Pure functions; never reads the clock.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from daemon.clock import ensure_utc
from daemon.weather.errors import ImplausibleValueError, WeatherParseError

MIN_PLAUSIBLE_F = -80.0
MAX_PLAUSIBLE_F = 135.0


def c_to_f(celsius: float) -> float:
    return celsius * 9.0 / 5.0 + 32.0


def round_half_up(value: float) -> int:
    """Round .5 away from zero (Python's round() is banker's rounding)."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def encoded_integer_f(celsius: float) -> int:
    """The integer °F a forecaster entered, from the °C float the grid stores (29.444… → 85).

    Grid values are integer °F converted to °C in double precision, so the round trip is exact to ~1e-9.
    """
    return round_half_up(c_to_f(checked_celsius(celsius)))


def checked_celsius(value: object) -> float:
    """A °C reading as float, refusing NaN/inf/absurd values and non-numbers (bool included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WeatherParseError(f"temperature {value!r} is not a number")
    checked_f(c_to_f(float(value)))
    return float(value)


def checked_f(value: float) -> float:
    """A °F value, refusing NaN, infinities and values outside what any US station records."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WeatherParseError(f"temperature {value!r} is not a number")
    if not math.isfinite(value):
        raise ImplausibleValueError(f"temperature {value!r} is not finite")
    if not MIN_PLAUSIBLE_F <= value <= MAX_PLAUSIBLE_F:
        raise ImplausibleValueError(f"temperature {value} °F is outside [{MIN_PLAUSIBLE_F}, {MAX_PLAUSIBLE_F}]")
    return float(value)


def unit_is(unit_code: str | None, suffix: str) -> bool:
    """Match a unit code on its suffix: the prefix changed once (`unit:degC` → `wmoUnit:degC`)."""
    return bool(unit_code) and str(unit_code).split(":")[-1].lower() == suffix.lower()


def quantity_to_f(quantity: dict | None) -> float | None:
    """A QuantitativeValue {unitCode, value} in °C or °F → °F (None when the value is null)."""
    if quantity is None or quantity.get("value") is None:
        return None
    unit = quantity.get("unitCode")
    if unit_is(unit, "degC"):
        return c_to_f(checked_celsius(quantity["value"]))
    if unit_is(unit, "degF"):
        return checked_f(quantity["value"])
    raise WeatherParseError(f"unknown temperature unit {unit!r}")


def parse_instant(text: str) -> datetime:
    """An ISO-8601 timestamp with an offset → aware UTC. Naive timestamps are refused."""
    try:
        value = datetime.fromisoformat(str(text))  # 3.11+ reads a trailing Z
    except ValueError:
        raise WeatherParseError(f"bad timestamp {text!r}") from None
    try:
        return ensure_utc(value)
    except ValueError:
        raise WeatherParseError(f"timestamp {text!r} has no UTC offset") from None


_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """ISO-8601 duration as used by NWS (`PT1H`, `PT13H`, `P1D`, `P6DT22H`, `P2DT3H30M`). No years/months."""
    match = _DURATION.match(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise WeatherParseError(f"bad ISO-8601 duration {text!r}")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(
        weeks=parts.get("weeks", 0),
        days=parts.get("days", 0),
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )


def parse_interval(text: str) -> tuple[datetime, datetime]:
    """`2026-01-15T12:00:00+00:00/PT6H` → (start, end) in UTC. Also accepts start/end form."""
    if not isinstance(text, str) or "/" not in text:
        raise WeatherParseError(f"bad ISO-8601 interval {text!r}")
    head, tail = text.split("/", 1)
    start = parse_instant(head)
    end = start + parse_duration(tail) if tail.startswith("P") else parse_instant(tail)
    if end <= start:
        raise WeatherParseError(f"empty or reversed interval {text!r}")
    return start, end
