"""Probability model settings: parameter location, ensemble weights."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ModelConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Which stored parameter set the daemon prices with: None = the newest row of ops.model_params
    # (default_params() when the table is empty).
    params_id: int | None = Field(None, ge=1)
    # The market-implied member may be switched off (e.g. to trade purely on weather).
    use_market_member: bool = True
    # An event is priced only if at least this share of its ladder has a known price for the market member.
    min_market_coverage: float = Field(0.5, ge=0.0, le=1.0)
