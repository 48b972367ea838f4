"""Kalshi's token buckets, enforced by the simulator per API key and tier (off unless configured)."""

from __future__ import annotations

import re
import threading

from daemon.clock import Clock
from daemon.exchange.sim.config import SimConfig

_DEFAULT_COST = 10.0
_CHEAP = (("DELETE", re.compile(r"^/portfolio/events/orders/[^/]+$")),      # V2 cancel: 2 tokens
          ("GET", re.compile(r"^/portfolio/orders/[^/]+$")))                  # get one order: 2 tokens


class Buckets:
    def __init__(self, config: SimConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._state: dict[tuple[str, str], tuple[float, float]] = {}       # (tokens, at monotonic)
        self._lock = threading.Lock()

    def _limits(self, tier: str) -> tuple[float, float]:
        cfg = self._config
        if tier == "write":
            return cfg.write_tokens_per_s, cfg.write_capacity
        return cfg.read_tokens_per_s, cfg.read_capacity

    @staticmethod
    def cost(method: str, path: str) -> float:
        return 2.0 if any(m == method and p.match(path) for m, p in _CHEAP) else _DEFAULT_COST

    def take(self, who: str, tier: str, path: str, method: str) -> bool:
        """Spend the request's cost from `who`'s bucket; False (→ 429) if it does not hold enough."""
        if not self._config.rate_limits_enabled:
            return True
        rate, capacity = self._limits(tier)
        now = self._clock.monotonic()
        with self._lock:
            tokens, at = self._state.get((who, tier), (capacity, now))
            tokens = min(capacity, tokens + (now - at) * rate)
            cost = self.cost(method, path)
            if tokens < cost:
                self._state[(who, tier)] = (tokens, now)
                return False
            self._state[(who, tier)] = (tokens - cost, now)
            return True
