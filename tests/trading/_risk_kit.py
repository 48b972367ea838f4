"""Ledger builders for the risk tests: fills, open orders and settlements written straight into ops.*."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal

from daemon.clock import Clock
from daemon.economics.fees import taker_fee
from daemon.ledger.db import Database
from daemon.trading.intents import Intent, client_order_id_for, make_intent_key
from daemon.trading.order_store import FillRecord, OrderStore

D = Decimal
DAY = date(2026, 1, 15)
SERIES = {"NYC": "KXHIGHNY", "CHI": "KXHIGHCHI", "LAX": "KXHIGHLAX", "MIA": "KXHIGHMIA", "AUS": "KXHIGHAUS",
          "DEN": "KXHIGHDEN", "PHL": "KXHIGHPHIL", "BOS": "KXHIGHTBOS", "SEA": "KXHIGHTSEA", "SFO": "KXHIGHTSFO"}
_ids = itertools.count(1)


def ticker(city: str, bracket: str = "B40.5", day: date = DAY) -> str:
    return f"{SERIES[city]}-{day.strftime('%y%b%d').upper()}-{bracket}"


def add_fill(db: Database, clock: Clock, city: str, *, bracket: str = "B40.5", day: date = DAY, side: str = "yes",
             action: str = "buy", count: str = "40", price: str = "0.45", at: datetime | None = None) -> str:
    n = next(_ids)
    t = ticker(city, bracket, day)
    OrderStore(db, clock).insert_fill(FillRecord(
        f"fill-{n}", f"ex-{n}", None, t, city, day, side, action, D(count), D(price), True,
        taker_fee(D(count), D(price)), at or clock.now()))
    return t


def add_open_order(db: Database, clock: Clock, city: str, *, bracket: str = "B40.5", day: date = DAY,
                   side: str = "yes", count: str = "40", price: str = "0.45", purpose: str = "open") -> Intent:
    t = ticker(city, bracket, day)
    key = make_intent_key(t, side, "buy", day, f"{purpose}{next(_ids)}")
    intent = Intent(key, t, city, day, side, "buy", D(count), D(price))  # type: ignore[arg-type]
    OrderStore(db, clock).create_intent_order(intent, client_order_id_for(key, 1), intent.count)
    return intent


def add_settlement(db: Database, clock: Clock, t: str, city: str, *, result: str, revenue: str,
                   at: datetime, day: date = DAY) -> None:
    OrderStore(db, clock).insert_settlement({
        "ticker": t, "event_ticker": t.rsplit("-", 1)[0], "city_code": city, "climate_day": day,
        "market_result": result, "yes_count": D(0), "no_count": D(0), "revenue": D(revenue), "settled_at": at,
        "payload": {}})


def risk_events(db: Database, kind: str | None = None) -> list[dict]:
    rows = db.query("SELECT * FROM ops.risk_events ORDER BY id")
    return [r for r in rows if kind is None or r["kind"] == kind]
