"""Weather ingestion settings: NWS endpoint, user agent, staleness thresholds (finite, bounded: a city whose data
may be days old is not "fresh")."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WeatherConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # api.weather.gov requires a User-Agent naming the app and a contact (403 without one).
    nws_base_url: str = "https://api.weather.gov"
    user_agent: str = "milkbot/0.1 (ops@milkbot.invalid)"
    connect_timeout_seconds: float = Field(5.0, gt=0, le=300)
    read_timeout_seconds: float = Field(15.0, gt=0, le=300)
    # A forecast whose updateTime is older than this is stale (WFOs refresh at least twice a day).
    max_forecast_age_minutes: int = Field(12 * 60, ge=1, le=48 * 60)
    # The latest usable observation may be this old before the city is stale (ingestion lags 30 min+).
    max_observation_age_minutes: int = Field(90, ge=1, le=24 * 60)
    # /points mappings change without notice when a WFO redefines its grid: re-resolve this often.
    gridpoint_ttl_hours: int = Field(24, ge=1, le=30 * 24)
    poll_interval_minutes: int = Field(10, ge=1, le=24 * 60)
