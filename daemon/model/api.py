"""The model's public interface: inputs known at decision time → one calibrated distribution per event.

`price_event` is pure and deterministic: members (forecast, climatology+persistence, nowcast, market) each give a
pmf over the integer settled high; a log-linear pool with fitted weights per lead-time bucket combines the valid
ones; the observed maximum so far acts as a soft floor; bracket probabilities are sums of the pmf over the ladder.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

import numpy as np

from daemon.model import members
from daemon.model.grid import GRID, GRID_F, bracket_mask, ladder_mask, masked_probabilities
from daemon.model.params import FLOOR_OFF, ModelParams
from daemon.settlement.brackets import Bracket


class ModelInputError(ValueError):
    """Inputs the model refuses to price (NaN, naive datetimes, empty ladder, look-ahead)."""


@dataclass(frozen=True)
class ModelInputs:
    city_code: str
    climate_day: date
    decided_at: datetime                 # tz-aware; nothing newer may be used
    forecast_high_f: float | None        # latest NWS day forecast high issued before decided_at
    forecast_issued_at: datetime | None
    observed_max_f: float | None         # max observed so far today at the settlement station (LST day)
    observed_until: datetime | None
    brackets: tuple[tuple[str, Bracket], ...]   # the event's ladder
    market_yes_prices: tuple[tuple[str, Decimal | None], ...] = ()  # mid/last per ticker known at decided_at
    # Extension (optional): the latest final settled high known at decided_at, for the persistence term.
    last_high_f: float | None = None
    last_high_day: date | None = None
    # The city's local-standard-time offset (City.lst_offset_hours), from the registry the caller holds: the
    # model places the climate day in time with it and never looks a city up itself.
    lst_offset_hours: int = field(kw_only=True)

    def __post_init__(self) -> None:
        for name in ("forecast_high_f", "observed_max_f", "last_high_f"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not math.isfinite(float(value))):
                raise ModelInputError(f"{name} must be a finite number, got {value!r}")
        for name in ("decided_at", "forecast_issued_at", "observed_until"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
                raise ModelInputError(f"{name} must be a tz-aware datetime, got {value!r}")
        if not self.brackets:
            raise ModelInputError("an event needs its bracket ladder")
        if isinstance(self.lst_offset_hours, bool) or not isinstance(self.lst_offset_hours, int) \
                or not -12 <= self.lst_offset_hours <= 14:
            raise ModelInputError(f"lst_offset_hours must be an integer in [-12, 14], got {self.lst_offset_hours!r}")
        for _, price in self.market_yes_prices:
            if price is not None and (not isinstance(price, Decimal) or not price.is_finite()
                                      or not Decimal(0) <= price <= Decimal(1)):
                raise ModelInputError(f"market prices are Decimal dollars in [0, 1], got {price!r}")


@dataclass(frozen=True)
class MemberOutput:          # original strategy contract
    strategy: str
    p_yes: dict[str, float]
    uncertainty: float
    features: dict
    valid: bool
    reasons: tuple[str, ...]


class EventForecast:
    """The event's forecast. `pmf` and `members` are diagnostics (decisions read `probabilities`,
    `valid`, `reasons`): computed on first access from the same numbers; the hot path skips them."""

    __slots__ = ("_members", "_pmf", "probabilities", "reasons", "valid")

    def __init__(self, probabilities: dict[str, float],
                 pmf: dict[int, float] | Callable[[], dict[int, float]],
                 members: tuple[MemberOutput, ...] | Callable[[], tuple[MemberOutput, ...]],
                 valid: bool, reasons: tuple[str, ...]) -> None:
        self.probabilities = probabilities   # ticker -> P(YES), sums to 1 over the ladder
        self.valid = valid
        self.reasons = reasons
        self._pmf = pmf
        self._members = members

    @property
    def pmf(self) -> dict[int, float]:
        """Integer high -> probability (the support above 1e-12)."""
        if callable(self._pmf):
            self._pmf = self._pmf()
        return self._pmf

    @property
    def members(self) -> tuple[MemberOutput, ...]:
        if callable(self._members):
            self._members = self._members()
        return self._members

    def _key(self) -> tuple:
        return (self.probabilities, self.pmf, self.members, self.valid, self.reasons)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EventForecast) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # dict fields: unhashable, as the dataclass was

    def __repr__(self) -> str:
        return (f"EventForecast(probabilities={self.probabilities!r}, valid={self.valid!r}, "
                f"reasons={self.reasons!r})")


def price_event(inputs: ModelInputs, params: ModelParams) -> EventForecast:
    """One distribution over the settled high and P(YES) per ladder ticker; invalid when no member is valid."""
    raw = members.all_members(inputs, params)
    mask = _mask_of(inputs.brackets)

    def outputs() -> tuple[MemberOutput, ...]:
        return tuple(_member_output(inputs, m, mask) for m in raw)

    valid = [m for m in raw if m.valid]
    if not valid:
        reasons = tuple(f"{m.name}:{r}" for m in raw for r in m.reasons) or ("no_valid_member",)
        return EventForecast({}, {}, outputs, False, ("no_valid_member",) + reasons)
    key = weight_key(inputs, params, any(m.name == "nowcast" for m in valid))
    weights = params.weights.get(key, {})
    pool = [(m, weights.get(m.name, 0.0)) for m in valid]
    if any(w > 0 for _, w in pool):
        # A zero-weight member adds exactly ±0 to the pooled log-density: leave it and its pmf out.
        pool = [(m, w) for m, w in pool if w != 0]
    pmf = combine([m.pmf for m, _ in pool], [w for _, w in pool])
    pmf = apply_floor(pmf, members.floor_index(inputs), params.leak_for(key))
    probs = masked_probabilities(pmf, mask, inputs.brackets)

    def support() -> dict[int, float]:
        kept = np.flatnonzero(pmf > 1e-12)
        return dict(zip(GRID[kept].tolist(), pmf[kept].tolist()))

    return EventForecast(probs, support, outputs, True, (f"weights:{key}",))


def hours_to_close(inputs: ModelInputs) -> float:
    _, end = members.day_bounds(inputs)
    return (end - inputs.decided_at).total_seconds() / 3600.0


def weight_key(inputs: ModelInputs, params: ModelParams, with_nowcast: bool) -> str:
    bucket = params.bucket(hours_to_close(inputs))
    return f"{bucket}+nowcast" if with_nowcast else str(bucket)


def combine(pmfs: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """Log-linear pool; equal weights when every valid member has weight 0."""
    if not any(w > 0 for w in weights):
        weights = [1.0] * len(pmfs)
    logp = None
    for wi, p in zip(weights, pmfs):
        term = np.log(p + 1e-9)
        if wi != 1:   # (1.0 * x is x)
            term = float(wi) * term
        # (Summing from 0 as sum() did would only turn a -0.0 into 0.0: the same after exp.)
        logp = term if logp is None else logp + term
    logp -= logp.max()
    out = np.exp(logp)
    return out / out.sum()


def apply_floor(pmf: np.ndarray, floor_idx: int | None, leak: float) -> np.ndarray:
    """Soft floor at the rounded observed max r: keep x >= r, x = r-1 at `leak`, lower ~0 (renormalised).

    `leak` >= FLOOR_OFF means no floor (the fit may find the members already carry it better than a hard cut)."""
    if floor_idx is None or leak >= FLOOR_OFF:
        return pmf
    out = pmf * _floor_factor(pmf.shape[0], floor_idx, leak)
    total = out.sum()
    return out / total if total > 0 else pmf


@lru_cache(maxsize=4096)
def _floor_factor(size: int, floor_idx: int, leak: float) -> np.ndarray:
    factor = np.full(size, leak * 1e-3)
    factor[floor_idx:] = 1.0
    if floor_idx >= 1:
        factor[floor_idx - 1] = leak
    factor.flags.writeable = False
    return factor


def _mask_of(ladder: tuple[tuple[str, Bracket], ...]) -> np.ndarray:
    try:
        return ladder_mask(ladder)
    except TypeError:  # an unhashable ladder (a list passed in): build it for this call only
        return bracket_mask(ladder)


def _member_output(inputs: ModelInputs, m: members.Member, mask: np.ndarray) -> MemberOutput:
    if not m.valid or m.pmf is None:
        return MemberOutput(m.name, {}, float("inf"), m.features, False, m.reasons)
    probs = masked_probabilities(m.pmf, mask, inputs.brackets)
    mean = float(np.dot(GRID_F, m.pmf))
    sd = float(np.sqrt(max(np.dot((GRID_F - mean) ** 2, m.pmf), 0.0)))
    return MemberOutput(m.name, probs, sd, {**m.features, "mean": round(mean, 3)}, True, m.reasons)
