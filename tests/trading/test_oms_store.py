"""The OMS ledger on both engines: atomic intent+order, one event per transition, idempotent fills."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from daemon.clock import SimulatedClock
from daemon.ledger.db import Database
from daemon.trading.intents import Intent, client_order_id_for
from daemon.trading.order_state import IllegalTransition
from daemon.trading.order_store import FillRecord, OrderStore

TICKER = "KXHIGHNY-26JAN15-B40.5"
_T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _intent(version: int = 1) -> Intent:
    return Intent(intent_key=f"{TICKER}:yes:buy:2026-01-15:entry", ticker=TICKER, city_code="NY",
                  climate_day=date(2026, 1, 15), side="yes", action="buy", count=Decimal(5),
                  limit_price=Decimal("0.41"), version=version)


def _fill(fill_id: str, count: str = "2", side: str = "yes", action: str = "buy") -> FillRecord:
    return FillRecord(exchange_fill_id=fill_id, exchange_order_id="ex-1", client_order_id=None, ticker=TICKER,
                      city_code="NY", climate_day=date(2026, 1, 15), side=side, action=action,
                      count=Decimal(count), price=Decimal("0.41"), is_taker=True, fee=Decimal("0.04"),
                      filled_at=_T0)



def test_intent_and_order_commit_together_with_first_event(db: Database, clock: SimulatedClock) -> None:
    store = OrderStore(db, clock)
    intent = _intent()
    coid = client_order_id_for(intent.intent_key, 1)
    store.create_intent_order(intent, coid, intent.count)
    row = store.order(coid)
    assert row["state"] == "new" and row["remaining_count"] == Decimal(5)
    assert store.latest_intent(intent.intent_key)["state"] == "pending"
    # a second commit of the same version is refused and leaves nothing half-written
    with pytest.raises(Exception):
        store.create_intent_order(intent, coid, intent.count)
    assert len(db.query("SELECT * FROM ops.orders")) == 1
    assert [e["to_state"] for e in store.events(coid)] == ["new"]


def test_every_transition_is_an_event_and_illegal_ones_are_refused(db: Database, clock: SimulatedClock) -> None:
    store = OrderStore(db, clock)
    intent = _intent()
    coid = client_order_id_for(intent.intent_key, 1)
    store.create_intent_order(intent, coid, intent.count)
    store.transition(coid, "submitted", "send", sent_at=clock.now())
    clock.advance(timedelta(seconds=1))
    store.transition(coid, "resting", "response", exchange_order_id="ex-1", remaining_count=Decimal(5))
    store.transition(coid, "partial", "fill", filled_count=Decimal(2), remaining_count=Decimal(3))
    store.transition(coid, "partial", "fill", filled_count=Decimal(2), remaining_count=Decimal(3))  # no-op
    with pytest.raises(IllegalTransition):
        store.transition(coid, "new", "bogus")
    store.transition(coid, "filled", "fill", filled_count=Decimal(5), remaining_count=Decimal(0))
    events = store.events(coid)
    assert [(e["from_state"], e["to_state"]) for e in events] == [
        (None, "new"), ("new", "submitted"), ("submitted", "resting"), ("resting", "partial"), ("partial", "filled")]
    assert events[2]["detail"]["exchange_order_id"] == "ex-1"
    assert store.latest_intent(intent.intent_key)["state"] == "done"
    assert store.order_by_exchange_id("ex-1")["client_order_id"] == coid


def test_fills_are_stored_once_and_imply_positions(db: Database, clock: SimulatedClock) -> None:
    store = OrderStore(db, clock)
    assert store.insert_fill(_fill("f1")) is True
    assert store.insert_fill(_fill("f1")) is False
    assert store.insert_fill(_fill("f2", "1", side="no", action="buy")) is True
    assert store.fill_count() == 2
    assert store.fill_positions() == {TICKER: Decimal(1)}
    assert store.last_fill_time() == _T0
    store.insert_settlement(dict(ticker=TICKER, event_ticker="KXHIGHNY-26JAN15", city_code="NY",
                                 climate_day=date(2026, 1, 15), market_result="yes", yes_count=Decimal(1),
                                 no_count=Decimal(0), revenue=Decimal(1), settled_at=_T0, payload={}))
    assert store.fill_positions() == {}
