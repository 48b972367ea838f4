"""Seeded background liquidity: what the makers quote and what the takers send, per market and tick.

Fair value comes from the truth's forecast distribution (normal around the forecast, truncated below by
the maximum already observed). Makers quote around a *biased* view of it: a logit shrink toward 0.5
reproduces the favourite–longshot bias of the real data (contracts priced ≤10¢ settle YES less often
than their price says), plus seeded noise. Takers hold a noisy belief and cross the spread with IOC.
Pure functions of (seed, market, tick): the engine turns the returned intents into orders.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from daemon.exchange.sim.config import AgentConfig
from daemon.exchange.sim.state import BookSide, SimMarket
from daemon.simulation.truth import TruthSource

MAKER_ACCOUNTS = ("agent-maker-1", "agent-maker-2")
TAKER_ACCOUNTS = ("agent-taker-1", "agent-taker-2")


@dataclass(frozen=True)
class Quote:
    book_side: BookSide
    price_cents: int
    count: int


def tick_rng(seed: int, *parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def fair_probability(market: SimMarket, truth: TruthSource, now: datetime) -> float | None:
    """P(YES) from the forecast as of `now`, conditioned on the maximum observed so far."""
    mu = truth.forecast_high(market.city_code, market.day, now)
    sigma = truth.forecast_sigma(market.city_code, market.day, now)
    if mu is None or not sigma:
        return None
    observed = truth.observed_max_until(market.city_code, market.day, now)
    floor = -10_000 if observed is None else math.floor(observed + 0.5)
    lo = market.floor_strike if market.strike_type == "between" else (
        market.floor_strike + 1 if market.strike_type == "greater" else -10_000)
    hi = market.cap_strike if market.strike_type == "between" else (
        market.cap_strike - 1 if market.strike_type == "less" else 10_000)
    assert lo is not None and hi is not None

    def mass(a: int, b: int) -> float:        # P(a <= high <= b) for whole-degree highs
        return _cdf((b + 0.5 - mu) / sigma) - _cdf((a - 0.5 - mu) / sigma)

    total = mass(floor, 10_000)
    if total <= 1e-12:
        return 1.0 if lo <= floor <= hi else 0.0
    return max(0.0, mass(max(lo, floor), hi) / total) if hi >= max(lo, floor) else 0.0


def biased(p: float, bias: float, noise: float) -> float:
    p = min(max(p, 0.004), 0.996)
    logit = math.log(p / (1 - p)) * (1 - bias) + noise
    return 1 / (1 + math.exp(-logit))


def maker_quotes(fair: float, cfg: AgentConfig, rng: random.Random) -> list[Quote]:
    view = biased(fair, cfg.longshot_bias, rng.gauss(0.0, cfg.noise_logit_sd))
    mid = min(max(round(view * 100), 1), 99)
    quotes: list[Quote] = []
    for level in range(cfg.maker_levels):
        size = cfg.maker_size * (1 + level) + rng.randint(0, cfg.maker_size)
        bid = mid - cfg.maker_half_spread_cents - level
        ask = mid + cfg.maker_half_spread_cents + level
        if 1 <= bid <= 99:
            quotes.append(Quote("bid", bid, size))
        if 1 <= ask <= 99:
            quotes.append(Quote("ask", ask, size))
    return quotes


def taker_intent(fair: float, best_bid: int | None, best_ask: int | None, cfg: AgentConfig,
                 rng: random.Random) -> Quote | None:
    """At most one IOC order: buy YES below belief, sell YES above it, else a noise trade."""
    if rng.random() >= min(cfg.taker_rate_per_tick, 1.0):
        return None
    belief = biased(fair, cfg.longshot_bias / 2, rng.gauss(0.0, cfg.noise_logit_sd)) * 100
    size = rng.randint(1, cfg.taker_max_size)
    if best_ask is not None and belief > best_ask + 1:
        return Quote("bid", best_ask, size)
    if best_bid is not None and belief < best_bid - 1:
        return Quote("ask", best_bid, size)
    if best_bid is None or best_ask is None:
        return None
    return Quote("bid", best_ask, size) if rng.random() < 0.5 else Quote("ask", best_bid, size)


def price_of(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))
