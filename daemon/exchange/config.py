"""Kalshi client settings: base URLs, credentials, rate limits, timeouts, retries.

Safe defaults: the demo environment, no credentials (public market data only), Basic-tier token buckets.
`key_id` and `private_key_path` are not secrets (the key file's *contents* are); key contents never
enter this object, so it is safe to log or hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, model_validator

PRODUCTION_BASE_URL = "https://external-api.kalshi.com/trade-api/v2"
DEMO_BASE_URL = "https://external-api.demo.kalshi.co/trade-api/v2"
API_PATH_PREFIX = "/trade-api/v2"


class RateLimitConfig(BaseModel):
    """Token buckets (Kalshi since 2026-04-23): tokens refill per second; most requests cost 10."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    read_tokens_per_s: float = Field(200.0, gt=0)     # Basic tier
    read_capacity: float = Field(400.0, gt=0)
    write_tokens_per_s: float = Field(100.0, gt=0)
    write_capacity: float = Field(100.0, gt=0)
    default_cost: float = Field(10.0, gt=0)
    cancel_cost: float = Field(2.0, gt=0)
    get_order_cost: float = Field(2.0, gt=0)
    # Keep a margin under the exchange's budget so clock drift between us and them never causes 429s.
    safety_factor: float = Field(0.9, gt=0, le=1)

    @model_validator(mode="after")
    def _cost_fits(self) -> RateLimitConfig:
        if self.default_cost > min(self.read_capacity, self.write_capacity):
            raise ValueError("default_cost exceeds a bucket capacity: no request could ever pass")
        return self


class RetryConfig(BaseModel):
    """Jittered exponential backoff. Reads only (and 429s, which are definite non-acceptance)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_read_attempts: int = Field(4, ge=1, le=20)
    max_rate_limited_attempts: int = Field(5, ge=1, le=20)
    backoff_base_s: float = Field(0.2, gt=0, le=60)
    backoff_max_s: float = Field(10.0, gt=0, le=300)


class ExchangeConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: Literal["production", "demo", "custom"] = "demo"
    base_url: str | None = None          # required for "custom" (e.g. the local simulator)
    key_id: str | None = None            # KALSHI-ACCESS-KEY (a UUID); not secret
    private_key_path: Path | None = None  # PEM file, must not be group/other readable
    sign_public_requests: bool = True    # authenticated reads get the documented read bucket
    connect_timeout_s: float = Field(5.0, gt=0, le=300)  # bounded: inf would hang a cycle
    read_timeout_s: float = Field(10.0, gt=0, le=300)
    write_timeout_s: float = Field(10.0, gt=0, le=300)
    user_agent: str = "milkbot/0.1"
    rate_limits: RateLimitConfig = Field(default_factory=RateLimitConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)

    @model_validator(mode="after")
    def _consistent(self) -> ExchangeConfig:
        if self.environment == "custom" and not self.base_url:
            raise ValueError("environment 'custom' needs base_url")
        if self.base_url:
            parsed = urlparse(self.base_url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ValueError(f"base_url must be an http(s) URL, got {self.base_url!r}")
            if self.environment == "production" and parsed.scheme != "https":
                raise ValueError("production base_url must use https")
        if (self.key_id is None) != (self.private_key_path is None):
            raise ValueError("key_id and private_key_path must be set together")
        return self

    @property
    def resolved_base_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        return PRODUCTION_BASE_URL if self.environment == "production" else DEMO_BASE_URL

    @property
    def has_credentials(self) -> bool:
        return self.key_id is not None and self.private_key_path is not None
