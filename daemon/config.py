"""Typed, frozen settings: a TOML file, then `MILKBOT_…` environment overrides, then validation.

Unknown keys are errors, so a typo never silently falls back to a default. Secrets are `SecretStr` and
print as `***`. The canonical form (secrets removed, keys sorted) has a SHA-256 hash that every run
records in `ops.config_versions`, so each decision names the exact configuration it used.

Environment overrides: `MILKBOT_DATA_DIR`, `MILKBOT_DATABASE_URL`, `MILKBOT_MODE`, `MILKBOT_ENV`, and any
nested field as `MILKBOT_<SECTION>__<FIELD>` (e.g. `MILKBOT_TRADING__KELLY_FRACTION=0.1`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_core import to_jsonable_python

from daemon.exchange.config import ExchangeConfig
from daemon.exchange.hosts import exchange_target_problem
from daemon.ledger.db import redact_url
from daemon.exchange.sim.config import SimConfig
from daemon.model.config import ModelConfig
from daemon.strategies.config import StrategiesConfig
from daemon.trading.config import TradingConfig
from daemon.weather.config import WeatherConfig
from publisher.config import PublisherConfig

ENV_PREFIX = "MILKBOT_"
CONFIG_FILE_ENV = "MILKBOT_CONFIG"
# MILKBOT_ variables that are not settings (test harness, data locations).
_NOT_SETTINGS = {"MILKBOT_CONFIG", "MILKBOT_SHARED_DATA", "MILKBOT_TEST_DATABASE_URL", "MILKBOT_PUBLISHER_DATABASE_URL"}
_TOP_LEVEL_ENV = {"DATA_DIR": "data_dir", "DATABASE_URL": "database_url", "MODE": "mode", "ENV": "env",
                  "LOG_LEVEL": "log_level", "SENTRY_DSN": "sentry_dsn", "OPENROUTER_API_KEY": "openrouter_api_key"}


class ConfigError(ValueError):
    """The configuration is invalid. `problems` lists (field path, reason)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {reason}" for path, reason in problems))


class CitiesConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    file: Path | None = None          # replaces the shipped registry
    extra_file: Path | None = None    # adds cities to it
    enabled: tuple[str, ...] = ()     # empty = every city in the registry


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    env: Literal["dev", "demo", "live"] = "dev"
    mode: Literal["shadow", "demo", "live"] = "shadow"
    data_dir: Path = Path("milkbot-data")
    # Empty = duckdb:///<data_dir>/milkbot.duckdb. May hold a password, so it is kept out of repr.
    database_url: str = Field("", repr=False)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    sentry_dsn: SecretStr | None = None
    openrouter_api_key: SecretStr | None = None

    cities: CitiesConfig = Field(default_factory=CitiesConfig)
    exchange: ExchangeConfig = Field(default_factory=ExchangeConfig)
    sim: SimConfig = Field(default_factory=SimConfig)
    weather: WeatherConfig = Field(default_factory=WeatherConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    trading: TradingConfig = Field(default_factory=TradingConfig)
    strategies: StrategiesConfig = Field(default_factory=StrategiesConfig)
    publisher: PublisherConfig = Field(default_factory=PublisherConfig)

    @model_validator(mode="before")
    @classmethod
    def _default_database(cls, values: Any) -> Any:
        if isinstance(values, dict) and not values.get("database_url"):
            data_dir = Path(values.get("data_dir") or "milkbot-data")
            name = "milkbot.duckdb" if values.get("env", "dev") == "dev" else f"milkbot-{values['env']}.duckdb"
            values = {**values, "database_url": f"duckdb:///{data_dir.resolve() / name}"}
        return values

    @model_validator(mode="after")
    def _modes_match_environments(self) -> Settings:
        # Separate environments never share an exchange: LIVE orders only from the live env, demo from demo.
        if self.mode == "live" and self.env != "live":
            raise ValueError("mode 'live' requires env 'live'")
        if self.mode == "demo" and self.env != "demo":
            raise ValueError("mode 'demo' requires env 'demo'")
        if not (self.database_url.startswith(("postgresql://", "postgres://", "duckdb:///"))):
            raise ValueError("database_url must be postgresql://… or duckdb:///path")
        self._exchange_matches_mode()
        return self

    def _exchange_matches_mode(self) -> None:
        """DEMO reaches only Kalshi's demo host, LIVE only production, SHADOW only loopback (checked again
        when a client is built for the mode). SHADOW ignores a non-custom exchange section: it never uses it."""
        exchange = self.exchange
        if self.mode in ("demo", "live"):
            want = "demo" if self.mode == "demo" else "production"
            if exchange.environment != want:
                raise ValueError(f"mode {self.mode!r} needs exchange.environment = {want!r}")
            url = exchange.resolved_base_url
        elif exchange.base_url:
            url = exchange.base_url
        else:
            return
        problem = exchange_target_problem(self.mode, self.env, url)
        if problem is not None:
            raise ValueError(f"exchange.base_url: {problem}")

    # -- canonical form ---------------------------------------------------------------------------
    def canonical(self) -> dict[str, Any]:
        """The configuration as plain JSON data; secrets reduced to whether they are set."""
        return _canonical(self)

    def canonical_json(self) -> str:
        return json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))

    @property
    def config_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def _canonical(model: BaseModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            out[name] = "***"
        elif isinstance(value, BaseModel):
            out[name] = _canonical(value)
        elif name == "database_url" and isinstance(value, str):
            out[name] = redact_url(value)  # every password form: userinfo, ?password=, keyword
        else:
            out[name] = to_jsonable_python(value)
    return out


def load_settings(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read `path` (or $MILKBOT_CONFIG, or nothing: all defaults), apply environment overrides, validate."""
    env = os.environ if env is None else env
    raw = _read_toml(path or env.get(CONFIG_FILE_ENV))
    merged = _apply_env(raw, env)
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_problems(exc)) from None


def _read_toml(path: Path | str | None) -> dict[str, Any]:
    if not path:
        return {}
    file = Path(path)
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([("<file>", f"config file {file} does not exist")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("<file>", f"{file} is not valid TOML: {exc}")]) from None


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    merged = json.loads(json.dumps(raw, default=str))  # deep copy of plain data
    problems = []
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX) or key in _NOT_SETTINGS or key.startswith("MILKBOT_TEST_"):
            continue
        name = key[len(ENV_PREFIX):]
        if name in _TOP_LEVEL_ENV:
            merged[_TOP_LEVEL_ENV[name]] = value
        elif "__" in name:
            section, field = name.lower().split("__", 1)
            node = merged.setdefault(section, {})
            if not isinstance(node, dict):
                problems.append((key, "overrides a section that is not a table"))
                continue
            node[field] = _env_value(value)
        else:
            problems.append((key, "unknown setting (nested fields use MILKBOT_<SECTION>__<FIELD>)"))
    if problems:
        raise ConfigError(problems)
    return merged


def _env_value(value: str) -> Any:
    """Environment values are strings; a JSON list/table is accepted for list- or table-valued fields."""
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "<root>"
        reason = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        problems.append((path, reason))
    return problems
