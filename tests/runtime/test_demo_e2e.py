"""The embedded end-to-end run against the simulator over loopback HTTP: references, orders, P&L."""

from __future__ import annotations

from decimal import Decimal

import pytest
from _runtime_kit import check_ledger_matches_exchange, replayed_exchange

from daemon.ledger.db import connect
from daemon.runtime.reports import pnl_summary
from daemon.simulation.demo import DEMO_KEY_ID


@pytest.fixture
def ledger(demo_run):
    folder, _ = demo_run
    db = connect(f"duckdb:///{folder / 'milkbot.duckdb'}")
    yield db
    db.close()


def test_demo_trades_and_reports(demo_run) -> None:
    _, summary = demo_run
    assert summary.cycles == 25  # start and every 2 h to the end, inclusive
    assert summary.decisions > 0 and summary.trade_decisions > 0
    assert summary.orders > 0 and summary.fills > 0
    assert summary.settled_markets > 0
    assert not summary.errors, summary.errors
    # cash P&L = realized on settled markets − what is still at stake − fees paid on unsettled markets
    unsettled_fees = Decimal(summary.realized_pnl_after_fees) - Decimal(summary.open_cost) - Decimal(summary.pnl_after_fees)
    assert unsettled_fees >= 0


def test_every_decision_names_its_inputs(ledger) -> None:
    orphans = ledger.scalar(
        "SELECT COUNT(*) FROM ops.decisions d WHERE d.market_snapshot_id IS NULL OR d.model_params_id IS NULL"
        " OR NOT EXISTS (SELECT 1 FROM ops.market_snapshots m WHERE m.id = d.market_snapshot_id)"
        " OR NOT EXISTS (SELECT 1 FROM ops.model_params p WHERE p.id = d.model_params_id)"
        " OR NOT EXISTS (SELECT 1 FROM ops.config_versions c WHERE c.config_hash = d.config_hash)")
    assert orphans == 0
    # Trades always stand on a weather snapshot received no later than the decision.
    bad = ledger.scalar(
        "SELECT COUNT(*) FROM ops.decisions d LEFT JOIN ops.weather_snapshots w ON w.id = d.weather_snapshot_id"
        " WHERE d.outcome = 'trade' AND (w.id IS NULL OR w.received_at > d.decided_at)")
    assert bad == 0
    assert ledger.scalar("SELECT COUNT(*) FROM ops.decisions WHERE cycle_id IS NULL OR cycle_id = ''") == 0


def test_orders_come_from_decisions(ledger) -> None:
    unlinked = ledger.scalar(
        "SELECT COUNT(*) FROM ops.intents i WHERE i.decision_id IS NULL OR NOT EXISTS"
        " (SELECT 1 FROM ops.decisions d WHERE d.id = i.decision_id AND d.outcome = 'trade'"
        "  AND d.intent_key = i.intent_key)")
    assert unlinked == 0


def test_ledger_equals_exchange_and_pnl_matches_settlements(demo_run, ledger) -> None:
    folder, _ = demo_run
    exchange = replayed_exchange(folder)
    try:
        counts = check_ledger_matches_exchange(ledger, exchange)
        assert counts["orders"] > 0
        account = exchange.accounts[DEMO_KEY_ID]
        pnl = pnl_summary(ledger)
        # Cash moved on the exchange exactly as the ledger's fills, fees, netting and settlement payouts say.
        assert account.cash - account.deposits == pnl["pnl_after_fees"]
        assert pnl["fills"] == len(account.fills)
        assert pnl["revenue"] == sum((Decimal(s.revenue_cents) / 100 for s in account.settlements), Decimal(0))
    finally:
        exchange.close()
