"""DESIGN invariant 1: nothing public depends on anything younger than T − 60 min (or received after it).

Publishing at T, then adding trades, fills, decisions, positions, settlements, weather, trading-state and
risk rows stamped after the cut-off (or received after it), and publishing at T again gives the same bytes
in every file of the output tree (the results by strategy included), on both engines.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from publisher_ledger_kit import CITY_CODES, SEED_PURPOSES, add_embargoed, source_for, tree

from publisher.build import build_site


def test_output_is_byte_identical_with_embargoed_rows(db, db_url, seeded, publish_at, config, tmp_path):
    before = tmp_path / "before"
    build_site(source_for(db, db_url), config, publish_at, before)
    add_embargoed(seeded, publish_at, random.Random(7))
    after = tmp_path / "after"
    build_site(source_for(db, db_url), config, publish_at + timedelta(seconds=42), after)
    first, second = tree(before), tree(after)
    assert first.keys() == second.keys()
    assert [p for p in first if first[p] != second[p]] == []
    assert {"api/v1/performance/strategies.json", "api/v1/schemas/strategies.schema.json"} <= first.keys()
    # …and the embargoed rows are real: publishing later shows them.
    later = tmp_path / "later"
    build_site(source_for(db, db_url), config, publish_at + timedelta(hours=3), later)
    assert tree(later)["api/v1/hero.json"] != first["api/v1/hero.json"]
    assert b"HALTED" in tree(later)["api/v1/hero.json"]
    # the embargoed trades of every strategy, once public, move the results by strategy
    def by_strategy(files: dict[str, bytes]) -> dict[str | None, int]:
        feed = json.loads(files["api/v1/performance/strategies.json"])
        return {s["strategy"]: s["trades"] for s in feed["strategies"]}

    now, then = by_strategy(tree(later)), by_strategy(first)
    assert set(then) == {"taker", "fixed_offset_maker", "model_maker", None}
    assert all(now[s] > then[s] for s in then)


def test_cutoff_is_publish_time_minus_delay(db, db_url, kit, publish_at, config, tmp_path):
    cutoff = publish_at - timedelta(minutes=60)
    kit.trade(cutoff, "NYC", cutoff.date(), 40, received_at=cutoff)     # exactly at the cut-off: public
    kit.trade(cutoff + timedelta(seconds=1), "NYC", cutoff.date(), 41)  # one second late: not yet
    build_site(source_for(db, db_url), config, publish_at, tmp_path / "site")
    recent = json.loads((tmp_path / "site/api/v1/trades/recent.json").read_text())
    assert [t["ticker"][-5:] for t in recent["trades"]] == ["B40.5"]
    assert recent["delay_minutes"] == 60 and recent["as_of"] == "2026-01-15T11:00:00Z"


@st.composite
def ledgers(draw):
    trades = draw(st.lists(st.tuples(
        st.integers(-3 * 24 * 60, 90),             # minutes relative to the cut-off (positive = embargoed)
        st.sampled_from(CITY_CODES), st.sampled_from(["yes", "no"]), st.sampled_from(["buy", "sell"]),
        st.integers(1, 50), st.integers(1, 99), st.booleans(),
        st.integers(0, 120),                       # receive delay, minutes
        st.one_of(st.none(), st.sampled_from(["yes", "no", "void"])), st.integers(-120, 3000),
        st.sampled_from(SEED_PURPOSES),            # the strategy (None: not recorded)
    ), max_size=12))
    return trades


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trades=ledgers())
def test_property_random_ledgers(db, db_url, config, publish_at, tmp_path_factory, trades):
    from publisher_ledger_kit import LedgerKit

    for table in ("settlements", "fills", "order_events", "orders", "intents", "decisions", "positions",
                  "weather_snapshots", "market_snapshots", "trading_state", "risk_events", "runs"):
        db.execute(f"DELETE FROM ops.{table}")
    kit = LedgerKit(db, secret="prop")
    cutoff = publish_at - timedelta(minutes=60)
    late = []
    for i, (minutes, city, side, action, count, cents, taker, receive, result, settle_after, purpose) in enumerate(
            trades):
        at = cutoff + timedelta(minutes=minutes)
        ticker = kit.trade(at, city, at.date(), 30 + i, side=side, action=action, count=str(count),
                           price=f"{cents / 100:.2f}", is_taker=taker, received_at=at + timedelta(minutes=receive),
                           purpose=purpose)
        if result is not None and ticker not in kit.settled:
            settle_at = at + timedelta(minutes=settle_after)
            (late if settle_at > cutoff else []).append(ticker)
            kit.settle(ticker, result, settle_at)
    root = tmp_path_factory.mktemp("prop")
    build_site(source_for(db, db_url), config, publish_at, root / "a")
    # remove every row the cut-off hides; the output must not change
    db.execute("DELETE FROM ops.settlements WHERE settled_at > ? OR received_at > ?", [cutoff, cutoff])
    db.execute("DELETE FROM ops.fills WHERE filled_at > ? OR received_at > ?", [cutoff, cutoff])
    build_site(source_for(db, db_url), config, publish_at, root / "b")
    assert tree(root / "a") == tree(root / "b")
