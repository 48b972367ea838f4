"""Each risk limit fires through the real daemon path against the simulator over loopback HTTP.

(The risk engine's own unit tests pin the arithmetic; here the daemon → OMS → risk → exchange wiring.)
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from _runtime_kit import live_world, settings_for, step

from daemon.ledger.db import Database
from daemon.trading import state as st
from daemon.trading.config import TradingConfig


def _with_trading(folder: Path, **policy: object):
    settings = settings_for(folder)
    return settings.model_copy(update={"trading": TradingConfig(**policy)})


def test_per_trade_cap_clips_or_refuses_orders(duckdb_db: Database, tmp_path: Path) -> None:
    settings = _with_trading(tmp_path, max_per_trade_pct=Decimal("0.001"))  # $5 of a $5,000 bankroll
    with live_world(duckdb_db, tmp_path, settings=settings) as world:
        world.daemon.start()
        for _ in range(4):
            step(world, 60)
    events = duckdb_db.query("SELECT detail FROM ops.risk_events WHERE kind = 'cap_breach'")
    assert events and any(e["detail"]["limit"] == "per_trade" for e in events)
    for order in duckdb_db.query("SELECT count, limit_price FROM ops.orders WHERE exchange_order_id IS NOT NULL"):
        assert Decimal(order["count"]) * Decimal(order["limit_price"]) <= Decimal("5.00")


def test_reject_breaker_halts_after_repeated_rejects(duckdb_db: Database, tmp_path: Path) -> None:
    settings = _with_trading(tmp_path, reject_breaker_count=2, reject_breaker_minutes=240.0,
                             min_edge=Decimal("0.01"))
    with live_world(duckdb_db, tmp_path, settings=settings, faults={"reject_rate": 1.0}) as world:
        world.daemon.start()
        for _ in range(8):
            step(world, 60)
            if st.latest(duckdb_db).state == "HALTED":
                break
        assert duckdb_db.scalar("SELECT COUNT(*) FROM ops.orders WHERE state = 'rejected'") >= 2
        current = st.latest(duckdb_db)
        assert current.state == "HALTED" and current.set_by == "risk:reject_breaker"
        breakers = duckdb_db.query("SELECT detail FROM ops.risk_events WHERE kind = 'breaker'")
        assert any(b["detail"]["limit"] == "reject_breaker" for b in breakers)
        rejected = duckdb_db.scalar("SELECT COUNT(*) FROM ops.orders")
        stats = step(world, 20)                                   # inside the 60-minute reject pause
        assert duckdb_db.scalar("SELECT COUNT(*) FROM ops.orders") == rejected   # nothing sent while HALTED
        assert stats.decisions > 0 and stats.trades == 0


def _seed_flat_loss(db: Database, when, dollars: int) -> None:
    """Yesterday's round trip that lost money: YES and NO bought on one market (flat, netted) at 0.90 each."""
    from datetime import date

    count = Decimal(dollars) / Decimal("0.80")
    for n, side in enumerate(("yes", "no")):
        db.execute(
            "INSERT INTO ops.fills (exchange_fill_id, exchange_order_id, client_order_id, ticker, city_code,"
            " climate_day, side, action, count, price, is_taker, fee, filled_at, received_at)"
            " VALUES (?, ?, NULL, 'KXHIGHNY-26JAN04-B40.5', 'NYC', ?, ?, 'buy', ?, 0.9000, TRUE, 0, ?, ?)",
            [f"seed-fill-{n}", f"seed-order-{n}", date(2026, 1, 4), side, count.quantize(Decimal("0.01")), when, when])


def test_daily_loss_limit_halts_trading(duckdb_db: Database, tmp_path: Path) -> None:
    with live_world(duckdb_db, tmp_path) as world:
        _seed_flat_loss(duckdb_db, world.clock.now(), 400)      # > 5 % of the $5,000 bankroll
        world.daemon.start()
        step(world, 60)                                          # slow cycle evaluates the loss limits
        events = duckdb_db.query("SELECT detail FROM ops.risk_events WHERE kind = 'loss_limit'")
        assert any(e["detail"]["limit"] == "daily_loss" for e in events)
        current = st.latest(duckdb_db)
        assert current.state == "HALTED" and current.set_by == "risk:daily_loss" and current.until_at is not None
        before = duckdb_db.scalar("SELECT COUNT(*) FROM ops.orders")
        stats = step(world, 60)
        assert duckdb_db.scalar("SELECT COUNT(*) FROM ops.orders") == before
        assert stats.decisions > 0 and stats.trades == 0


def test_exchange_auth_failure_halts_before_any_order(duckdb_db: Database, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    with live_world(duckdb_db, tmp_path) as world:
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        pem = stranger.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        world.exchange.register_account(world.client.key_id, pem.decode())   # our signatures stop verifying
        report = world.daemon.start()
        assert not report.complete
        stats = step(world, 60)
        assert stats.errors                                        # cycle reports why it could not trade
        assert st.latest(duckdb_db).state == "HALTED"
        assert duckdb_db.scalar("SELECT COUNT(*) FROM ops.orders") == 0
