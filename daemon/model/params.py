"""Versioned model parameters: what `milkbot model fit` learns, stored in ops.model_params (dedup by hash)."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from daemon.clock import Clock
from daemon.ledger.db import Database, Json

MODEL_VERSION = "milkbot-model-2"
MEMBERS = ("forecast", "climatology", "nowcast", "market")
NOWCAST_D_MIN = -3  # offsets of the official high from the rounded observed max: NOWCAST_D_MIN .. D_MIN+len-1
NOWCAST_D_LEN = 34
FLOOR_OFF = 1.0  # a floor leak of 1 switches the soft floor off


class ParamsError(ValueError):
    """Stored parameters are missing or do not validate."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CityClimate(_Frozen):
    """Seasonal climatology of the daily high and day-to-day persistence of its anomaly."""

    mean_coef: tuple[float, ...] = (62.0, -18.0, 0.0)  # a0, cos1, sin1[, cos2, sin2] over the day of year
    var_coef: tuple[float, ...] = (64.0, 0.0, 0.0)     # residual variance: v0, cos1, sin1
    phi: tuple[float, float] = (0.6, 0.4)              # anomaly carried over at lag 1 and 2 days
    resid_ratio: tuple[float, float] = (0.8, 0.9)      # sd of the persistence residual / climatological sd
    n_days: int = 0

    @field_validator("mean_coef", "var_coef")
    @classmethod
    def _odd_length(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) % 2 != 1 or any(math.isnan(v) for v in value):
            raise ValueError("harmonic coefficients: a0 then (cos, sin) pairs, no NaN")
        return value


class ForecastLeadError(_Frozen):
    """The forecast high's error over a range of leads, fitted walk-forward (model/forecast_error)

    Lead = hours from the forecast's issue to the end of the LST climate day it is for."""

    lo_hours: float
    hi_hours: float
    n: int = Field(ge=2)
    bias_f: float      # official − forecast, °F, added to the forecast (the archive's bias negated)
    sigma_f: float = Field(gt=0)   # sd of the error
    mae_f: float

    @property
    def label(self) -> str:
        return f"{self.lo_hours:g}-{self.hi_hours:g}h"


# Day-1 forecast-high error sd per city (weather.md §A.5 priors; replaced when forecasts exist to fit on).
_FORECAST_SIGMA = {"NYC": 3.2, "CHI": 3.8, "LAX": 2.5, "MIA": 2.1, "AUS": 3.5, "DEN": 3.9, "PHL": 3.3, "BOS": 3.4,
                   "SEA": 2.8, "SFO": 2.2}


def _default_weights() -> dict[str, dict[str, float]]:
    """Unfitted keys price like the market-only pool (normalised prices); weather members only when no prices.

    (Untuned weather weights lost to the market on rolling-origin validation folds, so they are never a default.)
    """
    out = {}
    for bucket in range(6):
        for key in (str(bucket), f"{bucket}+nowcast"):
            out[key] = {"forecast": 0.0, "climatology": 0.0, "nowcast": 0.0, "market": 1.0}
    return out


class ModelParams(_Frozen):
    version: str = MODEL_VERSION
    t_dof: float = Field(5.0, gt=2.0)
    climate: dict[str, CityClimate] = Field(default_factory=dict)
    default_climate: CityClimate = CityClimate()
    forecast_sigma: dict[str, float] = Field(default_factory=lambda: dict(_FORECAST_SIGMA))
    forecast_bias: dict[str, float] = Field(default_factory=dict)  # official − forecast, °F
    # Per city with a forecast archive: bias and σ by lead, used instead of the priors above.
    forecast_by_lead: dict[str, tuple[ForecastLeadError, ...]] = Field(default_factory=dict)
    forecast_sigma_per_day: float = 0.5      # extra sd per day of lead beyond one
    forecast_clim_weight_per_day: float = 0.08  # climatology's pull on the forecast centre per day of lead
    nowcast: dict[str, tuple[tuple[float, ...], ...]] = Field(default_factory=dict)  # key -> 24 LST hours × offsets
    floor_leak: float = Field(0.03, ge=0.0, le=0.5)  # P(official = rounded observed max − 1)
    # Per weight key: the leak the pool was tuned with (FLOOR_OFF = no floor); keys not listed use floor_leak.
    floor_leak_by_key: dict[str, float] = Field(default_factory=dict)
    market_gamma: dict[str, float] = Field(default_factory=dict)  # bucket -> sharpening exponent of prices
    market_tail_decay: float = Field(0.55, gt=0.0, lt=1.0)
    bucket_edges: tuple[float, ...] = (4.5, 8.5, 12.5, 16.5, 24.5)  # hours to LST day end
    weights: dict[str, dict[str, float]] = Field(default_factory=_default_weights)
    fit_notes: dict[str, Any] = Field(default_factory=dict)

    def canonical(self) -> dict[str, Any]:
        out = self.model_dump(mode="json")
        if not out["forecast_by_lead"]:
            del out["forecast_by_lead"]   # parameters without it keep the hash they had before
        return out

    def hash(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def bucket(self, hours_to_close: float) -> int:
        return sum(1 for edge in self.bucket_edges if hours_to_close > edge)

    def leak_for(self, key: str) -> float:
        return self.floor_leak_by_key.get(key, self.floor_leak)

    def forecast_error_at(self, city_code: str, lead_hours: float) -> ForecastLeadError | None:
        """The fitted error of the bucket holding `lead_hours` (else the nearest); None: priors."""
        fitted = self.forecast_by_lead.get(city_code)
        if not fitted:
            return None
        for bucket in fitted:
            if bucket.lo_hours <= lead_hours < bucket.hi_hours:
                return bucket
        return min(fitted,
                   key=lambda b: min(abs(lead_hours - b.lo_hours), abs(lead_hours - b.hi_hours)))

    def climate_for(self, city_code: str) -> CityClimate:
        return self.climate.get(city_code, self.default_climate)


def default_params() -> ModelParams:
    return ModelParams()


def save_params(db: Database, params: ModelParams, clock: Clock, fit_from: date | None = None,
                fit_to: date | None = None) -> int:
    """Store `params` (once per distinct hash) and return its ops.model_params id."""
    digest = params.hash()
    with db.transaction():
        existing = db.scalar("SELECT id FROM ops.model_params WHERE params_hash = ?", [digest])
        if existing is not None:
            return int(existing)
        row = db.query_one(
            "INSERT INTO ops.model_params (params_hash, model_version, fitted_at, fit_from, fit_to, params) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [digest, params.version, clock.now(), fit_from, fit_to, Json(params.canonical())],
        )
    return int(row["id"])


def _parse(raw: Any, row_id: int) -> ModelParams:
    if isinstance(raw, str):
        raw = json.loads(raw)
    try:
        return ModelParams.model_validate(raw)
    except ValueError as exc:
        raise ParamsError(f"ops.model_params id {row_id} does not validate: {exc}") from exc


def load_latest(db: Database) -> tuple[int, ModelParams] | None:
    row = db.query_one("SELECT id, params FROM ops.model_params ORDER BY fitted_at DESC, id DESC LIMIT 1")
    if row is None:
        return None
    return int(row["id"]), _parse(row["params"], int(row["id"]))


def load_by_id(db: Database, params_id: int) -> ModelParams:
    row = db.query_one("SELECT id, params FROM ops.model_params WHERE id = ?", [params_id])
    if row is None:
        raise ParamsError(f"no ops.model_params row with id {params_id}")
    return _parse(row["params"], params_id)
