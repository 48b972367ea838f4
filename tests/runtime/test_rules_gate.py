"""Settlement rules are checked when trading: an event whose rules text names another station is untradeable
(blocked decisions naming the rule failure, no order, ONE risk event per event); other events still trade.
End to end: the daemon against the simulator over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

from _runtime_kit import live_world, step

from daemon.ledger.db import Database
from daemon.runtime.replay import replay_decision


def test_an_event_naming_another_station_is_untradeable_and_flagged_once(db: Database, tmp_path: Path) -> None:
    with live_world(db, tmp_path) as world:
        with world.exchange.lock:  # Kalshi lists New York's events with another station's rules
            renamed = set()
            for market in world.exchange.markets.values():
                if market.city_code == "NYC":
                    market.rules_primary = market.rules_primary.replace("Central Park, New York",
                                                                        "LaGuardia Airport, NY")
                    renamed.add(market.event_ticker)
        assert renamed
        world.daemon.start()
        for _ in range(4):
            stats = step(world, 60)
            assert stats.errors == []
    nyc = db.query("SELECT id, event_ticker, outcome, reason_codes, intent_key FROM ops.decisions"
                   " WHERE city_code = 'NYC'")
    flagged = [r for r in nyc if r["event_ticker"] in renamed]
    assert flagged and all(r["outcome"] == "blocked" and r["intent_key"] is None for r in flagged)
    assert all(any("settlement_rules" in c and "LaGuardia" in c for c in r["reason_codes"]) for r in flagged)
    assert not db.query("SELECT 1 FROM ops.orders WHERE ticker LIKE 'KXHIGHNY-%'")
    events = db.query("SELECT ticker, city_code, detail FROM ops.risk_events WHERE kind = 'settlement_rules'")
    seen = {r["ticker"] for r in events if r["ticker"] in renamed}
    assert seen and len(events) == len(seen)      # one per event, not one per cycle
    assert all(r["city_code"] == "NYC" for r in events)
    others = db.query("SELECT DISTINCT city_code FROM ops.orders WHERE exchange_order_id IS NOT NULL")
    assert {r["city_code"] for r in others} & {"CHI", "MIA"}    # the other events still trade
    assert replay_decision(db, int(flagged[-1]["id"])).identical  # the block is part of the recorded inputs


def test_a_restart_does_not_repeat_the_risk_event(db: Database, tmp_path: Path) -> None:
    from daemon.runtime.daemon import Daemon

    with live_world(db, tmp_path) as world:
        with world.exchange.lock:
            for market in world.exchange.markets.values():
                if market.city_code == "MIA":
                    market.rules_primary = market.rules_primary.replace("Daily Climate Report",
                                                                        "Weekly Rainfall Summary")
        world.daemon.start()
        step(world, 60)
        first = db.scalar("SELECT COUNT(*) FROM ops.risk_events WHERE kind = 'settlement_rules'")
        world.daemon.stop()
        again = Daemon(world.daemon.settings, db, world.clock, world.client, world.feed, world.daemon.registry)
        again.start()
        world.daemon = again
        step(world, 60)
    assert first and db.scalar("SELECT COUNT(*) FROM ops.risk_events WHERE kind = 'settlement_rules'") == first
