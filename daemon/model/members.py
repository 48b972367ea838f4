"""Ensemble members. Each turns ModelInputs into a pmf over GRID (or is invalid with reasons).

- forecast:    centred on the forecast high (+bias), Student-t, spread growing with lead; pulled to climatology at long leads.
- climatology: seasonal normal of the city (fitted harmonics) plus persistence of the latest known anomaly.
- nowcast:     the observed max so far plus the fitted distribution of the rise still to come at this LST hour.
- market:      the ladder's prices known at decided_at, over-round removed by the power method, spread over each bracket.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import brentq

try:  # the C solver `scipy.optimize.brentq` runs, minus its NaN wrapper (excess is never NaN)
    from scipy.optimize._zeros import _brentq as _c_brentq
except ImportError:  # pragma: no cover - another scipy layout: the public wrapper, same root
    _c_brentq = None

from daemon.cities import lst_day_bounds
from daemon.model.grid import GRID, discrete_t, index_of
from daemon.model.params import NOWCAST_D_MIN, CityClimate, ModelParams

if TYPE_CHECKING:
    from daemon.model.api import ModelInputs

MIN_MARKET_COVERAGE = 0.01  # any priced bracket makes the member valid (climatology alone lost to sparse prices)
MISSING_PRICE = 0.005       # least mass for a bracket nobody traded yet


class Member:
    """One member's verdict. `pmf` may be given as a zero-argument function, then computed on first
    access (a member the pool weights at zero never pays for its distribution)."""

    __slots__ = ("_pmf", "features", "name", "reasons", "valid")

    def __init__(self, name: str, pmf: np.ndarray | Callable[[], np.ndarray] | None, valid: bool,
                 reasons: tuple[str, ...] = (), features: dict | None = None) -> None:
        self.name = name
        self._pmf = pmf
        self.valid = valid
        self.reasons = reasons
        self.features = {} if features is None else features

    @property
    def pmf(self) -> np.ndarray | None:
        if callable(self._pmf):
            self._pmf = self._pmf()
        return self._pmf

    def __repr__(self) -> str:
        return f"Member({self.name!r}, valid={self.valid!r}, reasons={self.reasons!r})"


def day_bounds(inputs: ModelInputs) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the inputs' climate day, from the LST offset they carry (no registry lookup)."""
    return _day_bounds(inputs.climate_day, inputs.lst_offset_hours)


@lru_cache(maxsize=4096)
def _day_bounds(day: date, lst_offset_hours: int) -> tuple[datetime, datetime]:
    return lst_day_bounds(day, lst_offset_hours)


def harmonic(coef: tuple[float, ...], day: date) -> float:
    angle = 2.0 * math.pi * (day.timetuple().tm_yday - 1) / 365.25
    value = coef[0]
    for k in range(1, (len(coef) - 1) // 2 + 1):
        value += coef[2 * k - 1] * math.cos(k * angle) + coef[2 * k] * math.sin(k * angle)
    return value


def climate_mean_sd(clim: CityClimate, day: date) -> tuple[float, float]:
    return harmonic(clim.mean_coef, day), math.sqrt(max(harmonic(clim.var_coef, day), 4.0))


def season(day: date) -> str:
    """Half-year the nowcast tables are split by (diurnal rise differs between warm and cool months)."""
    return "warm" if 5 <= day.month <= 10 else "cool"


def _invalid(name: str, *reasons: str, **features) -> Member:
    return Member(name, None, False, tuple(reasons), dict(features))


def climatology_member(inputs: ModelInputs, params: ModelParams) -> Member:
    if inputs.city_code not in params.climate:
        return _invalid("climatology", "no_climatology_for_city")
    clim = params.climate[inputs.city_code]
    mean, sd = climate_mean_sd(clim, inputs.climate_day)
    features: dict = {"clim_mean": round(mean, 3), "clim_sd": round(sd, 3)}
    reasons: list[str] = []
    if inputs.last_high_f is not None and inputs.last_high_day is not None:
        lag = (inputs.climate_day - inputs.last_high_day).days
        if lag < 1:
            reasons.append("persistence_ignored_not_before_day")
        else:
            phi = clim.phi[0] if lag == 1 else clim.phi[1] * clim.phi[0] ** (lag - 2)
            ratio = clim.resid_ratio[0] if lag == 1 else min(1.0, clim.resid_ratio[1] + 0.05 * (lag - 2))
            anomaly = inputs.last_high_f - harmonic(clim.mean_coef, inputs.last_high_day)
            mean, sd = mean + phi * anomaly, sd * ratio
            features.update(persistence_lag=lag, anomaly=round(anomaly, 3))
    else:
        reasons.append("no_recent_high")
    dof = params.t_dof
    return Member("climatology", lambda: discrete_t(mean, sd, dof), True, tuple(reasons),
                  {**features, "centre": round(mean, 3), "sd": round(sd, 3)})


def forecast_member(inputs: ModelInputs, params: ModelParams) -> Member:
    if inputs.forecast_high_f is None or inputs.forecast_issued_at is None:
        return _invalid("forecast", "no_forecast")
    if inputs.forecast_issued_at > inputs.decided_at:
        return _invalid("forecast", "forecast_issued_after_decision")
    _, end = day_bounds(inputs)
    lead_days = max((end - inputs.forecast_issued_at).total_seconds() / 86400.0 - 1.0, 0.0)
    features = {"forecast": inputs.forecast_high_f, "lead_days": round(lead_days, 3)}
    fitted = params.forecast_error_at(inputs.city_code,
                                      (end - inputs.forecast_issued_at).total_seconds() / 3600.0)
    if fitted is not None:   # fitted on the city's own forecast archive, by lead
        sigma = fitted.sigma_f
        centre = inputs.forecast_high_f + fitted.bias_f
        features["forecast_error"] = fitted.label
    else:                    # reference priors
        sigma = (params.forecast_sigma.get(inputs.city_code, 3.5)
                 + params.forecast_sigma_per_day * lead_days)
        centre = inputs.forecast_high_f + params.forecast_bias.get(inputs.city_code, 0.0)
    if inputs.city_code in params.climate:
        clim_mean, clim_sd = climate_mean_sd(params.climate[inputs.city_code], inputs.climate_day)
        k = min(0.6, params.forecast_clim_weight_per_day * lead_days)  # climatology matters more at long leads
        centre = (1 - k) * centre + k * clim_mean
        sigma = math.hypot((1 - k) * sigma, k * clim_sd)
        features["clim_weight"] = round(k, 3)
    dof = params.t_dof
    return Member("forecast", lambda: discrete_t(centre, sigma, dof), True, (),
                  {**features, "centre": round(centre, 3), "sd": round(sigma, 3)})


def observed_hour(inputs: ModelInputs) -> int | None:
    """Whole LST hours of the climate day covered by the observations (0..24), None if outside the day."""
    if inputs.observed_max_f is None or inputs.observed_until is None:
        return None
    if inputs.observed_until > inputs.decided_at:
        return None
    start, end = day_bounds(inputs)
    if inputs.observed_until <= start:
        return None
    return min(int((min(inputs.observed_until, end) - start).total_seconds() // 3600), 24)


def floor_index(inputs: ModelInputs) -> int | None:
    """Grid index of the rounded observed max (the soft floor), None without usable observations."""
    if observed_hour(inputs) is None:
        return None
    return index_of(math.floor(inputs.observed_max_f + 0.5))


def nowcast_member(inputs: ModelInputs, params: ModelParams) -> Member:
    if inputs.observed_max_f is None or inputs.observed_until is None:
        return _invalid("nowcast", "no_observations")
    if inputs.observed_until > inputs.decided_at:
        return _invalid("nowcast", "observations_after_decision")
    hour = observed_hour(inputs)
    if hour is None:
        return _invalid("nowcast", "observations_not_in_climate_day")
    season_of_day = season(inputs.climate_day)
    table_key = next((k for k in (f"{inputs.city_code}:{season_of_day}", inputs.city_code, f"*:{season_of_day}", "*")
                      if params.nowcast.get(k)), None)
    if table_key is None:
        return _invalid("nowcast", "no_nowcast_table")
    table = params.nowcast[table_key]
    row = np.asarray(table[min(hour, len(table) - 1)], dtype=float)
    base = index_of(math.floor(inputs.observed_max_f + 0.5))
    pmf = np.zeros(len(GRID))
    for offset, p in enumerate(row):
        pmf[min(max(base + NOWCAST_D_MIN + offset, 0), len(GRID) - 1)] += p
    return Member("nowcast", pmf / pmf.sum(), True, (),
                  {"observed_max": inputs.observed_max_f, "lst_hour": hour,
                   "table": table_key})


def market_member(inputs: ModelInputs, params: ModelParams) -> Member:
    prices = dict(inputs.market_yes_prices)
    if not prices:
        return _invalid("market", "no_market_prices")
    known = [prices.get(t) for t, _ in inputs.brackets]
    coverage = sum(p is not None for p in known) / len(known)
    if coverage < MIN_MARKET_COVERAGE:
        return _invalid("market", "market_coverage_low", coverage=round(coverage, 3))
    bucket = params.bucket(_hours_to_close(inputs))
    gamma = params.market_gamma.get(str(bucket), 1.0)
    raw = _with_missing_filled(known)
    mass = power_normalise(raw) ** gamma
    mass = mass / mass.sum()
    layout = _spread_layout(inputs.brackets, params.market_tail_decay)
    if layout is not None:
        index, numer, denom = layout
        pmf = mass[index] * numer / denom
    else:
        pmf = _spread(mass, inputs.brackets, params.market_tail_decay)
    return Member("market", pmf, True, (), {"coverage": round(coverage, 3), "gamma": gamma})


def _spread(mass: np.ndarray, ladder: tuple, decay: float) -> np.ndarray:
    """Each bracket's mass over its integers: uniform inside, geometric along an open tail."""
    pmf = np.zeros(len(GRID))
    for m, (_, b) in zip(mass, ladder):
        if b.lo is not None and b.hi is not None:
            lo, hi = index_of(b.lo), index_of(b.hi)
            pmf[lo:hi + 1] += m / (hi - lo + 1)
            continue
        idx = np.arange(index_of(b.hi), -1, -1) if b.lo is None else np.arange(index_of(b.lo), len(GRID))
        w = decay ** np.arange(len(idx))
        pmf[idx] += m * w / w.sum()
    return pmf


@lru_cache(maxsize=1024)
def _spread_layout(ladder: tuple, decay: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """`_spread` as one vector expression, mass[index] * numer / denom, per distinct ladder.

    Exact, not approximate: when the brackets' grid cells are disjoint (a tiling ladder inside the
    grid) every cell receives one term, the very m / n or m * w / sum(w) `_spread` adds to a zero (a
    cell no bracket covers gets 0 * m). None when clamping to the grid makes brackets share cells.
    """
    g = len(GRID)
    index, numer, denom = np.zeros(g, dtype=np.intp), np.zeros(g), np.ones(g)
    covered = np.zeros(g, dtype=bool)
    for i, (_, b) in enumerate(ladder):
        if b.lo is not None and b.hi is not None:
            cells = np.arange(index_of(b.lo), index_of(b.hi) + 1)
            weights, total = np.ones(len(cells)), float(len(cells))
        else:
            start = index_of(b.hi) if b.lo is None else index_of(b.lo)
            cells = np.arange(start, -1, -1) if b.lo is None else np.arange(start, g)
            weights = decay ** np.arange(len(cells))
            total = weights.sum()
        if covered[cells].any():
            return None
        covered[cells] = True
        index[cells], numer[cells], denom[cells] = i, weights, total
    for array in (index, numer, denom):
        array.flags.writeable = False
    return index, numer, denom


def _with_missing_filled(known: list) -> np.ndarray:
    """Clipped prices; untraded brackets share what the traded ones leave of 1 (at least MISSING_PRICE each)."""
    clipped = [None if p is None else min(max(float(p), MISSING_PRICE), 1 - MISSING_PRICE) for p in known]
    missing = sum(p is None for p in clipped)
    rest = (1.0 - sum(p for p in clipped if p is not None)) / missing if missing else 0.0
    return np.array([max(rest, MISSING_PRICE) if p is None else p for p in clipped])


POWER_RANGE = (0.2, 5.0)


def power_normalise(prices: np.ndarray) -> np.ndarray:
    """Remove the ladder's over-round by the power method: p_i ** k with k chosen so they sum to 1.

    Unlike dividing by the sum it takes more off the long shots than off the favourite (the favourite–long-shot
    bias); it won over proportional and additive normalisation at every horizon of both validation folds."""
    add = np.add.reduce   # what ndarray.sum runs, without its Python-level wrapper
    seen: dict[float, tuple[float, np.ndarray]] = {}   # k -> (excess, prices ** k): each k powered once

    def powered(k: float) -> tuple[float, np.ndarray]:
        hit = seen.get(k)
        if hit is None:
            mass = prices ** k
            hit = seen[k] = (float(add(mass)) - 1.0, mass)
        return hit

    def excess(k: float) -> float:
        return powered(k)[0]

    lo, hi = POWER_RANGE
    if len(prices) < 2 or excess(lo) < 0 or excess(hi) > 0:
        return prices / prices.sum()
    mass = powered(power_root(excess, lo, hi))[1]
    return mass / mass.sum()


_BRENTQ_RTOL = 4 * float(np.finfo(float).eps)   # brentq's defaults
_BRENTQ_MAXITER = 100


def power_root(f: Callable[[float], float], lo: float, hi: float) -> float:
    """`brentq(f, lo, hi, xtol=1e-10)`, the very same iterations (tests/model/test_fast_paths)."""
    if _c_brentq is None:
        return brentq(f, lo, hi, xtol=1e-10)
    return _c_brentq(f, lo, hi, 1e-10, _BRENTQ_RTOL, _BRENTQ_MAXITER, (), False, True)


def _hours_to_close(inputs: ModelInputs) -> float:
    _, end = day_bounds(inputs)
    return (end - inputs.decided_at).total_seconds() / 3600.0


def all_members(inputs: ModelInputs, params: ModelParams) -> list[Member]:
    return [forecast_member(inputs, params), climatology_member(inputs, params), nowcast_member(inputs, params),
            market_member(inputs, params)]
