"""Probability model settings: parameter location, ensemble weights."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ModelConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
