"""Weather ingestion settings: NWS endpoint, user agent, staleness thresholds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WeatherConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
