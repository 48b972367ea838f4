"""Publisher settings: target, output folder, R2/Pages credentials. Never holds a trading credential.

Every field has a safe default so the embedded demo publishes to a local folder with no config file.
The delay can be raised but never lowered below 60 minutes (DESIGN invariant 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

MIN_DELAY_MINUTES = 60


class PublisherConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    target: Literal["local", "r2", "pages"] = "local"
    output_dir: Path | None = None                    # None = <data_dir>/site
    site_base_url: str = "https://milkbot.ai"
    site_title: str = "Milkbot"
    delay_minutes: int = MIN_DELAY_MINUTES
    interval_minutes: int = Field(5, ge=1)            # how often the publisher job runs
    # The publisher's own read-only database URL (role milkbot_publisher); empty = the daemon's URL.
    database_url: SecretStr | None = None
    # Optional role to SET after connecting (tests, or a login role that is a member of milkbot_publisher).
    database_role: str | None = "milkbot_publisher"
    trades_per_page: int = Field(200, ge=10, le=5000)
    recent_trades: int = Field(200, ge=10, le=1000)
    min_calibration_trades: int = Field(30, ge=1)     # below this a bin is "too few settled trades"
    stale_data_minutes: int = Field(90, ge=1)         # a city's data older than this (at the cut-off) is STALE
    # R2 (S3-compatible)
    r2_bucket: str = ""
    r2_endpoint_url: str = ""                         # https://<ACCOUNT_ID>.r2.cloudflarestorage.com
    r2_access_key_id: SecretStr | None = None
    r2_secret_access_key: SecretStr | None = None
    r2_prefix: str = ""
    stale_grace_hours: float = Field(24.0, ge=0)      # retired objects are deleted after this long
    # Cloudflare Pages
    pages_project: str = ""
    pages_branch: str = "main"
    cloudflare_account_id: str = ""
    cloudflare_api_token: SecretStr | None = None
    wrangler_command: str = "wrangler"                # or "npx wrangler" with a pinned local install

    @field_validator("delay_minutes")
    @classmethod
    def _delay_floor(cls, value: int) -> int:
        if value < MIN_DELAY_MINUTES:
            raise ValueError(f"the public delay is at least {MIN_DELAY_MINUTES} minutes")
        return value

    @field_validator("r2_prefix")
    @classmethod
    def _prefix_shape(cls, value: str) -> str:
        value = value.strip("/")
        return f"{value}/" if value else ""
