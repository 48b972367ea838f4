"""WeatherConfig: defaults, strictness, and wiring into the client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from daemon.config import Settings
from daemon.weather.config import WeatherConfig
from daemon.weather.nws import NwsClient


def test_defaults_are_sane() -> None:
    config = Settings().weather
    assert config.nws_base_url == "https://api.weather.gov"
    assert "@" in config.user_agent  # NWS asks for a contact in the User-Agent
    assert config.max_observation_age_minutes < config.max_forecast_age_minutes


def test_unknown_and_invalid_fields_refused() -> None:
    with pytest.raises(ValidationError):
        WeatherConfig(nws_url="x")
    with pytest.raises(ValidationError):
        WeatherConfig(max_forecast_age_minutes=0)
    with pytest.raises(ValidationError):
        WeatherConfig(read_timeout_seconds=-1)


def test_client_from_config(clock) -> None:
    config = WeatherConfig(nws_base_url="http://127.0.0.1:9/", max_forecast_age_minutes=60, gridpoint_ttl_hours=6)
    with NwsClient.from_config(config, clock) as client:
        assert client.max_forecast_age == timedelta(hours=1) and client.gridpoint_ttl == timedelta(hours=6)
        assert str(client._http.base_url) == "http://127.0.0.1:9"
