"""Local exchange simulator settings: balances, liquidity agents, faults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SimConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
