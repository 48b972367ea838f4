"""Test kit for the OMS tests: a real simulator on loopback, a real signed client, intent builders, invariant checks.

Not a test module (leading underscore); imported by tests/trading/test_oms*.py, test_crash*.py, test_reconcile*.py
and bench/oms_throughput.py.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from daemon.cities import default_registry
from daemon.clock import Clock
from daemon.exchange.client import KalshiClient
from daemon.exchange.signing import load_private_key
from daemon.ledger.db import Database
from daemon.trading.intents import Intent, make_intent_key
from daemon.trading.order_state import OPEN_STATES

KEY_ID = "5e0c2b7a-6d1f-4c3e-8a9b-0f1e2d3c4b5a"
BALANCE_CENTS = 10_000_000_00


def write_key(folder: Path) -> tuple[Path, str]:
    """A fresh RSA key as a 0600 PEM file, and its public PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "kalshi.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(path, 0o600)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return path, public


@dataclass
class Sim:
    exchange: Any
    server: Any
    url: str
    key_path: Path

    @property
    def faults(self) -> Any:
        return getattr(self.server, "faults", None) or self.exchange.faults

    def client(self, clock: Clock, **kwargs: Any) -> KalshiClient:
        kwargs.setdefault("timeout", 2.0)
        return KalshiClient(self.url, KEY_ID, load_private_key(self.key_path), clock, **kwargs)


@contextmanager
def running_sim(clock: Clock, folder: Path, *, seed: int = 7, balance_cents: int = BALANCE_CENTS) -> Iterator[Sim]:
    from daemon.exchange.sim import SimExchange, SimServer
    from daemon.exchange.sim.config import SimConfig
    from daemon.simulation.truth import SyntheticTruth

    key_path, public_pem = write_key(folder)
    exchange = SimExchange(default_registry(), SyntheticTruth(seed), clock, SimConfig(), store_path=None)
    exchange.register_account(KEY_ID, public_pem, balance_cents)
    exchange.step(clock.now())
    server = SimServer(exchange)
    server.start()
    try:
        yield Sim(exchange, server, server.url, key_path)
    finally:
        server.stop()


def active_tickers(sim: Sim, clock: Clock, city_codes: tuple[str, ...] | None = None) -> list[str]:
    """Tickers of markets that trade now, over the given cities (all by default)."""
    out = []
    registry = default_registry()
    for city in registry:
        if city_codes and city.code not in city_codes:
            continue
        for day in {city.climate_day(clock.now())}:
            for market in sim.exchange.list_markets_for(city.code, day):
                ticker = getattr(market, "ticker", None) or market["ticker"]
                status = getattr(market, "status", None) or market.get("status")
                if status in (None, "active", "open"):
                    out.append(ticker)
    return sorted(out)


def resting_intent(ticker: str, n: int, *, price: str = "0.02", count: str = "1", purpose: str = "entry") -> Intent:
    """A buy-YES intent priced far below the book, so it rests (no fills)."""
    city = default_registry().for_ticker(ticker)
    from daemon.trading.intents import climate_day_from_ticker

    day = climate_day_from_ticker(ticker) or date(2026, 1, 15)
    key = make_intent_key(ticker, "yes", "buy", day, f"{purpose}{n}")
    return Intent(intent_key=key, ticker=ticker, city_code=city.code if city else "UNKNOWN", climate_day=day,
                  side="yes", action="buy", count=Decimal(count), limit_price=Decimal(price))


def crossing_intent(ticker: str, n: int, *, count: str = "2") -> Intent:
    """A buy-YES intent at 0.99: takes whatever the book offers (fills)."""
    return resting_intent(ticker, n, price="0.99", count=count, purpose="take")


def intent_to_json(intent: Intent) -> dict[str, str]:
    return {"intent_key": intent.intent_key, "ticker": intent.ticker, "city_code": intent.city_code,
            "climate_day": intent.climate_day.isoformat(), "side": intent.side, "action": intent.action,
            "count": str(intent.count), "limit_price": str(intent.limit_price)}


# -- invariants ----------------------------------------------------------------------------------------
def exchange_orders(client: KalshiClient) -> list[Any]:
    return list(client.iter_orders())


def check_invariants(db: Database, client: KalshiClient) -> dict[str, int]:
    """≤1 exchange order per client id and per intent version, ≤1 open per intent, no orphans, ledger == exchange."""
    orders = exchange_orders(client)
    by_cid = Counter(o.client_order_id for o in orders)
    dupes = {cid: n for cid, n in by_cid.items() if n > 1}
    assert not dupes, f"duplicate exchange orders per client id: {dupes}"
    ledger = {r["client_order_id"]: r for r in db.query("SELECT * FROM ops.orders")}
    orphans = [o.order_id for o in orders if o.client_order_id not in ledger]
    assert not orphans, f"exchange orders unknown to the ledger: {orphans}"
    live_per_intent = Counter(o["intent_key"] for o in ledger.values() if o["state"] in OPEN_STATES)
    assert all(n <= 1 for n in live_per_intent.values()), live_per_intent
    on_exchange_per_intent: Counter[str] = Counter()
    for o in orders:
        row = ledger[o.client_order_id]
        on_exchange_per_intent[row["intent_key"]] += o.status == "resting"
        assert row["exchange_order_id"] == o.order_id
        assert Decimal(row["filled_count"]) == o.fill_count, (row, o)
        expected = {"executed": "filled", "canceled": "canceled"}.get(o.status)
        assert row["state"] == expected if expected else row["state"] in ("resting", "partial"), (row["state"], o)
    assert all(n <= 1 for n in on_exchange_per_intent.values()), on_exchange_per_intent
    for row in ledger.values():  # ledger orders that claim to be on the exchange are
        if row["state"] not in ("new", "closed", "rejected"):
            assert row["client_order_id"] in by_cid, row
    ex_pos = {p.ticker: p.position for p in client.iter_positions() if p.position != 0}
    ledger_pos = {r["ticker"]: Decimal(r["position"]) for r in db.query("SELECT * FROM ops.positions")
                  if Decimal(r["position"]) != 0}
    assert ex_pos == ledger_pos, (ex_pos, ledger_pos)
    ex_fills = {f.fill_id for f in client.iter_fills()}
    ledger_fills = {r["exchange_fill_id"] for r in db.query("SELECT exchange_fill_id FROM ops.fills")}
    assert ex_fills == ledger_fills
    return {"exchange_orders": len(orders), "ledger_orders": len(ledger), "fills": len(ex_fills)}
