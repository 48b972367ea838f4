"""Weather for the simulated world: what a TruthSource lets the daemon know as of a clock instant.

Only forecasts issued before `now` and observations up to `now` — never the settled value — so the daemon
sees in simulation exactly the kind of data NWS would give it. `blackout` makes a city's feed go silent
(tests and fault drills: stale data must stop trading in that city).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from daemon.cities import City
from daemon.runtime import parts


class TruthWeatherFeed:
    source = "sim"

    def __init__(self, truth: Any) -> None:
        self.truth = truth
        self.blackout: set[str] = set()

    def poll(self, city: City, climate_day: date, now: datetime) -> Any:
        if city.code in self.blackout:
            return None
        forecast = self.truth.forecast_high(city.code, climate_day, now)
        sigma = self.truth.forecast_sigma(city.code, climate_day, now)
        observed = self.truth.observed_max_until(city.code, climate_day, now)
        if forecast is None and observed is None:
            return None
        start, end = city.climate_day_bounds(climate_day)
        observed_until = min(now, end) if observed is not None else None
        return parts.weather_store.WeatherSnapshot(
            city_code=city.code, climate_day=climate_day, source=self.source,
            issued_at=now if forecast is not None else None, valid_at=start, received_at=now,
            forecast_high_f=forecast, hourly_max_f=None, observed_max_f=observed, observed_until=observed_until,
            payload={"truth": repr(self.truth), "forecast_sigma_f": sigma},
        )
