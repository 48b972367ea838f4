"""Strategies through the real daemon against the simulator over loopback HTTP: orders, holds, replay."""

from __future__ import annotations

from decimal import Decimal

from _runtime_kit import live_world, settings_for, step

from daemon.runtime.replay import replay_decision
from daemon.strategies.config import StrategiesConfig
from daemon.strategies.fixed_offset_maker import FixedOffsetMakerConfig


def _maker_settings(folder, *enabled: str):
    # The simulator's day-1 markets close about 11 h after START: enter 12 h before close, within 2 h of it.
    settings = settings_for(folder)
    ref = FixedOffsetMakerConfig(hours_before_close=12, entry_window_minutes=120)
    return settings.model_copy(update={"strategies": StrategiesConfig(enabled=enabled, fixed_offset_maker=ref)})


def test_fixed_offset_maker_rests_one_ask_per_market_holds_it_and_replays(db, tmp_path) -> None:
    settings = _maker_settings(tmp_path, "fixed_offset_maker")
    with live_world(db, tmp_path, settings=settings) as world:
        world.daemon.start()
        world.daemon.slow_cycle()
        world.daemon.fast_cycle()
        for _ in range(3):
            step(world, 30)
        trades = db.query("SELECT * FROM ops.decisions WHERE outcome = 'trade'")
        orders = db.query("SELECT * FROM ops.orders ORDER BY id")
        assert trades, "the maker found no market to quote"
        # One order per quoted market, never repriced: every later decision there is a hold.
        assert len({o["ticker"] for o in orders}) == len(orders)
        for o in orders:
            assert o["side"] == "no" and o["intent_key"].endswith(":fixed_offset_maker")
            decided = next(d for d in trades if d["ticker"] == o["ticker"])
            last = Decimal(decided["features"]["last_yes"])
            assert last <= Decimal("0.50")
            assert Decimal(o["limit_price"]) == (1 - (last + Decimal("0.20"))).quantize(Decimal("0.0001"))
        later = db.query("SELECT DISTINCT outcome FROM ops.decisions WHERE ticker = ? AND decided_at > ?",
                              [orders[0]["ticker"], orders[0]["created_at"]])
        assert {r["outcome"] for r in later} == {"hold"}
        for row in db.query("SELECT id FROM ops.decisions ORDER BY id"):
            result = replay_decision(db, int(row["id"]))
            assert result.identical, (row["id"], result.differences(), result.notes)


def test_two_strategies_decide_every_market_and_keep_their_orders_apart(db, tmp_path) -> None:
    settings = _maker_settings(tmp_path, "fixed_offset_maker", "model_maker")
    with live_world(db, tmp_path, settings=settings) as world:
        world.daemon.start()
        world.daemon.slow_cycle()
        stats = world.daemon.fast_cycle()
        assert not stats.errors
        per_market: dict[str, list[str]] = {}
        for r in db.query("SELECT ticker, features FROM ops.decisions"):
            per_market.setdefault(r["ticker"], []).append(r["features"]["strategy"])
        assert per_market and all(sorted(v) == ["fixed_offset_maker", "model_maker"] for v in per_market.values())
        keys = [r["intent_key"] for r in db.query("SELECT intent_key FROM ops.orders")]
        assert len(keys) == len(set(keys))
        step(world, 30)
        for row in db.query("SELECT id FROM ops.decisions ORDER BY id"):
            assert replay_decision(db, int(row["id"])).identical
