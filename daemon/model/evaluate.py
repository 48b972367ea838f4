"""`milkbot model evaluate`: point-in-time replay and scoring against the market's own last-trade prices.

At horizon h (hours before each market's close) the model sees only trades at/before close − h and observations
before it. A market is scored at h when it has a trade by then (the market's Brier needs a price) and a result.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from daemon.model.api import price_event
from daemon.model.data import Dataset, Event
from daemon.model.params import ModelParams
from daemon.model.replay import inputs_at, last_trades

RELIABILITY_BINS = 10
EPS = 1e-6


@dataclass
class Score:
    markets: int = 0
    model_sq: float = 0.0
    market_sq: float = 0.0
    model_ll: float = 0.0
    rps_sum: float = 0.0
    rps_events: int = 0

    def add(self, other: Score) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def row(self, hours: float, city: str) -> dict:
        n = max(self.markets, 1)
        return {"hours": _num(hours), "city": city, "markets": self.markets,
                "model_brier": _r(self.model_sq / n) if self.markets else None,
                "market_brier": _r(self.market_sq / n) if self.markets else None,
                "model_log_loss": _r(self.model_ll / n) if self.markets else None,
                "model_rps": _r(self.rps_sum / self.rps_events) if self.rps_events else None}


@dataclass
class Evaluation:
    rows: list[dict]
    reliability: dict[float, list[dict]]
    skipped: dict[str, int] = field(default_factory=dict)


def _r(x: float) -> float:
    return round(float(x), 5)


def _num(h: float) -> int | float:
    return int(h) if float(h).is_integer() else h


def scorable(event: Event, start: date | None, end: date | None) -> bool:
    if (start and event.climate_day < start) or (end and event.climate_day > end):
        return False
    return len(event.results) == len(event.ladder) and sum(event.results.values()) == 1


def rps(probs: list[float], outcome: list[int]) -> float:
    """Ranked probability score over an ordered ladder, normalised to [0, 1] by (K − 1)."""
    cp, co = np.cumsum(probs), np.cumsum(outcome)
    return float(np.sum((cp[:-1] - co[:-1]) ** 2) / max(len(probs) - 1, 1))


def evaluate(ds: Dataset, params: ModelParams, horizons: list[float], start: date | None = None,
             end: date | None = None) -> Evaluation:
    trades = last_trades(ds, horizons)
    events = [e for e in ds.events if scorable(e, start, end)]
    rows, reliability, skipped = [], {}, defaultdict(int)
    for h in horizons:
        per_city: dict[str, Score] = defaultdict(Score)
        bins = np.zeros((RELIABILITY_BINS, 4))  # n, sum model p, sum market p, sum outcomes
        for event in events:
            traded = [(t, trades[(t, float(h))][0] / 100) for t, _ in event.ladder if (t, float(h)) in trades]
            if not traded:
                skipped["no_trade_yet"] += 1
                continue
            forecast = price_event(inputs_at(ds, event, h, trades), params)
            if not forecast.valid:
                skipped["model_invalid"] += 1
                continue
            score = per_city[event.city_code]
            for ticker, market_p in traded:
                p, y = forecast.probabilities[ticker], event.results[ticker]
                score.markets += 1
                score.model_sq += (p - y) ** 2
                score.market_sq += (market_p - y) ** 2
                q = min(max(p, EPS), 1 - EPS)
                score.model_ll -= y * math.log(q) + (1 - y) * math.log(1 - q)
                b = min(int(p * RELIABILITY_BINS), RELIABILITY_BINS - 1)
                bins[b] += (1, p, market_p, y)
            score.rps_sum += rps([forecast.probabilities[t] for t, _ in event.ladder],
                                 [event.results[t] for t, _ in event.ladder])
            score.rps_events += 1
        total = Score()
        for city in sorted(per_city):
            total.add(per_city[city])
        rows.append(total.row(h, "ALL"))
        rows.extend(per_city[c].row(h, c) for c in sorted(per_city))
        reliability[h] = [{"bin": f"{i / RELIABILITY_BINS:.1f}-{(i + 1) / RELIABILITY_BINS:.1f}", "n": int(n),
                           "model_p": _r(sp / n), "market_p": _r(sm / n), "observed": _r(sy / n)}
                          for i, (n, sp, sm, sy) in enumerate(bins) if n]
    return Evaluation(rows, reliability, dict(skipped))


def format_table(result: Evaluation) -> str:
    header = (f"{'hours':>5} {'city':<4} {'markets':>7} {'model_brier':>11} {'market_brier':>12} {'Δ(model-mkt)':>12} "
              f"{'log_loss':>8} {'rps':>7}")
    lines = [header]
    for r in result.rows:
        if not r["markets"]:
            continue
        delta = r["model_brier"] - r["market_brier"]
        lines.append(f"{r['hours']:>5} {r['city']:<4} {r['markets']:>7} {r['model_brier']:>11.4f} "
                     f"{r['market_brier']:>12.4f} {delta:>+12.4f} {r['model_log_loss']:>8.4f} {r['model_rps']:>7.4f}")
    for h, table in result.reliability.items():
        lines.append(f"\nreliability at h={_num(h)} (all cities): bin, n, mean model p, mean market p, observed rate")
        lines.extend(f"  {b['bin']}  {b['n']:>5}  {b['model_p']:.3f}  {b['market_p']:.3f}  {b['observed']:.3f}"
                     for b in table)
    if result.skipped:
        lines.append("\nskipped event-horizons: " + ", ".join(f"{k}={v}" for k, v in sorted(result.skipped.items())))
    return "\n".join(lines)
