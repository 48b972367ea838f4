"""A loss limit that cannot be evaluated stops orders through the real daemon against the simulator.

The policy is built without validation, as `daily_pause_hours = 1e300` was accepted before the config bounds: the
slow cycle's loss-limit evaluation raises, and the fast cycle right after it must send nothing.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from _runtime_kit import account_orders, live_world, settings_for, step

from daemon.ledger.db import Database
from daemon.trading.config import TradingConfig


def test_unevaluable_loss_limit_sends_no_order_and_says_why(duckdb_db: Database, tmp_path: Path) -> None:
    from test_risk_e2e import _seed_flat_loss

    broken = TradingConfig.model_construct(**{**dict(TradingConfig()), "daily_pause_hours": 1e300})
    settings = settings_for(tmp_path).model_copy(update={"trading": broken})
    with live_world(duckdb_db, tmp_path, settings=settings) as world:
        _seed_flat_loss(duckdb_db, world.clock.now(), 400)        # > the $250 daily limit
        world.daemon.start()
        stats = step(world, 60)                                   # slow cycle (fails), then fast cycle
        assert stats.decisions > 0                                # it decided ...
        assert account_orders(world.exchange) == []               # ... and the exchange saw no order
        assert duckdb_db.scalar("SELECT COUNT(*) FROM ops.orders WHERE exchange_order_id IS NOT NULL") == 0
        errors = duckdb_db.query("SELECT message, detail FROM ops.risk_events WHERE kind = 'limit_error'")
        assert any(e["detail"]["limit"] == "loss_limits" and "OverflowError" in e["message"] for e in errors)
        step(world, 60)
        assert account_orders(world.exchange) == []               # and it stays closed
        assert Decimal(world.daemon._bankroll) > 0                 # not a bankroll problem: the limit itself
