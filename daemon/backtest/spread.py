"""A bid-ask spread that depends on the price level, measured from the recorded tape (walk-forward).

The tape has trades, not quotes. The effective spread is measured as in the edge study: two consecutive sweeps
of one market by opposite-side takers within 60 s; the YES-taker sweep's price minus the NO-taker sweep's price
(each sweep at its deepest level) is one sample of ask − bid, at the level of their midpoint. Samples are pooled
by the distance of that level from the nearer edge, min(p, 100 − p) (buying YES at p is selling NO at 100 − p),
and the median per bucket over the trailing 60 days, rounded up to a whole cent and at least 1 ¢, is the spread.
A bucket with fewer than `min_samples` samples keeps the default table (the study's figures: 3 ¢ at 3–20 ¢,
4–5 ¢ at 20–80 ¢). `fit_before(t)` uses only samples whose later sweep printed before t: nothing measured on a
day is used on it.
Pure: no clock, no I/O beyond the tape already loaded.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

import numpy as np

from daemon.backtest.tape import Tape, to_us

# Bucket upper edges on min(p, 100 − p), in cents: [1, 3), [3, 10), [10, 20), [20, 35), [35, 50].
BUCKET_EDGES = (3, 10, 20, 35)
DEFAULT_CENTS = (1, 3, 3, 4, 5)
PAIR_WINDOW_US = 60 * 1_000_000
# Below this many samples a bucket keeps the default: the thinly traded legacy months (Aug–Oct 2024) give a few
# hundred pairs per bucket with a median of 0–1 ¢, which is noise, not a spread anyone could trade at.
MIN_SAMPLES = 1000
TRAILING = timedelta(days=60)        # the spread is measured on the last 60 days only: markets change


def bucket_of(price_cents: int) -> int:
    return bisect_right(BUCKET_EDGES, min(price_cents, 100 - price_cents))


@dataclass(frozen=True)
class SpreadModel:
    """Spread in whole cents per price bucket; `samples` says how many measurements stand behind each."""

    cents: tuple[int, ...] = DEFAULT_CENTS
    samples: tuple[int, ...] = (0,) * (len(BUCKET_EDGES) + 1)
    fitted_before: datetime | None = None

    def __post_init__(self) -> None:
        if len(self.cents) != len(BUCKET_EDGES) + 1 or any(c < 1 for c in self.cents):
            raise ValueError(f"spread table {self.cents} must give {len(BUCKET_EDGES) + 1} buckets of ≥ 1 cent")

    def spread_cents(self, price_cents: int) -> int:
        return self.cents[bucket_of(price_cents)]

    def describe(self) -> list[dict[str, int]]:
        lows = (1, *BUCKET_EDGES)
        highs = (*BUCKET_EDGES, 51)
        return [{"from_cents": lo, "to_cents": hi - 1, "spread_cents": c, "samples": n}
                for lo, hi, c, n in zip(lows, highs, self.cents, self.samples)]


class SpreadSamples:
    """Every effective-spread sample of a tape, sorted by the time it became known (its later sweep)."""

    def __init__(self, tape: Tape) -> None:
        times, buckets, spreads = [], [], []
        for _ticker, tt in tape.all_trade_arrays():
            if len(tt) < 2:
                continue
            first = np.r_[True, tt.time_us[1:] != tt.time_us[:-1]]
            g_time = tt.time_us[first]
            g_price = tt.sweep_price[first].astype(np.int32)
            g_yes = tt.taker_yes[first]
            pair = (g_yes[1:] != g_yes[:-1]) & (g_time[1:] - g_time[:-1] <= PAIR_WINDOW_US)
            if not pair.any():
                continue
            a, b = g_price[:-1][pair], g_price[1:][pair]
            yes_first = g_yes[:-1][pair]
            spread = np.where(yes_first, a - b, b - a)
            mid2 = a + b                                   # twice the midpoint, to stay in integers
            dist2 = np.minimum(mid2, 200 - mid2)
            edges2 = np.array([2 * e for e in BUCKET_EDGES])
            buckets.append(np.searchsorted(edges2, dist2, side="right"))
            spreads.append(spread)
            times.append(g_time[1:][pair])
        if times:
            t, k, s = np.concatenate(times), np.concatenate(buckets), np.concatenate(spreads)
            order = np.argsort(t, kind="stable")
            self.time_us, self.bucket, self.spread = t[order], k[order], s[order]
        else:
            self.time_us = np.zeros(0, dtype=np.int64)
            self.bucket = np.zeros(0, dtype=np.int64)
            self.spread = np.zeros(0, dtype=np.int32)

    def fit_before(self, before: datetime, *, min_samples: int = MIN_SAMPLES,
                   default: tuple[int, ...] = DEFAULT_CENTS, trailing: timedelta | None = TRAILING) -> SpreadModel:
        n = int(np.searchsorted(self.time_us, to_us(before), side="left"))
        first = 0 if trailing is None else int(np.searchsorted(self.time_us, to_us(before - trailing), side="left"))
        bucket, spread = self.bucket[first:n], self.spread[first:n]
        cents, counts = [], []
        for k in range(len(BUCKET_EDGES) + 1):
            chosen = spread[bucket == k]
            counts.append(len(chosen))
            if len(chosen) < min_samples:
                cents.append(default[k])
            else:
                cents.append(max(1, math.ceil(float(np.median(chosen)))))
        return SpreadModel(tuple(cents), tuple(counts), before)


class SpreadSource(Protocol):
    def model_at(self, now: datetime) -> SpreadModel:
        """The spread table in force at `now` (fitted on nothing later than now)."""


class WalkForwardSpread:
    """The spread model for a day D, fitted on samples known before 00:00 UTC of D; cached per day."""

    def __init__(self, tape: Tape, *, min_samples: int = MIN_SAMPLES) -> None:
        self.samples = SpreadSamples(tape)
        self.min_samples = min_samples
        self._cache: dict[date, SpreadModel] = {}

    def model_at(self, now: datetime) -> SpreadModel:
        day = now.astimezone(UTC).date()
        model = self._cache.get(day)
        if model is None:
            model = self.samples.fit_before(datetime.combine(day, time(0), tzinfo=UTC),
                                            min_samples=self.min_samples)
            self._cache[day] = model
        return model


class FixedSpread:
    """One spread table at every instant (hand-made tapes and unit tests)."""

    def __init__(self, model: SpreadModel | None = None) -> None:
        self.model = model or SpreadModel()

    def model_at(self, now: datetime) -> SpreadModel:
        return self.model
