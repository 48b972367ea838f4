"""Reconciliation adopts exchange truth, records every discrepancy, and HALTs on unexplained ones."""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.exchange.orders import OrderRequest
from daemon.ledger.db import Database
from daemon.trading.oms import OrderManager

sys.path.insert(0, str(Path(__file__).parent))
from _oms_kit import active_tickers, check_invariants, crossing_intent, resting_intent


def _oms(db: Database, client, clock: SimulatedClock) -> OrderManager:
    return OrderManager(db, client, clock, registry=default_registry())


def _state(db: Database) -> str | None:
    row = db.query_one("SELECT state FROM ops.trading_state ORDER BY id DESC LIMIT 1")
    return row["state"] if row else None


def _kinds(db: Database) -> set[str]:
    return {r["detail"]["discrepancy"] for r in db.query("SELECT detail FROM ops.risk_events WHERE kind = 'reconcile'")}


def test_orphan_exchange_order_is_adopted_and_halts(db: Database, sim, client, clock: SimulatedClock) -> None:
    ticker = active_tickers(sim, clock)[0]
    outcome = client.create_order(OrderRequest(ticker=ticker, side="yes", action="buy", count=Decimal(1),
                                               price=Decimal("0.02"), client_order_id="manual-order-1"))
    assert outcome.status == "accepted"
    report = _oms(db, client, clock).reconcile()
    assert report.complete and not report.ok and report.halted
    assert report.orphans_adopted == 1 and "orphan_order" in _kinds(db)
    assert _state(db) == "HALTED"
    adopted = db.query_one("SELECT * FROM ops.orders WHERE client_order_id = 'manual-order-1'")
    assert adopted["state"] == "resting" and adopted["intent_key"].startswith("orphan:")
    check_invariants(db, client)


def test_position_the_fills_do_not_explain_halts(db: Database, sim, client, clock: SimulatedClock) -> None:
    tickers = active_tickers(sim, clock)
    oms = _oms(db, client, clock)
    assert oms.reconcile().ok
    oms.submit(crossing_intent(tickers[0], 1))
    assert oms.reconcile().ok
    db.execute("DELETE FROM ops.fills")  # the ledger lost its fills; the window re-reads them → explained
    assert oms.reconcile().ok
    db.execute("INSERT INTO ops.fills (exchange_fill_id, exchange_order_id, ticker, city_code, climate_day, side,"
               " action, count, price, is_taker, fee, filled_at, received_at) VALUES ('ghost', 'nope', ?, 'NY',"
               " ?, 'yes', 'buy', 3, 0.5, TRUE, 0, ?, ?)",
               (tickers[1], clock.now().date(), clock.now(), clock.now()))
    report = oms.reconcile()
    assert not report.ok and report.halted
    assert "position_mismatch" in _kinds(db) and _state(db) == "HALTED"
    assert oms.submit(resting_intent(tickers[2], 9)).status == "blocked"


def test_dry_run_reports_without_writing(db: Database, sim, client, clock: SimulatedClock) -> None:
    ticker = active_tickers(sim, clock)[0]
    client.create_order(OrderRequest(ticker=ticker, side="yes", action="buy", count=Decimal(1),
                                     price=Decimal("0.02"), client_order_id="manual-order-2"))
    oms = _oms(db, client, clock)
    report = oms.reconcile(dry_run=True)
    assert report.complete and report.dry_run and report.orphans_adopted == 1 and not report.halted
    assert db.query("SELECT * FROM ops.orders") == []
    assert db.query("SELECT * FROM ops.risk_events") == []
    assert _state(db) is None and not oms.ready


def test_vanished_ledger_order_is_reported(db: Database, sim, client, clock: SimulatedClock) -> None:
    ticker = active_tickers(sim, clock)[0]
    oms = _oms(db, client, clock)
    oms.reconcile()
    placed = oms.submit(resting_intent(ticker, 1))
    db.execute("UPDATE ops.orders SET exchange_order_id = 'gone', client_order_id = 'gone-cid'"
               " WHERE client_order_id = ?", (placed.client_order_id,))
    report = oms.reconcile()
    assert "order_vanished" in _kinds(db) and report.halted
    assert db.query_one("SELECT state FROM ops.orders WHERE client_order_id = 'gone-cid'")["state"] == "canceled"


def test_settlements_ingested_once_and_positions_closed(db: Database, sim, client, clock: SimulatedClock) -> None:
    tickers = active_tickers(sim, clock)
    oms = _oms(db, client, clock)
    oms.reconcile()
    oms.submit(crossing_intent(tickers[0], 1))
    assert oms.reconcile().ok
    held = db.query("SELECT * FROM ops.positions WHERE position <> 0")
    assert held
    for _ in range(4):  # through close, determination and payout
        clock.advance(timedelta(hours=18))
        sim.exchange.step(clock.now())
    first = oms.reconcile()
    second = oms.reconcile()
    assert first.ok and first.settlements_ingested >= 1 and second.settlements_ingested == 0
    settled = {r["ticker"] for r in db.query("SELECT ticker FROM ops.settlements")}
    assert {r["ticker"] for r in held} <= settled
    assert not db.query("SELECT * FROM ops.positions WHERE position <> 0")
    check_invariants(db, client)


@pytest.mark.parametrize("pause_minutes", [60, -5])  # a pause still running, and one already expired
def test_cli_reconcile_halts_for_good_under_a_timed_pause(db: Database, sim, client, clock: SimulatedClock,
                                                          pause_minutes: int) -> None:
    """Without a risk engine (the CLI), an unexplained discrepancy writes a lasting HALT even when the latest row
    is a timed HALT that ends (or ended) on its own (review r6)."""
    from daemon.trading import state as st
    from daemon.trading.config import TradingConfig
    from daemon.trading.risk import RiskEngine

    st.write(db, clock, "HALTED", "reject breaker", "risk:reject_breaker",
             until=clock.now() + timedelta(minutes=pause_minutes))
    ticker = active_tickers(sim, clock)[0]
    client.create_order(OrderRequest(ticker=ticker, side="yes", action="buy", count=Decimal(1),
                                     price=Decimal("0.02"), client_order_id="manual-order-1"))
    report = _oms(db, client, clock).reconcile()
    assert report.halted and "orphan_order" in {d.kind for d in report.unexplained}
    latest = st.latest(db)
    assert (latest.state, latest.until_at, latest.set_by) == ("HALTED", None, "oms:reconcile")
    clock.advance(timedelta(minutes=61))
    assert RiskEngine(db, clock, TradingConfig(), default_registry()).current_state() == "HALTED"
    _oms(db, client, clock).reconcile()  # an existing lasting HALT is not written again
    assert len(st.history(db)) == 2
