"""OMS throughput against the simulator over loopback HTTP: intents/s end to end (intent commit → signed create →
ledger write), per-submit latency, reconcile time, HTTP calls per intent. Prints figures; not a test.

    python -m bench.oms_throughput [--intents 300] [--database-url duckdb:///:memory:]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "trading"))

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.ledger.db import connect
from daemon.ledger.migrate import migrate
from daemon.trading.oms import OrderManager


def main() -> None:
    from _oms_kit import active_tickers, crossing_intent, resting_intent, running_sim

    parser = argparse.ArgumentParser()
    parser.add_argument("--intents", type=int, default=300)
    parser.add_argument("--database-url", default="duckdb:///:memory:")
    args = parser.parse_args()

    clock = SimulatedClock(datetime(2026, 1, 15, 15, 0, tzinfo=UTC))
    db = connect(args.database_url)
    migrate(db)
    with tempfile.TemporaryDirectory() as folder, running_sim(clock, Path(folder)) as sim, sim.client(clock) as client:
        tickers = active_tickers(sim, clock)
        oms = OrderManager(db, client, clock, registry=default_registry())
        t0 = time.perf_counter()
        oms.reconcile()
        startup = time.perf_counter() - t0
        intents = [crossing_intent(tickers[i % len(tickers)], i, count="1") if i % 10 == 0
                   else resting_intent(tickers[i % len(tickers)], i) for i in range(args.intents)]
        latencies = []
        calls_before = client.request_count
        start = time.perf_counter()
        for intent in intents:
            t = time.perf_counter()
            oms.submit(intent)
            latencies.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
        submit_calls = client.request_count - calls_before
        t0 = time.perf_counter()
        report = oms.reconcile()
        reconcile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        oms.refresh()
        refresh_s = time.perf_counter() - t0
    latencies.sort()
    print(f"engine                 {db.engine}")
    print(f"intents                {len(intents)} over {len(tickers)} markets")
    print(f"throughput             {len(intents) / elapsed:.1f} intents/s end-to-end ({elapsed:.2f} s)")
    print(f"submit latency         p50 {statistics.median(latencies) * 1000:.1f} ms   "
          f"p99 {latencies[int(0.99 * (len(latencies) - 1))] * 1000:.1f} ms")
    print(f"http calls per intent  {submit_calls / len(intents):.2f}")
    print(f"startup reconcile      {startup * 1000:.0f} ms (empty ledger)")
    print(f"reconcile              {reconcile_s * 1000:.0f} ms with {report.orders_checked} open orders, "
          f"{report.fills_ingested} new fills; ok={report.ok}")
    print(f"refresh                {refresh_s * 1000:.0f} ms")
    db.close()


if __name__ == "__main__":
    main()
