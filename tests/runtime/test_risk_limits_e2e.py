"""The remaining risk limits fire through the real daemon path against the simulator over loopback HTTP.

Each test drives the real Daemon (fast + slow cycles, OMS, risk engine) against the in-process simulator, sets one
TradingConfig limit small enough to fire, and checks (a) the breaching order never reached the exchange (the
simulator's own order book of our account), (b) an ops.risk_events row names the limit with its actual and allowed
values, (c) the trading state where the limit changes it. (test_risk_e2e.py and test_control.py cover per trade,
reject breaker, daily loss, auth failure, kill switch.)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import _runtime_kit as kit
import pytest
from _runtime_kit import (
    account_orders,
    check_ledger_matches_exchange,
    live_world,
    settings_for,
    step,
)

from daemon.ledger.db import Database, DatabaseError
from daemon.trading import state as st
from daemon.trading.config import TradingConfig


def _with_trading(folder: Path, **policy: object):
    return settings_for(folder).model_copy(update={"trading": TradingConfig(**policy)})


def _events(db: Database, kind: str, limit: str) -> list[dict[str, Any]]:
    rows = db.query("SELECT occurred_at, intent_key, city_code, message, detail FROM ops.risk_events"
                    " WHERE kind = ? ORDER BY id", [kind])
    return [r for r in rows if r["detail"].get("limit") == limit]


def _run_until(world: Any, db: Database, kind: str, limit: str, cycles: int) -> list[dict[str, Any]]:
    world.daemon.start()
    for _ in range(cycles):
        step(world, 60)
        if _events(db, kind, limit):
            break
    return _events(db, kind, limit)


def _assert_breaching_orders_never_sent(db: Database, world: Any, breaches: list[dict[str, Any]]) -> None:
    """For each breach: the order created for that intent in that cycle (if any) reached the exchange with at
    most the count the limit allowed — never the requested, breaching count."""
    sim = {o.client_order_id: o for o in account_orders(world.exchange)}
    for event in breaches:
        d = event["detail"]
        assert Decimal(d["actual"]) > Decimal(d["allowed"]), d            # it names a real excess
        requested, max_count = Decimal(d["requested"]), Decimal(d["max_count"])
        assert max_count < requested
        created = db.query("SELECT client_order_id FROM ops.orders WHERE intent_key = ? AND created_at = ?",
                           [event["intent_key"], event["occurred_at"]])
        for row in created:
            order = sim.get(row["client_order_id"])
            assert order is None or order.initial_count <= max_count, (d, order)
        if max_count == 0:
            assert not created                                            # refused outright: nothing committed
    check_ledger_matches_exchange_for(db, world)


def check_ledger_matches_exchange_for(db: Database, world: Any) -> None:
    """The kit's ledger ⇔ exchange check, after the periodic reconciliation has read this cycle's fills."""
    assert world.daemon.oms.reconcile().complete
    check_ledger_matches_exchange(db, world.exchange)


def _exposure_within(world: Any, what: str, cap: Decimal) -> None:
    report = world.daemon.risk.exposure_report()
    values = {"event": report.by_event, "city": report.by_city, "cluster": report.by_cluster,
              "open": {"all": report.open_risk}}[what]
    assert values and max(values.values()) <= cap, (what, values, cap)


# -- exposure caps ------------------------------------------------------------------------------------
def test_per_event_cap_treats_all_brackets_of_a_city_day_as_one_bet(db: Database, tmp_path: Path) -> None:
    settings = _with_trading(tmp_path, max_per_event_pct=Decimal("0.004"))     # $20 per city-day
    with live_world(db, tmp_path, settings=settings) as world:
        breaches = _run_until(world, db, "cap_breach", "per_event", 4)
        assert breaches, "per-event cap never fired"
        d = breaches[0]["detail"]
        assert Decimal(d["allowed"]) == Decimal("20.00") and "/" in d["scope"]   # scope = CITY/day
        _assert_breaching_orders_never_sent(db, world, breaches)
        _exposure_within(world, "event", Decimal("20.00"))
        assert st.latest(db).state == "ACTIVE"                                   # a cap clips; it does not halt


def test_per_event_cap_holds_when_a_hedging_ladder_is_only_partly_filled(duckdb_db: Database, tmp_path: Path) -> None:
    """Looser edge gates make the daemon buy NO on five brackets of MIA's next day in one cycle. Each order passes
    because the still-resting legs hedge it; the cycle after, three legs are cancelled part-filled while T80 fills:
    MIA/2026-01-06 holds $32.78 of worst-case loss against a $20 cap (seen with seed 7)."""
    settings = _with_trading(tmp_path, max_per_event_pct=Decimal("0.004"), min_edge=Decimal("0.01"),
                             max_spread=Decimal("0.10"), min_depth=Decimal(0))
    with live_world(duckdb_db, tmp_path, settings=settings) as world:
        world.daemon.start()
        for _ in range(2):
            step(world, 60)
        assert world.daemon.oms.reconcile().complete
        _exposure_within(world, "event", Decimal("20.00"))


def test_per_city_cap(db: Database, tmp_path: Path) -> None:
    settings = _with_trading(tmp_path, max_per_trade_pct=Decimal("0.003"), max_per_city_pct=Decimal("0.004"))
    with live_world(db, tmp_path, settings=settings) as world:
        breaches = _run_until(world, db, "cap_breach", "per_city", 4)
        assert breaches, "per-city cap never fired"
        d = breaches[0]["detail"]
        assert Decimal(d["allowed"]) == Decimal("20.00") and d["scope"] in kit.CITIES
        _assert_breaching_orders_never_sent(db, world, breaches)
        _exposure_within(world, "city", Decimal("20.00"))


def test_per_cluster_cap_sums_cities_of_one_cluster(db: Database, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kit, "CITIES", ("NYC", "PHL", "CHI"))   # NYC and PHL share the NE cluster
    settings = _with_trading(tmp_path, max_per_trade_pct=Decimal("0.003"), max_per_city_pct=Decimal("0.004"),
                             max_per_cluster_pct=Decimal("0.005"))              # $20 per city, $25 per cluster
    with live_world(db, tmp_path, settings=settings) as world:
        breaches = _run_until(world, db, "cap_breach", "per_cluster", 6)
        assert breaches, "per-cluster cap never fired"
        assert {b["detail"]["scope"] for b in breaches} == {"NE"}             # CHI is alone in its cluster
        assert all(Decimal(b["detail"]["allowed"]) == Decimal("25.00") for b in breaches)
        assert {b["city_code"] for b in breaches} <= {"NYC", "PHL"}
        _assert_breaching_orders_never_sent(db, world, breaches)
        _exposure_within(world, "cluster", Decimal("25.00"))
        traded = {r["city_code"] for r in db.query(
            "SELECT DISTINCT city_code FROM ops.orders WHERE exchange_order_id IS NOT NULL")}
        assert {"NYC", "PHL"} <= traded                                          # the cap spans both cities


def test_open_risk_cap(db: Database, tmp_path: Path) -> None:
    settings = _with_trading(tmp_path, max_per_trade_pct=Decimal("0.003"), max_per_city_pct=Decimal("0.004"),
                             max_per_cluster_pct=Decimal("0.004"), max_open_risk_pct=Decimal("0.005"))
    with live_world(db, tmp_path, settings=settings) as world:
        breaches = _run_until(world, db, "cap_breach", "open_risk", 5)
        assert breaches, "open-risk cap never fired"
        assert all(Decimal(b["detail"]["allowed"]) == Decimal("25.00") for b in breaches)
        _assert_breaching_orders_never_sent(db, world, breaches)
        _exposure_within(world, "open", Decimal("25.00"))


def test_max_contracts_clips_the_order_the_exchange_sees(db: Database, tmp_path: Path) -> None:
    """Sizing already clips to max_contracts, so the risk engine's limit is the backstop: here the engine is
    configured tighter (3) than the sizing policy (95) and must clip what the daemon would send."""
    from daemon.runtime.daemon import Daemon
    from daemon.trading.risk import RiskEngine

    with live_world(db, tmp_path) as world:
        tight = world.daemon.policy.model_copy(update={"max_contracts": Decimal(3)})
        holder: dict[str, Any] = {}
        engine = RiskEngine(db, world.clock, tight, world.daemon.registry, lambda: holder["d"]._bankroll)
        world.daemon = holder["d"] = Daemon(world.daemon.settings, db, world.clock, world.client,
                                            world.feed, world.daemon.registry, risk=engine)
        breaches = _run_until(world, db, "cap_breach", "max_contracts", 4)
        assert breaches, "max contracts never fired"
        assert all(Decimal(b["detail"]["allowed"]) == 3 and Decimal(b["detail"]["actual"]) > 3 for b in breaches)
        _assert_breaching_orders_never_sent(db, world, breaches)
        sent = account_orders(world.exchange)
        assert sent and all(o.initial_count <= 3 for o in sent)
        assert any(o.initial_count == 3 for o in sent)                            # clipped, not refused


# -- loss limits --------------------------------------------------------------------------------------
def _seed_settled_loss(db: Database, at: datetime, dollars: int, day: date) -> None:
    """A market bought at 0.50 that settled NO at `at`: a realized loss of `dollars` and no open exposure."""
    ticker = f"KXHIGHNY-{day:%y%b%d}".upper() + "-B40.5"
    count = Decimal(dollars * 2)
    db.execute(
        "INSERT INTO ops.fills (exchange_fill_id, exchange_order_id, client_order_id, ticker, city_code,"
        " climate_day, side, action, count, price, is_taker, fee, filled_at, received_at)"
        " VALUES (?, ?, NULL, ?, 'NYC', ?, 'yes', 'buy', ?, 0.5000, TRUE, 0, ?, ?)",
        [f"seed-fill-{ticker}", f"seed-order-{ticker}", ticker, day, count, at - timedelta(hours=6),
         at - timedelta(hours=6)])
    db.execute(
        "INSERT INTO ops.settlements (ticker, event_ticker, city_code, climate_day, market_result, settled_value,"
        " yes_count, no_count, revenue, settled_at, received_at, payload)"
        " VALUES (?, ?, 'NYC', ?, 'no', NULL, ?, 0, 0, ?, ?, ?)",
        [ticker, ticker.rsplit("-", 1)[0], day, count, at, at, "{}"])


def test_weekly_loss_limit_halves_the_next_orders_size(db: Database, tmp_path: Path) -> None:
    wide = {k: Decimal("0.10") for k in ("max_per_trade_pct", "max_per_event_pct", "max_per_city_pct",
                                         "max_per_cluster_pct", "max_open_risk_pct")}  # no cap clips the size
    settings = _with_trading(tmp_path, **wide)
    with live_world(db, tmp_path, settings=settings) as world:
        three_days_ago = world.clock.now() - timedelta(days=3)
        _seed_settled_loss(db, three_days_ago, 700, three_days_ago.date() - timedelta(days=1))  # 14 % > 12 %, < 20 %
        world.daemon.start()
        for _ in range(4):
            step(world, 60)
            if db.scalar("SELECT COUNT(*) FROM ops.orders WHERE exchange_order_id IS NOT NULL"):
                break
        events = _events(db, "loss_limit", "weekly_loss")
        assert len(events) == 1 and not _events(db, "loss_limit", "daily_loss")
        d = events[0]["detail"]
        assert (Decimal(d["actual"]), Decimal(d["allowed"]), d["action"]) == (Decimal("700.00"), Decimal("600.00"),
                                                                             "REDUCING")
        current = st.latest(db)
        assert current.state == "REDUCING" and current.set_by == "risk:weekly_loss"
        rows = db.query("SELECT o.client_order_id, o.count, d.size, d.features FROM ops.orders o"
                        " JOIN ops.intents i ON i.client_order_id = o.client_order_id"
                        " JOIN ops.decisions d ON d.id = i.decision_id WHERE o.exchange_order_id IS NOT NULL")
        assert rows, "no order after the weekly limit"
        sim = {o.client_order_id: o for o in account_orders(world.exchange)}
        for row in rows:
            full = Decimal(row["features"]["kelly_count"])
            half = (full * Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR)
            assert row["features"]["size_multiplier"] == "0.5"
            assert Decimal(row["size"]) == half and Decimal(row["count"]) == half
            assert sim[row["client_order_id"]].initial_count == half              # what the exchange saw
        assert any(Decimal(r["features"]["kelly_count"]) >= 2 for r in rows)      # halving is visible


def test_monthly_loss_limit_stops_new_positions(db: Database, tmp_path: Path) -> None:
    with live_world(db, tmp_path) as world:
        ten_days_ago = world.clock.now() - timedelta(days=10)                    # outside the weekly window
        _seed_settled_loss(db, ten_days_ago, 1100, ten_days_ago.date() - timedelta(days=1))  # 22 % > 20 %
        world.daemon.start()
        step(world, 60)
        events = _events(db, "loss_limit", "monthly_loss")
        assert len(events) == 1
        assert not _events(db, "loss_limit", "weekly_loss") and not _events(db, "loss_limit",
                                                                                  "daily_loss")
        d = events[0]["detail"]
        assert (Decimal(d["actual"]), Decimal(d["allowed"])) == (Decimal("1100.00"), Decimal("1000.00"))
        current = st.latest(db)
        assert current.state == "HALTED" and current.set_by == "risk:monthly_loss"
        assert current.until_at == world.clock.now() + timedelta(days=30)
        for _ in range(2):
            stats = step(world, 60)
            assert stats.decisions > 0 and stats.trades == 0
        assert account_orders(world.exchange) == []                              # nothing ever reached it
        assert db.scalar("SELECT COUNT(*) FROM ops.orders") == 0


# -- breakers -----------------------------------------------------------------------------------------
class _FlakyLedger:
    """Every write fails from the first intent commit until `up()`: the database went away mid-cycle."""

    def __init__(self, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.down = False
        self.failed = 0
        real = db._run

        def run(sql: str, params: Any) -> Any:
            if "INSERT INTO ops.intents" in sql:
                self.down = True
            if self.down and sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
                self.failed += 1
                raise DatabaseError(f"injected write failure: {sql.strip()[:40]}")
            return real(sql, params)

        monkeypatch.setattr(db, "_run", run)

    def up(self) -> None:
        self.down = False


def test_database_write_failure_halts_and_records_the_breaker_once_back(db: Database, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with live_world(db, tmp_path) as world:
        world.daemon.start()
        flaky = _FlakyLedger(db, monkeypatch)
        for _ in range(4):
            step(world, 60)
            if flaky.down:
                break
        assert flaky.down and flaky.failed >= 1, "no order was ever attempted"
        assert account_orders(world.exchange) == []                              # the failed intent was never sent
        assert world.daemon.risk.current_state() == "HALTED"                     # held in memory while down
        flaky.up()
        stats = step(world, 60)
        assert stats.trades == 0 or stats.submits.get("placed", 0) == 0
        current = st.latest(db)
        assert current.state == "HALTED" and current.set_by == "risk:db_failure"
        breakers = _events(db, "breaker", "db_failure")
        assert len(breakers) == 1
        assert "injected write failure" in breakers[0]["detail"]["actual"]
        assert breakers[0]["detail"]["allowed"] == "no write failures"
        step(world, 60)
        assert account_orders(world.exchange) == []                              # stays halted until resume
        assert db.scalar("SELECT COUNT(*) FROM ops.orders") == 0


def test_stale_weather_blocks_the_city_with_a_named_limit(db: Database, tmp_path: Path) -> None:
    with live_world(db, tmp_path) as world:
        world.daemon.start()
        world.feed.blackout.add("NYC")                                           # no snapshot from the start
        for _ in range(3):
            step(world, 60)
        events = [e for e in _events(db, "stale_data", "stale_data") if e["city_code"] == "NYC"]
        assert len(events) == 1                                                  # one event, not one per cycle
        assert events[0]["detail"]["allowed"] == "fresh" and "weather" in events[0]["detail"]["actual"]
        nyc = [o for o in account_orders(world.exchange) if o.ticker.startswith("KXHIGHNY-")]
        assert nyc == []
        assert any(not o.ticker.startswith("KXHIGHNY-") for o in account_orders(world.exchange))  # others trade
        assert st.latest(db).state == "ACTIVE"                            # a city block, not a halt

