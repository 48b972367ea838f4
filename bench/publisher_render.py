"""Publisher build benchmark: build time, peak memory and output size for synthetic, seeded ledgers of
1k / 100k / 1M trades, plus the files an incremental publish changes (= R2 PUTs) after one new trade.
Each size runs in a fresh process so peak RSS is that build's own. Prints figures; not a test.

    python -m bench.publisher_render [--sizes 1000,100000,1000000] [--days 365]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PUBLISH_AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CITIES = ["NYC", "CHI", "LAX", "MIA", "AUS", "DEN", "PHL", "BOS", "SEA", "SFO"]


def make_ledger(path: Path, trades: int, days: int) -> None:
    """Bulk-generate a deterministic ledger in DuckDB with SQL (hash-based pseudo-randomness)."""
    from daemon.ledger.db import connect
    from daemon.ledger.migrate import migrate

    cutoff = PUBLISH_AT - timedelta(minutes=60)
    start = cutoff - timedelta(days=days)
    span = int((cutoff - start).total_seconds()) - 1
    cities = "[" + ",".join(f"'{c}'" for c in CITIES) + "]"
    with connect(f"duckdb:///{path}") as db:
        migrate(db)
        con = db.raw
        con.execute("INSERT INTO ops.config_versions VALUES ('bench', '{}', TIMESTAMPTZ '2025-01-01 00:00:00+00')")
        con.execute(f"""
            CREATE TEMP TABLE g AS
            SELECT i,
                   TIMESTAMPTZ '{start.isoformat()}' + to_seconds(CAST(i * {span} // {trades} AS BIGINT)) AS ts,
                   {cities}[1 + CAST(hash(i, 'c') % 10 AS INTEGER)] AS city,
                   30 + CAST(hash(i, 's') % 6 AS INTEGER) * 5 AS strike,
                   CASE WHEN hash(i, 'side') % 2 = 0 THEN 'yes' ELSE 'no' END AS side,
                   CASE WHEN hash(i, 'a') % 7 = 0 THEN 'sell' ELSE 'buy' END AS action,
                   CAST(1 + hash(i, 'n') % 40 AS DECIMAL(18, 2)) AS count,
                   CAST((5 + hash(i, 'p') % 90) / 100.0 AS DECIMAL(10, 4)) AS price,
                   CAST((hash(i, 'f') % 30) / 100.0 AS DECIMAL(18, 4)) AS fee,
                   (hash(i, 'q') % 1000) / 1000.0 AS p_yes
            FROM range({trades}) t(i)""")
        con.execute("ALTER TABLE g ADD COLUMN day DATE")
        con.execute("UPDATE g SET day = CAST(ts AS DATE)")
        con.execute("ALTER TABLE g ADD COLUMN ticker TEXT")
        con.execute("UPDATE g SET ticker = city || '-' || strftime(day, '%y%b%d') || '-B' || strike || '.5'")
        con.execute("""INSERT INTO ops.decisions (id, cycle_id, decided_at, ticker, event_ticker, city_code, climate_day,
            config_hash, p_yes, side, action, price, size, outcome, reason_codes, features)
            SELECT i, 'c', ts - INTERVAL 20 SECOND, ticker, ticker, city, day, 'bench', p_yes, side, action, price,
                   count, 'trade', '[]', '{}' FROM g""")
        con.execute("""INSERT INTO ops.intents SELECT 'k' || i, 1, i, ticker, city, day, side, action, count, price,
            'c' || i, 'done', NULL, ts, ts FROM g""")
        con.execute("""INSERT INTO ops.orders (id, client_order_id, exchange_order_id, intent_key, intent_version, ticker,
            city_code, climate_day, side, action, count, limit_price, state, filled_count, remaining_count, fees_paid,
            created_at, updated_at) SELECT i, 'c' || i, 'o' || i, 'k' || i, 1, ticker, city, day, side, action, count,
            price, 'executed', count, 0, fee, ts, ts FROM g""")
        con.execute("""INSERT INTO ops.fills SELECT i, 'f' || i, 'o' || i, NULL, ticker, city, day, side, action, count,
            price, hash(i, 't') % 3 > 0, fee, ts, ts + INTERVAL 2 SECOND FROM g""")
        con.execute(f"""INSERT INTO ops.settlements SELECT ticker, ticker, any_value(city), any_value(day),
            CASE WHEN hash(ticker) % 2 = 0 THEN 'yes' ELSE 'no' END, 50, 0, 0, 0,
            CAST(any_value(day) AS TIMESTAMPTZ) + INTERVAL 38 HOUR, CAST(any_value(day) AS TIMESTAMPTZ) + INTERVAL 39 HOUR, '{{}}'
            FROM g GROUP BY ticker HAVING CAST(any_value(day) AS TIMESTAMPTZ) + INTERVAL 39 HOUR <= TIMESTAMPTZ '{cutoff.isoformat()}'""")
        con.execute(f"""INSERT INTO ops.weather_snapshots (id, city_code, climate_day, source, received_at, forecast_high_f,
            observed_max_f, observed_until, payload) SELECT row_number() OVER (), city, CAST(TIMESTAMPTZ '{cutoff.isoformat()}' AS DATE), 'bench',
            TIMESTAMPTZ '{cutoff.isoformat()}' - INTERVAL 10 MINUTE, 50, 48, TIMESTAMPTZ '{cutoff.isoformat()}' - INTERVAL 10 MINUTE, '{{}}'
            FROM (SELECT unnest({cities}) AS city)""")


def one(path: Path, out: Path) -> dict:
    """Build once (timed, in this fresh process), then an incremental build after one new trade."""
    from daemon.ledger.db import connect
    from publisher.build import build_site
    from publisher.config import PublisherConfig
    from publisher.site import read_release

    config = PublisherConfig()
    with connect(f"duckdb:///{path}") as db:
        started = time.perf_counter()
        result = build_site(db, config, PUBLISH_AT, out / "a")
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        at = PUBLISH_AT - timedelta(minutes=61)
        n = db.scalar("SELECT max(id) FROM ops.fills") + 1
        db.execute("INSERT INTO ops.fills VALUES (?, ?, 'o-new', NULL, 'NYC-NEW-B40.5', 'NYC', ?, 'yes', 'buy', 3, "
                   "0.41, TRUE, 0.02, ?, ?)", [n, f"f{n}", at.date(), at, at])
        build_site(db, config, PUBLISH_AT + timedelta(minutes=5), out / "b")
    before, after = read_release(out / "a")["files"], read_release(out / "b")["files"]
    changed = [p for p, e in after.items() if before.get(p, {}).get("sha256") != e["sha256"] and p != "_headers"]
    return {"trades": result.trades, "seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb),
            "files": result.files, "mbytes": round(result.bytes / 1e6, 1), "incremental_puts": len(changed) + 2}  # + manifest + pending list


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(Path(args.one[0]), Path(args.one[1]))))
        return
    print(f"{'trades':>9} {'build s':>8} {'peak RSS MB':>11} {'files':>7} {'MB out':>7} {'incr. PUTs':>10} {'ledger s':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="milkbot-bench-") as tmp:
            ledger = Path(tmp) / "ledger.duckdb"
            started = time.perf_counter()
            make_ledger(ledger, size, args.days)
            ledger_s = time.perf_counter() - started
            done = subprocess.run([sys.executable, "-m", "bench.publisher_render", "--one", str(ledger), tmp],
                                  capture_output=True, text=True, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{r['trades']:>9} {r['seconds']:>8} {r['peak_rss_mb']:>11} {r['files']:>7} {r['mbytes']:>7} "
                  f"{r['incremental_puts']:>10} {ledger_s:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
