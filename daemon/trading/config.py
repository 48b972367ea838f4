"""Trading policy: risk caps, sizing, edge thresholds, breakers (filled in by the risk work)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TradingConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
