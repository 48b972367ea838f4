"""Publisher settings: target, output folder, R2/Pages credentials. Never holds a trading credential."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PublisherConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
