"""Fills are ingested by exchange fill id, not from a timestamp watermark: a fill the exchange dates in 2099 is
refused with one risk event, and the fills after it are still ingested."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from _oms_kit import KEY_ID, active_tickers, crossing_intent

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.ledger.db import Database
from daemon.trading.oms import OrderManager


def _misdated_copy(sim, at: datetime):
    """The simulator reports one more fill of ours, dated `at` (a copy of a real one under a new id)."""
    account = sim.exchange.accounts[KEY_ID]
    bogus = dataclasses.replace(account.fills[-1], fill_id=f"bogus-{at:%Y}", created_time=at)
    account.fills.append(bogus)
    return bogus


def _ledger_fills(db: Database) -> set[str]:
    return {r["exchange_fill_id"] for r in db.query("SELECT exchange_fill_id FROM ops.fills")}


def test_far_future_fill_is_refused_and_later_fills_still_ingested(db: Database, sim, client,
                                                                   clock: SimulatedClock) -> None:
    oms = OrderManager(db, client, clock, registry=default_registry())
    assert oms.reconcile().complete
    tickers = active_tickers(sim, clock)
    oms.submit(crossing_intent(tickers[0], 1))
    assert oms.reconcile().ok
    bogus = _misdated_copy(sim, datetime(2099, 1, 1, tzinfo=UTC))
    report = oms.reconcile()
    assert report.ok, report.to_dict()  # no halt: the fill is refused, positions still agree
    assert bogus.fill_id not in _ledger_fills(db)
    events = db.query("SELECT severity, message FROM ops.risk_events WHERE message LIKE ?", [f"%{bogus.fill_id}%"])
    assert len(events) == 1 and "implausible time" in events[0]["message"]

    clock.advance(timedelta(minutes=10))
    sim.exchange.step(clock.now())
    for n, ticker in enumerate(tickers[1:4], start=2):
        oms.submit(crossing_intent(ticker, n))
    report = oms.reconcile()
    assert report.ok, report.to_dict()
    exchange_fills = {f.fill_id for f in client.iter_fills()}
    assert _ledger_fills(db) == exchange_fills - {bogus.fill_id}  # every later fill is in the ledger
    assert len(exchange_fills) > 2
    assert db.scalar("SELECT COUNT(*) FROM ops.risk_events WHERE message LIKE ?", [f"%{bogus.fill_id}%"]) == 1
    assert db.scalar("SELECT MAX(filled_at) FROM ops.fills") <= clock.now()


def test_fill_dated_before_its_market_existed_is_refused(db: Database, sim, client, clock: SimulatedClock) -> None:
    oms = OrderManager(db, client, clock, registry=default_registry())
    assert oms.reconcile().complete
    oms.submit(crossing_intent(active_tickers(sim, clock)[0], 1))
    bogus = _misdated_copy(sim, datetime(2001, 1, 1, tzinfo=UTC))
    assert oms.reconcile().ok
    assert bogus.fill_id not in _ledger_fills(db)
    assert db.scalar("SELECT COUNT(*) FROM ops.risk_events WHERE message LIKE ?", [f"%{bogus.fill_id}%"]) == 1
    assert sum(Decimal(r["count"]) for r in db.query("SELECT count FROM ops.fills")) > 0
