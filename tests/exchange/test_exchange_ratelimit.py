"""Token buckets on a SimulatedClock: waits happen through clock.sleep, so these are exact and instant."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from daemon.clock import UTC, SimulatedClock
from daemon.exchange.config import RateLimitConfig
from daemon.exchange.ratelimit import RateLimiter, TokenBucket


@pytest.fixture
def sim_clock() -> SimulatedClock:
    return SimulatedClock(datetime(2026, 1, 15, 12, tzinfo=UTC))


def test_burst_passes_without_waiting_then_meters(sim_clock: SimulatedClock) -> None:
    bucket = TokenBucket(rate_per_s=100, burst=100, clock=sim_clock)
    for _ in range(10):
        assert bucket.acquire(10) == 0
    assert sim_clock.monotonic() == 0
    assert bucket.acquire(10) == pytest.approx(0.1)
    assert sim_clock.monotonic() == pytest.approx(0.1)


def test_sustained_rate_never_exceeds_budget(sim_clock: SimulatedClock) -> None:
    bucket = TokenBucket(rate_per_s=200, burst=400, clock=sim_clock)
    for _ in range(1000):
        bucket.acquire(10)
    # 10,000 tokens: 400 from the burst, the rest at 200/s.
    assert sim_clock.monotonic() == pytest.approx((10_000 - 400) / 200)


def test_refill_caps_at_burst(sim_clock: SimulatedClock) -> None:
    bucket = TokenBucket(rate_per_s=10, burst=20, clock=sim_clock)
    bucket.acquire(20)
    sim_clock.advance(__import__("datetime").timedelta(seconds=100))
    assert bucket.tokens == pytest.approx(20)
    assert bucket.try_acquire(20) and not bucket.try_acquire(1)


def test_drain_after_429_forces_a_full_refill_wait(sim_clock: SimulatedClock) -> None:
    bucket = TokenBucket(rate_per_s=100, burst=100, clock=sim_clock)
    bucket.drain()
    assert bucket.acquire(10) == pytest.approx(0.1)


def test_cost_larger_than_burst_is_refused(sim_clock: SimulatedClock) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate_per_s=1, burst=5, clock=sim_clock).acquire(6)
    with pytest.raises(ValueError):
        TokenBucket(rate_per_s=0, burst=5, clock=sim_clock)


def test_tiers_are_independent(sim_clock: SimulatedClock) -> None:
    limiter = RateLimiter(RateLimitConfig(write_tokens_per_s=100, write_capacity=100, safety_factor=1.0), sim_clock)
    for _ in range(10):
        limiter.acquire("write")
    assert limiter.acquire("read") == 0            # reads unaffected by an empty write bucket
    assert limiter.acquire("write") == pytest.approx(0.1)


def test_safety_factor_shrinks_budget(sim_clock: SimulatedClock) -> None:
    limiter = RateLimiter(RateLimitConfig(safety_factor=0.5), sim_clock)
    assert limiter.buckets["read"].rate_per_s == 100 and limiter.buckets["write"].burst == 50


def test_threads_share_one_budget(sim_clock: SimulatedClock) -> None:
    bucket = TokenBucket(rate_per_s=100, burst=100, clock=sim_clock)
    threads = [threading.Thread(target=lambda: [bucket.acquire(10) for _ in range(25)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sim_clock.monotonic() == pytest.approx((1000 - 100) / 100)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("rate", [90.0, 180.0, 3.0, 7.0])
def test_acquire_after_429_terminates_on_simulated_clock(sim_clock: SimulatedClock, rate: float) -> None:
    """Regression: a wait that rounds below one microsecond used to be a no-op sleep → an endless loop."""
    bucket = TokenBucket(rate_per_s=rate, burst=max(10.0, rate), clock=sim_clock)
    for _ in range(50):
        bucket.drain()                     # what a 429 does
        waited = bucket.acquire(10)
        assert waited == pytest.approx(10 / rate, abs=1e-5)
    assert sim_clock.monotonic() == pytest.approx(50 * 10 / rate, abs=50e-6)  # ≤1 µs round-up each


@pytest.mark.timeout(10)
def test_sub_microsecond_shortfall_still_advances_the_clock(sim_clock: SimulatedClock) -> None:
    bucket = TokenBucket(rate_per_s=180, burst=360, clock=sim_clock)
    bucket._tokens = 10 - 1e-7             # a float residue a hair below the cost
    before = sim_clock.monotonic()
    bucket.acquire(10)
    assert sim_clock.monotonic() - before <= 1e-6
    bucket._tokens = 10 - 1e-3             # genuinely short: a real (rounded-up) wait
    bucket.acquire(10)
    assert sim_clock.monotonic() - before > 1e-6
