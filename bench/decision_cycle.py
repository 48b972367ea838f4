"""Decision cycle over all open markets of the 10 cities, against the simulator over loopback HTTP.

Prints: pure compute per cycle and per event (model + edge + sizing, no network, no database) p50/p99;
full fast-cycle wall time (HTTP + ledger + OMS) p50/p99/max; HTTP calls per cycle; markets and decisions
per cycle; the machine's load average (the figures are wall-clock: on a shared machine read them with
it). Not a test.

    python -m bench.decision_cycle [--cycles 24] [--minutes 60] [--database-url duckdb:///path]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    from daemon.cities import default_registry
    from daemon.clock import SimulatedClock
    from daemon.config import load_settings
    from daemon.exchange.client import KalshiClient
    from daemon.exchange.config import RateLimitConfig
    from daemon.exchange.signing import load_private_key
    from daemon.exchange.sim import SimExchange, SimServer
    from daemon.ledger.db import connect
    from daemon.ledger.migrate import migrate
    from daemon.runtime.daemon import Daemon
    from daemon.simulation.demo import DEMO_KEY_ID, _key
    from daemon.simulation.truth import SyntheticTruth
    from daemon.simulation.weather_feed import TruthWeatherFeed

    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=24)
    parser.add_argument("--minutes", type=int, default=60, help="simulated minutes between fast cycles")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="milkbot-bench-cycle-"))
    settings = load_settings(None, {"MILKBOT_DATA_DIR": str(folder)})
    registry = default_registry()
    clock = SimulatedClock(datetime(2026, 1, 5, 14, 0, tzinfo=UTC))
    truth = SyntheticTruth(7, registry)
    agents = settings.sim.agents.model_copy(update={"max_ticks_per_step": 1, "maker_levels": 1})
    exchange = SimExchange(registry, truth, clock, settings.sim.model_copy(update={"agents": agents}), None)
    key_path, public = _key(folder)
    exchange.register_account(DEMO_KEY_ID, public, int(settings.trading.bankroll * 100))
    exchange.step(clock.now())
    server = SimServer(exchange).start()
    big = RateLimitConfig(read_tokens_per_s=1e6, read_capacity=1e7, write_tokens_per_s=1e6, write_capacity=1e7)
    client = KalshiClient(server.url, DEMO_KEY_ID, load_private_key(key_path), clock, rate_limits=big)
    db = connect(args.database_url or f"duckdb:///{folder / 'bench.duckdb'}")
    migrate(db)
    daemon = Daemon(settings, db, clock, client, TruthWeatherFeed(truth), registry)
    daemon.start()
    compute, per_event, wall, calls, markets, decisions, sim_step = [], [], [], [], [], [], []
    try:
        for n in range(args.cycles):
            clock.advance(timedelta(minutes=args.minutes))
            t0 = time.perf_counter()
            exchange.step(clock.now())
            sim_step.append(time.perf_counter() - t0)
            daemon.slow_cycle()
            stats = daemon.fast_cycle()
            if stats.errors:
                print(f"cycle {n}: errors {stats.errors}", file=sys.stderr)
            compute.append(stats.compute_seconds)
            per_event.extend(stats.event_compute_seconds)
            wall.append(stats.wall_seconds)
            calls.append(stats.calls)
            markets.append(stats.markets)
            decisions.append(stats.decisions)
    finally:
        client.close()
        server.stop()
        db.close()
    ms = 1000.0
    print(f"cycles {len(wall)} (every {args.minutes} simulated min, 10 cities), open markets/cycle "
          f"mean {statistics.mean(markets):.0f}, decisions/cycle mean {statistics.mean(decisions):.0f}")
    print(f"compute per cycle (model+edge+sizing, no I/O): p50 {_pct(compute, .5) * ms:.1f} ms"
          f"  p99 {_pct(compute, .99) * ms:.1f} ms")
    print(f"compute per event (one city-day ladder): p50 {_pct(per_event, .5) * ms:.2f} ms"
          f"  p99 {_pct(per_event, .99) * ms:.2f} ms  (n={len(per_event)})")
    print(f"fast cycle wall time (HTTP + ledger + OMS): p50 {_pct(wall, .5) * ms:.0f} ms"
          f"  p99 {_pct(wall, .99) * ms:.0f} ms  max {max(wall) * ms:.0f} ms")
    print(f"HTTP calls per fast cycle: mean {statistics.mean(calls):.1f}  max {max(calls)}")
    print(f"simulator step per cycle (agents; not part of the daemon): p50 {_pct(sim_step, .5) * ms:.0f} ms")
    print(f"load average (1/5/15 min) {' / '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
