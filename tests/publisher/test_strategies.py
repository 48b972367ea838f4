"""Each public trade names the strategy that made it (issue 11), and the results by strategy are computed from
the delayed public trades only, on both engines.

The strategy is the purpose at the end of the order's intent key (`entry` is the taker); migration 0041 adds it
to analytics.public_trades without touching anything else that function promised: its columns, its cut-off,
and on Postgres its SECURITY DEFINER, pinned search_path, clamp and grants.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import pytest
from publisher_ledger_kit import LedgerKit, source_for, ticker_for

from daemon.ledger.db import connect
from daemon.ledger.migrate import MIGRATIONS_DIR, migrate
from daemon.runtime.footprint import purpose_of
from daemon.strategies.config import KNOWN
from publisher.build import build_site
from publisher.db import PostgresReader
from publisher.models import STRATEGIES, STRATEGY_LABELS

OLD_COLUMNS = ["seq", "trade_time", "city_code", "ticker", "climate_day", "side", "action", "count", "price", "fee",
               "liquidity", "p_side", "market_result", "settled_at", "pnl"]


def _feed(root, name: str) -> dict:
    return json.loads((root / "api" / "v1" / name).read_text())


def test_the_trade_record_names_each_strategy(db, db_url, kit, publish_at, config, tmp_path):
    cutoff = publish_at - timedelta(minutes=60)
    day = cutoff.date() - timedelta(days=1)
    t0 = cutoff - timedelta(days=1, hours=2)
    kit.run(t0 - timedelta(days=1), mode="demo")
    # NYC B45.5, settles YES, traded by two strategies:
    #   taker buys 10 YES @ 0.45, fee 0.02           → 10 − 4.50 − 0.02 = +5.48 (a win for the taker)
    #   fixed_offset_maker buys 5 NO @ 0.30, no fee  → 0 − 1.50      = −1.50 (a loss for the maker)
    nyc = kit.trade(t0, "NYC", day, 45, price="0.45", fee="0.02", count="10", purpose="entry")
    kit.trade(t0 + timedelta(minutes=1), "NYC", day, 45, side="no", price="0.30", fee="0", count="5",
              is_taker=False, purpose="fixed_offset_maker")
    kit.settle(nyc, "yes", t0 + timedelta(hours=10))
    # model_maker: CHI buys 4 NO @ 0.80, fee 0.01, settles NO → 4 − 3.20 − 0.01 = +0.79 (a win);
    #              LAX buys 2 NO @ 0.50, fee 0.01, void → −0.01 (no win, no loss); MIA still open
    chi = kit.trade(t0 + timedelta(minutes=2), "CHI", day, 30, side="no", price="0.80", fee="0.01", count="4",
                    is_taker=False, purpose="model_maker")
    kit.settle(chi, "no", t0 + timedelta(hours=10))
    lax = kit.trade(t0 + timedelta(minutes=3), "LAX", day, 60, side="no", price="0.50", fee="0.01", count="2",
                    is_taker=False, purpose="model_maker")
    kit.settle(lax, "void", t0 + timedelta(hours=10))
    kit.trade(t0 + timedelta(minutes=4), "MIA", day, 70, side="no", price="0.60", fee="0.01", count="3",
              is_taker=False, purpose="model_maker")
    # not attributable: a purpose that is no strategy (hand-placed), and an order with an internal key
    den = kit.trade(t0 + timedelta(minutes=5), "DEN", day, 40, price="0.50", fee="0.01", count="1", purpose="probe")
    kit.settle(den, "no", t0 + timedelta(hours=10))                     # → −0.51
    kit.trade(t0 + timedelta(minutes=6), "BOS", day, 20, price="0.40", fee="0.01", count="1")
    # the cut-off still rules: a model_maker fill one second late is not there
    kit.trade(cutoff + timedelta(seconds=1), "SEA", cutoff.date(), 50, purpose="model_maker")

    root = tmp_path / "site"
    build_site(source_for(db, db_url), config, publish_at, root)

    recent = _feed(root, "trades/recent.json")
    assert [(t["ticker"][-5:].split("-")[-1], t["city"], t["strategy"]) for t in reversed(recent["trades"])] == [
        ("B45.5", "NYC", "taker"), ("B45.5", "NYC", "fixed_offset_maker"), ("B30.5", "CHI", "model_maker"),
        ("B60.5", "LAX", "model_maker"), ("B70.5", "MIA", "model_maker"), ("B40.5", "DEN", None),
        ("B20.5", "BOS", None)]
    month = _feed(root, f"trades/{day:%Y-%m}.json")
    assert [t["strategy"] for t in month["trades"]] == [t["strategy"] for t in reversed(recent["trades"])]

    results = _feed(root, "performance/strategies.json")
    assert results["as_of"] == "2026-01-15T11:00:00Z" and results["delay_minutes"] == 60
    assert [(s["strategy"], s["trades"], s["settled_markets"], s["total_pnl"], s["win_rate"])
            for s in results["strategies"]] == [
        ("taker", 1, 1, "5.4800", 1.0),
        ("fixed_offset_maker", 1, 1, "-1.5000", 0.0),
        ("model_maker", 3, 1, "0.7800", 1.0),
        (None, 2, 1, "-0.5100", 0.0),
    ]
    hero = _feed(root, "hero.json")
    assert sum(Decimal(s["total_pnl"]) for s in results["strategies"]) == Decimal(hero["total_pnl"]) == Decimal("4.25")

    # the pages: a Strategy cell in every trade row, and the results table on the home page
    rows = re.findall(r"<tr><td>\d+</td>.*?<td>(KXHIGH[^<]*)</td><td>([^<]*)</td>",
                      (root / "trades/index.html").read_text())
    assert rows[::-1] == [(nyc, "Taker"), (nyc, "Fixed-offset maker"), (chi, "Model maker"), (lax, "Model maker"),
                          (ticker_for("MIA", day, 70), "Model maker"), (den, "—"), (ticker_for("BOS", day, 20), "—")]
    home = (root / "index.html").read_text()
    section = home[home.index('id="strategies-heading"'):]
    assert re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td>", section) == [
        ("Taker", "1"), ("Fixed-offset maker", "1"), ("Model maker", "3"), ("Not recorded", "2")]
    assert "+$5.48" in section and "−$1.50" in section


def test_every_known_strategy_reaches_the_public_record(db, db_url, kit, publish_at, config, tmp_path):
    """A strategy added to the daemon must be added to migration-defined SQL and the feed models too."""
    assert tuple(STRATEGIES) == KNOWN and set(STRATEGY_LABELS) == set(KNOWN)
    cutoff = publish_at - timedelta(minutes=60)
    for i, name in enumerate(KNOWN):
        kit.trade(cutoff - timedelta(hours=2, minutes=i), "NYC", cutoff.date(), 40 + i, purpose=purpose_of(name))
    build_site(source_for(db, db_url), config, publish_at, tmp_path / "site")
    recent = _feed(tmp_path / "site", "trades/recent.json")
    assert sorted(t["strategy"] for t in recent["trades"]) == sorted(KNOWN)


def _columns_and_rows(db, cutoff) -> tuple[list[str], list[dict]]:
    rows = db.query("SELECT * FROM analytics.public_trades(?) ORDER BY seq", [cutoff])
    return (list(rows[0]) if rows else []), rows


def _upgrade_keeps_every_column(db, folder, cutoff) -> None:
    kit = LedgerKit(db, secret="upgrade")
    kit.trade(cutoff - timedelta(hours=3), "NYC", cutoff.date(), 40, purpose="model_maker")
    kit.trade(cutoff - timedelta(hours=2), "CHI", cutoff.date(), 41, purpose="entry")
    before_columns, before = _columns_and_rows(db, cutoff)
    assert before_columns == OLD_COLUMNS
    shutil.copy(MIGRATIONS_DIR / f"0041_analytics_strategy.{db.engine}.sql", folder)
    assert migrate(db, directory=folder) == [f"0041_analytics_strategy.{db.engine}.sql"]
    after_columns, after = _columns_and_rows(db, cutoff)
    assert after_columns == [*OLD_COLUMNS, "strategy"]
    assert [{k: v for k, v in r.items() if k != "strategy"} for r in after] == before
    assert [r["strategy"] for r in after] == ["model_maker", "taker"]


def _migrations_before_0041(tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if int(path.name[:4]) < 41:
            shutil.copy(path, folder)
    return folder


def test_upgrading_a_duckdb_ledger_keeps_every_column(tmp_path, publish_at):
    folder = _migrations_before_0041(tmp_path)
    with connect(f"duckdb:///{tmp_path / 'old.duckdb'}") as db:
        migrate(db, directory=folder)
        _upgrade_keeps_every_column(db, folder, publish_at - timedelta(minutes=60))


@pytest.mark.postgres
def test_upgrading_a_postgres_ledger_keeps_columns_definer_clamp_and_grants(pg_server_url, tmp_path):
    name = f"milkbot_upgrade_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    folder = _migrations_before_0041(tmp_path)
    with connect(pg_server_url) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    url = urlunsplit(urlsplit(pg_server_url)._replace(path=f"/{name}"))
    try:
        with connect(url) as db:
            migrate(db, directory=folder)
            now = db.scalar("SELECT now()")
            _upgrade_keeps_every_column(db, folder, now - timedelta(minutes=60))
            fn = db.query(
                "SELECT p.prosecdef, p.proconfig, "
                "has_function_privilege('milkbot_publisher', p.oid, 'EXECUTE') AS publisher_may, "
                "EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0) AS public_may "
                "FROM pg_proc p WHERE p.oid = 'analytics.public_trades(timestamptz)'::regprocedure")[0]
            assert fn["prosecdef"] is True and fn["proconfig"] == ["search_path=pg_catalog, pg_temp"]
            assert fn["publisher_may"] is True and fn["public_may"] is False
            kit = LedgerKit(db, secret="clamp")
            kit.trade(now - timedelta(minutes=5), "NYC", now.date(), 42, purpose="fixed_offset_maker")
        reader = PostgresReader(url, role="milkbot_publisher")
        try:
            # asking for the future still sees nothing younger than the database's now() − 60 min
            rows = reader.query("SELECT ticker, strategy FROM analytics.public_trades(?) ORDER BY seq",
                                [now + timedelta(days=1)])
        finally:
            reader.close()
        assert [(r["ticker"][-5:], r["strategy"]) for r in rows] == [("B40.5", "model_maker"), ("B41.5", "taker")]
    finally:
        with connect(pg_server_url) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
