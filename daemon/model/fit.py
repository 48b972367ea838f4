"""`milkbot model fit`: learn ModelParams from a Dataset, using only days inside the fit window.

1. Climatology per city: harmonic seasonal mean and variance of the daily high; AR persistence of its anomaly.
2. Nowcast tables: for each LST hour, the distribution of (official high − rounded max observed so far).
3. Forecast error per city that has a point-in-time forecast archive in the data directory
   (weather/ndfd_*_maxt_vintages.parquet + the climate reports): bias and σ of the forecast high per
   lead bucket, from target days inside the window only (and labels published before its end);
   the other cities keep the reference priors. The fit notes say which.
4. Ensemble weights and soft-floor leak per lead bucket: grid search minimising the Brier score on a point-in-time
   replay of the older 70% of the training events, kept only if they beat the market-only pool (normalised prices,
   no floor) on the newest 30%; otherwise the market-only pool. The market weight is also the prices' sharpening
   exponent, so no separate gamma is fitted (market_gamma stays empty = 1).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from daemon.cities import lst_day_bounds
from daemon.model import members
from daemon.model.api import weight_key
from daemon.model.data import Dataset
from daemon.model.forecast_error import forecast_error_rows, lead_errors
from daemon.model.grid import GRID, bracket_mask
from daemon.model.params import (
    FLOOR_OFF,
    NOWCAST_D_LEN,
    NOWCAST_D_MIN,
    CityClimate,
    ForecastLeadError,
    ModelParams,
    default_params,
)
from daemon.model.replay import inputs_at, last_trades

FIT_HORIZONS = (30.0, 18.0, 14.0, 10.0, 6.0, 3.0)
MIN_CLIMATE_DAYS = 60
MIN_NOWCAST_DAYS = 100


@dataclass(frozen=True)
class FitWindow:
    start: date | None = None
    end: date | None = None

    def contains(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


def fit_params(ds: Dataset, window: FitWindow) -> ModelParams:
    climate = {city: c for city, highs in ds.highs.items() if (c := fit_climate(highs, window)) is not None}
    nowcast, leak = fit_nowcast(ds, window)
    by_lead, forecast_notes = fit_forecast(ds, window)
    base = default_params().model_copy(update={
        "climate": climate, "nowcast": nowcast, "floor_leak": leak, "forecast_by_lead": by_lead})
    gamma, weights, leaks, notes = fit_ensemble(ds, window, base)
    notes.update(forecast_error=forecast_notes,
                 climate_days={c: v.n_days for c, v in climate.items()},
                 window=[str(window.start) if window.start else None, str(window.end) if window.end else None])
    return base.model_copy(update={"market_gamma": gamma, "weights": weights, "floor_leak_by_key": leaks,
                                   "fit_notes": notes})


# -- climatology ------------------------------------------------------------------------------------------
def _design(days: list[date], k: int) -> np.ndarray:
    angle = np.array([2 * math.pi * (d.timetuple().tm_yday - 1) / 365.25 for d in days])
    cols = [np.ones_like(angle)]
    for j in range(1, k + 1):
        cols += [np.cos(j * angle), np.sin(j * angle)]
    return np.column_stack(cols)


def fit_climate(highs: dict[date, float], window: FitWindow) -> CityClimate | None:
    days = sorted(d for d in highs if window.contains(d))
    if len(days) < MIN_CLIMATE_DAYS:
        return None
    y = np.array([highs[d] for d in days])
    months = len({d.month for d in days})
    k = 2 if months >= 10 else 1  # a half-year of data cannot pin down the second harmonic
    mean_coef, *_ = np.linalg.lstsq(_design(days, k), y, rcond=None)
    resid = y - _design(days, k) @ mean_coef
    kv = 1 if months >= 10 else 0
    var_coef, *_ = np.linalg.lstsq(_design(days, kv), resid ** 2, rcond=None)
    sd = np.sqrt(np.maximum(_design(days, kv) @ var_coef, 4.0))
    z = dict(zip(days, resid / sd))
    phi, ratio = [], []
    for lag in (1, 2):
        pairs = np.array([(z[d], z[p]) for d in days if (p := date.fromordinal(d.toordinal() - lag)) in z])
        if len(pairs) < 30:
            phi.append(0.0), ratio.append(1.0)
            continue
        b = float(np.dot(pairs[:, 0], pairs[:, 1]) / np.dot(pairs[:, 1], pairs[:, 1]))
        phi.append(b)
        ratio.append(float(np.std(pairs[:, 0] - b * pairs[:, 1]) / max(np.std(pairs[:, 0]), 1e-6)))
    return CityClimate(mean_coef=tuple(float(c) for c in mean_coef), var_coef=tuple(float(c) for c in var_coef),
                       phi=(phi[0], phi[1]), resid_ratio=(ratio[0], ratio[1]), n_days=len(days))


# -- forecast error -----------------------------------------------------------------------------
# Hours from issue to the end of the LST climate day. The archive's issues (00/06/12/18 UTC + ~46
# min) fall 16-28 h, 34-52 h and 58-76 h before a US day's end: the same day-0/1/2 groups as its
# own lead-to-MaxT-period-end buckets (12-24, 24-48, 48-72 h), in the lead the model measures.
FORECAST_LEAD_BUCKETS = ((0.0, 30.0), (30.0, 54.0), (54.0, 78.0))
MIN_FORECAST_ERRORS = 30   # per bucket


def fit_forecast(ds: Dataset,
                 window: FitWindow) -> tuple[dict[str, tuple[ForecastLeadError, ...]], dict]:
    """Forecast bias and σ by lead for every registry city whose station has archived forecasts.

    Walk-forward: target days in the window, forecasts issued and climate reports published before
    the day after its end (forecast_error.forecast_error_rows). No archive: the priors."""
    before = window.end + timedelta(days=1) if window.end else date(9999, 1, 1)
    fitted: dict[str, tuple[ForecastLeadError, ...]] = {}
    notes: dict = {}
    for city in ds.registry:
        rows = forecast_error_rows(ds.root, before, station=city.icao, since=window.start)
        end_of = {day: lst_day_bounds(day, city.lst_offset_hours)[1] for day, *_ in rows}
        errors = [((end_of[day] - issued).total_seconds() / 3600.0, err)
                  for day, issued, _, err in rows]
        stats = lead_errors(errors, FORECAST_LEAD_BUCKETS, MIN_FORECAST_ERRORS)
        if not stats:
            notes[city.code] = "prior"
            continue
        fitted[city.code] = tuple(
            ForecastLeadError(lo_hours=s.lo_hours, hi_hours=s.hi_hours, n=s.n, bias_f=-s.bias_f,
                              sigma_f=s.sigma_f, mae_f=s.mae_f) for s in stats)
        notes[city.code] = {"source": "fitted", "station": city.icao, "days": len(end_of),
                            "first_day": str(min(end_of)), "last_day": str(max(end_of)),
                            "by_lead": {s.label: {"n": s.n, "bias_f": -s.bias_f,
                                                  "sigma_f": s.sigma_f, "mae_f": s.mae_f}
                                        for s in stats}}
    return fitted, notes


# -- nowcast ----------------------------------------------------------------------------------------------
def _truth_for(ds: Dataset, key: str) -> tuple[dict[date, float], int]:
    """(daily highs, LST offset hours) of a registry city or of another station (`@ICAO`)."""
    if not key.startswith("@"):
        return ds.highs.get(key, {}), ds.registry.get(key).lst_offset_hours
    icao = key[1:]
    offset = {"KORD": -6}.get(icao, -5)  # only the LST offset is borrowed (Chicago's, else New York's)
    return ds.station_highs.get(icao, {}), offset


def fit_nowcast(ds: Dataset, window: FitWindow) -> tuple[dict[str, tuple[tuple[float, ...], ...]], float]:
    counts: dict[str, np.ndarray] = {}
    for key, (times, temps) in ds.hourly.items():
        truth, lst_offset = _truth_for(ds, key)
        tables_by_season = {s: np.zeros((24, NOWCAST_D_LEN)) for s in ("warm", "cool")}
        days_by_season = {"warm": 0, "cool": 0}
        offset = lst_offset * 3600
        local = times + offset
        day_idx = np.floor(local / 86400).astype(int)
        hour = ((local - day_idx * 86400) // 3600).astype(int)
        for d in np.unique(day_idx):
            day = date.fromordinal(date(1970, 1, 1).toordinal() + int(d))
            if day not in truth or not window.contains(day):
                continue
            sel = day_idx == d
            runmax = np.floor(np.maximum.accumulate(temps[sel]) + 0.5)
            offsets = np.clip(truth[day] - runmax - NOWCAST_D_MIN, 0, NOWCAST_D_LEN - 1).astype(int)
            hrs = hour[sel]
            last_in_hour = np.r_[hrs[1:] != hrs[:-1], True]  # the newest reading of each hour
            season = members.season(day)
            np.add.at(tables_by_season[season], (hrs[last_in_hour], offsets[last_in_hour]), 1.0)
            days_by_season[season] += 1
        for season, table in tables_by_season.items():
            if days_by_season[season] >= MIN_NOWCAST_DAYS:
                counts[f"{key}:{season}"] = table
    if not counts:
        return {}, default_params().floor_leak
    for season in ("warm", "cool"):
        pooled = [t for k, t in counts.items() if k.endswith(season)]
        if pooled:
            counts[f"*:{season}"] = sum(pooled)
    counts["*"] = sum(t for k, t in counts.items() if k.startswith("*:"))
    late = counts["*"][20:].sum(axis=0)
    leak = float(np.clip(late[: -NOWCAST_D_MIN].sum() / max(late.sum(), 1.0), 0.005, 0.3))
    tables = {}
    for key, table in counts.items():
        if key.startswith("@"):
            continue
        prior = counts["*"]
        smoothed = table + 0.05 + 2.0 * prior / np.maximum(prior.sum(axis=1, keepdims=True), 1.0)
        smoothed /= smoothed.sum(axis=1, keepdims=True)
        tables[key] = tuple(tuple(round(float(v), 6) for v in row) for row in smoothed)
    return tables, leak


# -- ensemble ---------------------------------------------------------------------------------------------
@dataclass
class Sample:
    key: str
    bucket: int
    logpmf: dict[str, np.ndarray]    # valid members only
    floor: int | None
    mask: np.ndarray                  # (K, G)
    y: np.ndarray                     # (K,)
    raw_prices: np.ndarray | None     # clipped market prices per bracket (None when the member is invalid)
    scored: np.ndarray                # (K,) 1 where the bracket had a price (the evaluation scores only those)
    day: date


def training_samples(ds: Dataset, window: FitWindow, params: ModelParams) -> list[Sample]:
    trades = last_trades(ds, list(FIT_HORIZONS))
    samples = []
    for event in ds.events:
        if not window.contains(event.climate_day) or event.settled is None:
            continue
        y = np.array([float(b.contains(event.settled)) for _, b in event.ladder])
        if y.sum() != 1:
            continue
        for h in FIT_HORIZONS:
            inputs = inputs_at(ds, event, h, trades)
            ms = [m for m in members.all_members(inputs, params) if m.valid]
            market = next((m for m in ms if m.name == "market"), None)
            raw = None
            known = dict(inputs.market_yes_prices)
            scored = np.array([float(known.get(t) is not None) for t, _ in event.ladder])
            if not scored.any():
                continue
            if market is not None:
                prices = dict(inputs.market_yes_prices)
                raw = np.array([members.MISSING_PRICE if prices.get(t) is None else
                                min(max(float(prices[t]), members.MISSING_PRICE), 1 - members.MISSING_PRICE)
                                for t, _ in event.ladder])
            key = weight_key(inputs, params, any(m.name == "nowcast" for m in ms))
            samples.append(Sample(key, params.bucket(float(h) + _close_gap(event)), 
                                  {m.name: np.log(m.pmf + 1e-9) for m in ms},
                                  members.floor_index(inputs), bracket_mask(event.ladder), y, raw, scored,
                                  event.climate_day))
    return samples


def _close_gap(event) -> float:
    _, end = lst_day_bounds(event.climate_day, event.lst_offset_hours)
    return (end - event.close_time).total_seconds() / 3600.0


VALIDATION_SHARE = 0.3  # the newest 30% of training days decide whether tuned weights beat the market-only pool


def split_by_time(samples: list[Sample]) -> tuple[list[Sample], list[Sample]]:
    days = sorted({s.day for s in samples})
    if len(days) < 10:
        return samples, []
    cut = days[int(len(days) * (1 - VALIDATION_SHARE))]
    return [s for s in samples if s.day < cut], [s for s in samples if s.day >= cut]


# The market weight doubles as the sharpening exponent of the prices (between brackets: p ∝ price^w).
# Climatology capped at 0.25: a 0.5 weight won inside training windows and lost on the next months (rolling folds).
_GRIDS = {"climatology": (0.0, 0.1, 0.25), "market": (0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0),
          "nowcast": (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)}
EXTRA_LEAKS = (0.03, 0.1, 0.3, FLOOR_OFF)  # Brier punishes a hard floor's rare misses: let the fit soften it


def _sq_errors(names: list[str], w: tuple[float, ...], floor: np.ndarray, stacked: dict) -> np.ndarray:
    """Per-sample sum of squared errors over the scored brackets."""
    logp = sum(wi * stacked[n] for wi, n in zip(w, names) if wi)
    logp = logp - logp.max(axis=1, keepdims=True)
    p = np.exp(logp) * floor
    p /= p.sum(axis=1, keepdims=True)
    probs = np.einsum("nkg,ng->nk", stacked["mask"], p)
    probs /= np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)
    return np.sum(((probs - stacked["y"]) ** 2) * stacked["valid_k"], axis=1)


def _brier_for(names: list[str], w: tuple[float, ...], floor: np.ndarray, stacked: dict) -> float:
    logp = sum(wi * stacked[n] for wi, n in zip(w, names) if wi)
    logp = logp - logp.max(axis=1, keepdims=True)
    p = np.exp(logp) * floor
    p /= p.sum(axis=1, keepdims=True)
    probs = np.einsum("nkg,ng->nk", stacked["mask"], p)
    probs /= np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)
    return float(np.sum(((probs - stacked["y"]) ** 2) * stacked["valid_k"]) / stacked["valid_k"].sum())


def _stack(samples: list[Sample], names: list[str]) -> dict:
    n, g = len(samples), len(GRID)
    k = max(len(s.y) for s in samples)
    out = {name: np.zeros((n, g)) for name in names}  # log 1 = 0 for an invalid member: no effect on the pool
    mask, y, valid_k = np.zeros((n, k, g)), np.zeros((n, k)), np.zeros((n, k))
    floors = np.full(n, -1)
    for i, s in enumerate(samples):
        for name in names:
            if name in s.logpmf:
                out[name][i] = s.logpmf[name]
        kk = len(s.y)
        mask[i, :kk], y[i, :kk], valid_k[i, :kk] = s.mask, s.y, s.scored
        floors[i] = -1 if s.floor is None else s.floor

    def floor_factor(leak: float) -> np.ndarray:
        if leak >= FLOOR_OFF:
            return np.ones((n, g))
        idx = np.arange(g)[None, :]
        f = np.where(idx >= floors[:, None], 1.0, leak * 1e-3)
        f = np.where(idx == floors[:, None] - 1, leak, f)
        return np.where(floors[:, None] < 0, 1.0, f)

    out.update(mask=mask, y=y, valid_k=valid_k, floor_factor=floor_factor)
    return out


BASELINE = {"climatology": 0.0, "nowcast": 0.0, "market": 1.0}


def _search(group: list[Sample], names: list[str], leaks: tuple[float, ...]) -> tuple[float, tuple, float]:
    stacked = _stack(group, names)
    best = (math.inf, (), FLOOR_OFF)
    for leak in leaks:
        floor = stacked["floor_factor"](leak)
        for w in itertools.product(*(_GRIDS[n] for n in names)):
            if any(w):
                best = min(best, (_brier_for(names, w, floor, stacked), w, leak))
    return best


def _score(group: list[Sample], names: list[str], w: tuple[float, ...], leak: float) -> float:
    stacked = _stack(group, names)
    return _brier_for(names, w, stacked["floor_factor"](leak), stacked)


def fit_weights(group: list[Sample], leak: float) -> tuple[dict[str, float], float, dict]:
    """Grid-searched pool weights and floor leak, accepted only if they beat the market-only pool (no floor) on the
    newest training days; otherwise the market-only pool itself."""
    names = [n for n in ("climatology", "nowcast", "market") if any(n in s.logpmf for s in group)]
    leaks = (leak, *EXTRA_LEAKS) if any(s.floor is not None for s in group) else (FLOOR_OFF,)
    baseline = tuple(BASELINE[n] for n in names)
    early, late = split_by_time(group)
    note: dict = {"n": len(group)}
    if "market" not in names:  # no prices at all: weather members alone, fitted in-sample
        _, w, best_leak = _search(group, names, leaks)
        return dict(zip(names, w)), best_leak, {**note, "chosen": "weather_only"}
    if len(early) < 20 or len(late) < 10:
        return dict(BASELINE), FLOOR_OFF, {**note, "chosen": "market_only_too_few"}
    _, tuned, tuned_leak = _search(early, names, leaks)
    late_tuned, late_base = _score(late, names, tuned, tuned_leak), _score(late, names, baseline, FLOOR_OFF)
    note.update(validation_tuned=round(late_tuned, 5), validation_market_only=round(late_base, 5))
    if late_tuned >= late_base:
        return dict(BASELINE), FLOOR_OFF, {**note, "chosen": "market_only"}
    # Keep the weights that were validated (tuned on the older days, beat the market-only pool on the newest ones);
    # refitting them on every day lost to this on the rolling folds.
    return dict(zip(names, tuned)), tuned_leak, {**note, "chosen": "tuned"}


def fit_ensemble(ds: Dataset, window: FitWindow, base: ModelParams) -> tuple[dict, dict, dict, dict]:
    samples = training_samples(ds, window, base)
    weights = {k: dict(v) for k, v in base.weights.items()}
    leaks = {key: FLOOR_OFF for key in weights}  # unfitted keys price as the market-only pool: no floor either
    notes: dict = {"training_samples": len(samples), "weights": {}}
    for key in sorted({s.key for s in samples}):
        group = [s for s in samples if s.key == key]
        if len(group) < 20:
            continue
        fitted, leaks[key], note = fit_weights(group, base.floor_leak)
        weights[key] = {"forecast": 0.0, **{n: 0.0 for n in BASELINE}, **fitted}
        notes["weights"][key] = {**note, "weights": fitted, "leak": leaks[key]}
    return {}, weights, leaks, notes
