"""Simulator benchmark (not a test): engine matching throughput, agent ticks, and Kalshi-client round trips over
loopback HTTP — discovery of all cities' open markets, one full order-book sweep, order create+cancel.

    python -m bench.sim_matching [--orders 20000] [--round-trips 300]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric import rsa

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.exchange.client import KalshiClient
from daemon.exchange.config import RateLimitConfig
from daemon.exchange.orders import OrderRequest
from daemon.exchange.signing import public_key_pem
from daemon.exchange.sim import SimConfig, SimExchange, SimServer
from daemon.exchange.sim.config import AgentConfig
from daemon.simulation.truth import SyntheticTruth

START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
UNMETERED = RateLimitConfig(read_tokens_per_s=1e9, read_capacity=1e9, write_tokens_per_s=1e9, write_capacity=1e9)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def bench_engine(n_orders: int) -> None:
    registry = default_registry()
    clock = SimulatedClock(START)
    exchange = SimExchange(registry, SyntheticTruth(1, registry), clock, SimConfig(agents=AgentConfig(enabled=False)))
    for name in ("a", "b"):
        exchange.register_account(name, None, 10**12)
    exchange.step()
    tickers = [m.ticker for m in exchange.markets.values() if m.status == "active"]
    started = time.perf_counter()
    for i in range(n_orders):
        who, side = ("a", "bid") if i % 2 == 0 else ("b", "ask")
        price = 40 + (i * 7) % 21                   # overlapping bands: about half the orders cross
        exchange.create_order(who, {"ticker": tickers[(i // 2) % len(tickers)], "side": side, "price": f"0.{price:02d}",
                                    "count": str(1 + i % 9), "time_in_force": "good_till_canceled",
                                    "self_trade_prevention_type": "maker"})
    elapsed = time.perf_counter() - started
    exchange.check_invariants()
    print(f"engine: {n_orders} orders in {elapsed:.2f}s = {n_orders / elapsed:,.0f} orders/s, "
          f"{len(exchange.trades):,} trades ({len(exchange.trades) / elapsed:,.0f} matches/s)")


def bench_agents(minutes: int) -> None:
    registry = default_registry()
    clock = SimulatedClock(START)
    exchange = SimExchange(registry, SyntheticTruth(1, registry), clock, SimConfig())
    exchange.step()
    started = time.perf_counter()
    for _ in range(minutes):
        clock.advance(60)
        exchange.step()
    elapsed = time.perf_counter() - started
    active = sum(m.status == "active" for m in exchange.markets.values())
    print(f"agents: {minutes} ticks × {active} active markets in {elapsed:.2f}s = {minutes / elapsed:,.1f} ticks/s, "
          f"{len(exchange.trades):,} agent trades")


def bench_http(round_trips: int) -> None:
    registry = default_registry()
    clock = SimulatedClock(START)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    exchange = SimExchange(registry, SyntheticTruth(1, registry), clock, SimConfig())
    exchange.register_account("bench", public_key_pem(key), 10**9)
    exchange.step()
    with SimServer(exchange) as server, KalshiClient(server.url, "bench", key, clock, rate_limits=UNMETERED) as client:
        started, calls0 = time.perf_counter(), client.request_count
        found = client.discover_events([c.series[0] for c in registry], status="open")
        markets = [m for events in found.values() for e in events for m in e.markets]
        discovery = time.perf_counter() - started
        print(f"http discovery: {len(found)} series, {len(markets)} open markets, "
              f"{client.request_count - calls0} calls, {discovery * 1000:.1f} ms")
        latencies: list[float] = []
        sweep_start = time.perf_counter()
        for market in markets:
            t0 = time.perf_counter()
            client.get_orderbook(market.ticker)
            latencies.append(time.perf_counter() - t0)
        sweep = time.perf_counter() - sweep_start
        print(f"http orderbook sweep: {len(markets)} calls, {sweep * 1000:.1f} ms, "
              f"p50 {_pct(latencies, 0.5):.2f} ms, p99 {_pct(latencies, 0.99):.2f} ms")
        batch_start = time.perf_counter()
        client.get_orderbooks([m.ticker for m in markets])
        print(f"http batch orderbooks: 1 call, {(time.perf_counter() - batch_start) * 1000:.1f} ms")
        rtt: list[float] = []
        ticker = markets[0].ticker
        loop_start = time.perf_counter()
        for i in range(round_trips):
            t0 = time.perf_counter()
            outcome = client.create_order(OrderRequest(ticker=ticker, side="yes", action="buy", count=Decimal(1),
                                                       price=Decimal("0.01"), client_order_id=f"bench-{i}"))
            assert outcome.accepted and outcome.order is not None
            client.cancel_order_ack(outcome.order.order_id)
            rtt.append(time.perf_counter() - t0)
        loop = time.perf_counter() - loop_start
        print(f"http create+cancel: {round_trips} pairs in {loop:.2f}s = {2 * round_trips / loop:,.0f} round-trips/s, "
              f"pair p50 {_pct(rtt, 0.5):.2f} ms, p99 {_pct(rtt, 0.99):.2f} ms")
        print(f"server handled {server.request_count} requests; median pair {statistics.median(rtt) * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--ticks", type=int, default=30)
    parser.add_argument("--round-trips", type=int, default=300)
    args = parser.parse_args()
    bench_engine(args.orders)
    bench_agents(args.ticks)
    bench_http(args.round_trips)


if __name__ == "__main__":
    main()
