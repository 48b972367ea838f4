"""Client-side token buckets mirroring Kalshi's (read and write tiers, refilled continuously).

We meter ourselves so 429s are rare; when one arrives anyway the bucket is drained so the next
request waits a full refill of its cost. All waiting goes through the injected clock's `sleep`, so a
SimulatedClock makes limiter tests instant and deterministic. Thread-safe: waiters queue on the lock.
"""

from __future__ import annotations

import math
import threading
from typing import Literal

from daemon.clock import Clock
from daemon.exchange.config import RateLimitConfig

Tier = Literal["read", "write"]

# Float residue must never leave a request a hair short of its tokens forever.
_EPSILON_TOKENS = 1e-9
# Clocks keep microseconds (datetime): a shorter sleep would be a no-op on SimulatedClock and spin forever.
_MIN_WAIT_S = 1e-6


class TokenBucket:
    def __init__(self, rate_per_s: float, burst: float, clock: Clock) -> None:
        if rate_per_s <= 0 or burst <= 0:
            raise ValueError("rate_per_s and burst must be positive")
        self.rate_per_s = float(rate_per_s)
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock.monotonic()
        self._lock = threading.Lock()
        self.waited_s = 0.0          # total time spent waiting (for metrics/bench)

    def _refill(self) -> None:
        now = self._clock.monotonic()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate_per_s)

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def try_acquire(self, cost: float = 1.0) -> bool:
        self._check_cost(cost)
        with self._lock:
            self._refill()
            if self._tokens >= cost - _EPSILON_TOKENS:
                self._tokens = max(0.0, self._tokens - cost)
                return True
            return False

    def acquire(self, cost: float = 1.0) -> float:
        """Take `cost` tokens, sleeping (via the clock) until they are available. Returns seconds waited."""
        self._check_cost(cost)
        waited = 0.0
        with self._lock:
            while True:
                self._refill()
                if self._tokens >= cost - _EPSILON_TOKENS:
                    self._tokens = max(0.0, self._tokens - cost)
                    self.waited_s += waited
                    return waited
                wait = _round_up_to_microsecond((cost - self._tokens) / self.rate_per_s)
                self._clock.sleep(wait)
                waited += wait

    def drain(self) -> None:
        """The exchange said 429: assume its bucket is empty and start refilling from zero."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 0.0)

    def _check_cost(self, cost: float) -> None:
        if cost <= 0 or cost > self.burst:
            raise ValueError(f"cost {cost} must be in (0, burst={self.burst}]")

    def __repr__(self) -> str:
        return f"TokenBucket(rate_per_s={self.rate_per_s}, burst={self.burst})"


def _round_up_to_microsecond(seconds: float) -> float:
    return max(_MIN_WAIT_S, math.ceil(seconds * 1e6) / 1e6)


class RateLimiter:
    """One bucket per Kalshi tier: reads (GET) and writes (orders, amends, cancels)."""

    def __init__(self, config: RateLimitConfig, clock: Clock) -> None:
        factor = config.safety_factor
        self.config = config
        # The margin never shrinks a bucket below one default request, or nothing could ever pass.
        self.buckets: dict[Tier, TokenBucket] = {
            "read": TokenBucket(config.read_tokens_per_s * factor,
                                max(config.read_capacity * factor, config.default_cost), clock),
            "write": TokenBucket(config.write_tokens_per_s * factor,
                                 max(config.write_capacity * factor, config.default_cost), clock),
        }

    def acquire(self, tier: Tier, cost: float | None = None) -> float:
        return self.buckets[tier].acquire(self.config.default_cost if cost is None else cost)

    def drain(self, tier: Tier) -> None:
        self.buckets[tier].drain()
