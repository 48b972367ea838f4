"""Per-city freshness of the weather the model would use: fresh, stale, invalid or missing — with reasons.

Anything but "fresh" makes the city untradeable for that cycle; the reasons go into the decision row
and the risk breaker. Never repairs or guesses a value. Never reads the wall clock (`now` is passed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from daemon.cities import City
from daemon.clock import ensure_utc
from daemon.weather.units import MAX_PLAUSIBLE_F, MIN_PLAUSIBLE_F

State = Literal["fresh", "stale", "invalid", "missing"]
# Sources that promise station observations during the day; for others (e.g. a simulation replaying only
# settled highs) observations are checked for age when present but not required.
OBSERVING_SOURCES = frozenset({"assembled", "nws_observations"})
_TEMPERATURES = ("forecast_high_f", "hourly_max_f", "observed_max_f")


@dataclass(frozen=True)
class Freshness:
    state: State
    reasons: list[str] = field(default_factory=list)

    @property
    def tradeable(self) -> bool:
        return self.state == "fresh"


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _invalid_reasons(row: dict[str, Any], now: datetime, city: City) -> list[str]:
    reasons = []
    if row.get("city_code") != city.code:
        reasons.append(f"wrong_city:{row.get('city_code')}")
    received = row.get("received_at")
    if received is None:
        reasons.append("no_received_at")
    elif ensure_utc(received) > now:
        reasons.append("received_after_now")
    for name in _TEMPERATURES:
        value = row.get(name)
        if value is None:
            continue
        number = float(value)
        if not math.isfinite(number) or not MIN_PLAUSIBLE_F <= number <= MAX_PLAUSIBLE_F:
            reasons.append(f"implausible_{name}:{value}")
    if row.get("forecast_high_f") is None:
        reasons.append("no_forecast_high")
    if row.get("issued_at") is None:
        reasons.append("no_issued_at")
    errors = (row.get("payload") or {}).get("errors") if isinstance(row.get("payload"), dict) else None
    if reasons and errors:
        reasons.extend(f"source_error:{e}" for e in errors)
    return reasons


def _stale_reasons(
    row: dict[str, Any], now: datetime, city: City, max_forecast_age: timedelta, max_obs_age: timedelta
) -> list[str]:
    reasons = []
    issued_age = now - ensure_utc(row["issued_at"])
    if issued_age > max_forecast_age:
        reasons.append(f"forecast_age_{_minutes(issued_age)}m>{_minutes(max_forecast_age)}m")
    received_age = now - ensure_utc(row["received_at"])
    if received_age > max_obs_age:
        reasons.append(f"snapshot_age_{_minutes(received_age)}m>{_minutes(max_obs_age)}m")
    start, end = city.climate_day_bounds(row["climate_day"])
    if start + max_obs_age <= now < end:  # the day is under way: observations must be current
        until = row.get("observed_until")
        if until is None:
            if row.get("source") in OBSERVING_SOURCES:
                reasons.append("no_observations_today")
        elif now - ensure_utc(until) > max_obs_age:
            reasons.append(f"observation_age_{_minutes(now - ensure_utc(until))}m>{_minutes(max_obs_age)}m")
    return reasons


def assess(
    row: dict[str, Any] | None,
    now: datetime,
    city: City,
    max_forecast_age: timedelta,
    max_obs_age: timedelta,
) -> Freshness:
    """Classify the weather row the model would use for `city` at `now`."""
    if row is None:
        return Freshness("missing", ["no_weather_snapshot"])
    now = ensure_utc(now)
    invalid = _invalid_reasons(row, now, city)
    if invalid:
        return Freshness("invalid", invalid)
    stale = _stale_reasons(row, now, city, max_forecast_age, max_obs_age)
    if stale:
        return Freshness("stale", stale)
    return Freshness("fresh", [])
