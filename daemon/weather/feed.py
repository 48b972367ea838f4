"""Weather feeds: assemble one WeatherSnapshot per (city, climate day) per poll.

`NwsWeatherFeed` combines the 12-hour forecast (the day's forecast high), the hourly forecast (max over
the LST day), the raw grid (maxTemperature / hourly temperature, as integer °F, kept in the payload) and
the settlement station's observations (max so far on the LST day). Each part may fail on its own: the
error is recorded in `payload["errors"]` and the field left None — freshness then marks the city
untradeable. Never reads the wall clock: received_at comes from the injected clock.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from daemon.cities import City, CityRegistry
from daemon.clock import Clock, ensure_utc
from daemon.weather.config import WeatherConfig
from daemon.weather.errors import WeatherError
from daemon.weather.forecast import (
    daytime_high_f,
    grid_hourly_max_f,
    grid_max_temperature_f,
    grid_update_time,
    hourly_max_f,
)
from daemon.weather.nws import NwsClient
from daemon.weather.observations import Observation, observed_max
from daemon.weather.snapshots import WeatherSnapshot
from daemon.weather.units import checked_f, parse_instant

log = logging.getLogger(__name__)


@runtime_checkable
class WeatherFeed(Protocol):
    def remember_forecast_high(self, city_code: str, day: date, high_f: float, issued_at: datetime) -> None:
        """Seed the remembered high after a restart (e.g. from the last stored snapshot, read as-of)."""
        key = (city_code, day)
        issued_at = ensure_utc(issued_at)
        if key not in self._last_high or self._last_high[key][1] < issued_at:
            self._last_high[key] = (checked_f(high_f), issued_at)

    def poll(self, city: City, climate_day: date, now: datetime) -> WeatherSnapshot | None: ...


def _period_json(period: dict[str, Any]) -> dict[str, Any]:
    keys = ("number", "name", "startTime", "endTime", "isDaytime", "temperature", "temperatureUnit")
    return {k: period.get(k) for k in keys}


def _observation_json(obs: Observation) -> dict[str, Any]:
    return {
        "timestamp": obs.timestamp.isoformat(),
        "kind": obs.kind,
        "temperature_c": obs.temperature_c,
        "precise": obs.precise,
        "qc": obs.qc,
        "six_hour_max_c": obs.six_hour_max_c,
        "dropped": obs.dropped_reason,
        "raw": obs.raw_message,
    }


class NwsWeatherFeed:
    def __init__(self, client: NwsClient, registry: CityRegistry, clock: Clock, config: WeatherConfig) -> None:
        self.client = client
        self.registry = registry
        self.clock = clock
        self.config = config
        # The 12-hour forecast drops today's daytime period once it has passed; keep the last one seen
        # (with its own issue time, so freshness ages it honestly) instead of inventing a value.
        self._last_high: dict[tuple[str, date], tuple[float, datetime]] = {}

    def remember_forecast_high(self, city_code: str, day: date, high_f: float, issued_at: datetime) -> None:
        """Seed the remembered high after a restart (e.g. from the last stored snapshot, read as-of)."""
        key = (city_code, day)
        issued_at = ensure_utc(issued_at)
        if key not in self._last_high or self._last_high[key][1] < issued_at:
            self._last_high[key] = (checked_f(high_f), issued_at)

    def poll(self, city: City, climate_day: date, now: datetime) -> WeatherSnapshot | None:
        now = ensure_utc(now)
        payload: dict[str, Any] = {"errors": [], "climate_day": climate_day.isoformat()}
        high, issued_at, valid_at = self._forecast_part(city, climate_day, payload)
        hourly_max = self._hourly_part(city, climate_day, now, payload)
        self._grid_part(city, climate_day, payload)
        obs_max, obs_until = self._observation_part(city, climate_day, now, payload)
        if high is None and hourly_max is None and obs_max is None and payload["errors"]:
            log.warning("weather poll for %s %s produced nothing: %s", city.code, climate_day, payload["errors"])
            return None
        grid = self.client.known_gridpoint(city.code)
        payload["gridpoint"] = {"path": grid.path, "resolved_at": grid.resolved_at.isoformat()} if grid else None
        return WeatherSnapshot(
            city_code=city.code,
            climate_day=climate_day,
            source="assembled",
            issued_at=issued_at,
            valid_at=valid_at or obs_until,
            received_at=self.clock.now(),
            forecast_high_f=high,
            hourly_max_f=hourly_max,
            observed_max_f=obs_max,
            observed_until=obs_until,
            payload=payload,
        )

    def _fail(self, payload: dict[str, Any], part: str, exc: Exception) -> None:
        payload["errors"].append(f"{part}:{type(exc).__name__}:{exc}")

    def _forecast_part(
        self, city: City, day: date, payload: dict[str, Any]
    ) -> tuple[float | None, datetime | None, datetime | None]:
        try:
            forecast, response = self.client.forecast(city)
        except WeatherError as exc:
            self._fail(payload, "forecast", exc)
            return self._remembered_high(city, day, payload)
        payload["forecast"] = {
            "updateTime": forecast.issued_at.isoformat() if forecast.issued_at else None,
            "not_modified": response.not_modified,
            "periods": [_period_json(p) for p in response.payload["properties"]["periods"]],
        }
        high = daytime_high_f(forecast, city, day)
        if high is None or forecast.issued_at is None:
            return self._remembered_high(city, day, payload)
        self._last_high[(city.code, day)] = (high, forecast.issued_at)
        period = next(p for p in forecast.periods if p.is_daytime and p.start.astimezone(city.lst).date() == day)
        return high, forecast.issued_at, period.start

    def _remembered_high(
        self, city: City, day: date, payload: dict[str, Any]
    ) -> tuple[float | None, datetime | None, datetime | None]:
        remembered = self._last_high.get((city.code, day))
        if remembered is None:
            return None, None, None
        payload["forecast_high_from"] = "earlier_issuance"
        return remembered[0], remembered[1], None

    def _hourly_part(self, city: City, day: date, now: datetime, payload: dict[str, Any]) -> float | None:
        try:
            forecast, response = self.client.hourly_forecast(city)
        except WeatherError as exc:
            self._fail(payload, "hourly", exc)
            return None
        start, end = city.climate_day_bounds(day)
        payload["hourly"] = {
            "updateTime": forecast.issued_at.isoformat() if forecast.issued_at else None,
            "not_modified": response.not_modified,
            "periods": [  # only the LST day's hours: the whole week would bloat every snapshot
                _period_json(raw)
                for raw in response.payload["properties"]["periods"]
                if start <= parse_instant(raw["startTime"]) < end
            ],
        }
        return hourly_max_f(forecast, city, day)

    def _grid_part(self, city: City, day: date, payload: dict[str, Any]) -> None:
        try:
            grid = self.client.grid_data(city).payload
            update = grid_update_time(grid)
            payload["grid"] = {
                "updateTime": update.isoformat() if update else None,
                "max_temperature_f": grid_max_temperature_f(grid, city, day),
                "hourly_max_f": grid_hourly_max_f(grid, city, day),
            }
        except WeatherError as exc:
            self._fail(payload, "grid", exc)

    def _observation_part(
        self, city: City, day: date, now: datetime, payload: dict[str, Any]
    ) -> tuple[float | None, datetime | None]:
        start, end = city.climate_day_bounds(day)
        if now <= start:
            return None, None  # the day has not begun: nothing to observe yet
        try:
            observations, skipped, _ = self.client.observations(city, start, min(now, end))
        except WeatherError as exc:
            self._fail(payload, "observations", exc)
            return None, None
        summary = observed_max(observations, city, day, now)
        payload["observations"] = {
            "station": city.icao,
            "count": summary.count,
            "precise_count": summary.precise_count,
            "precise_max_f": summary.precise_max_f,
            "dropped": summary.dropped,
            "skipped": skipped,
            "readings": [_observation_json(o) for o in observations],
        }
        return summary.max_f, summary.until
