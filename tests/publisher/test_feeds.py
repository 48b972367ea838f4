"""Feeds: every JSON file validates against the JSON Schema published beside it, the committed schemas match
the models, and the numbers are right for a hand-made ledger."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from publisher_ledger_kit import source_for

from publisher.build import build_site, schema_documents

SCHEMAS = Path(__file__).resolve().parents[2] / "publisher" / "schemas"
FEED_SCHEMA = {"hero.json": "hero", "cities.json": "cities", "trades/recent.json": "trades_recent",
               "performance/equity.json": "equity",
               "performance/strategies.json": "strategies", "calibration.json": "calibration", "health.json": "health"}


def test_committed_schemas_match_the_models():
    generated = schema_documents()
    committed = {p.name.removesuffix(".schema.json"): json.loads(p.read_text()) for p in SCHEMAS.glob("*.json")}
    assert committed == generated, "regenerate publisher/schemas/ (see publisher.build.schema_documents)"


def test_every_feed_validates_against_its_published_schema(db, db_url, seeded, publish_at, config, tmp_path):
    build_site(source_for(db, db_url), config, publish_at, tmp_path / "site")
    api = tmp_path / "site" / "api" / "v1"
    for feed, name in FEED_SCHEMA.items():
        schema = json.loads((api / "schemas" / f"{name}.schema.json").read_text())
        jsonschema.validate(json.loads((api / feed).read_text()), schema)
    month_schema = json.loads((api / "schemas" / "trades_month.schema.json").read_text())
    months = sorted((api / "trades").glob("20*.json"))
    assert months
    for month in months:
        jsonschema.validate(json.loads(month.read_text()), month_schema)
    with pytest.raises(jsonschema.ValidationError):
        bad = json.loads((api / "hero.json").read_text()) | {"total_pnl": 12.5}   # money is never a float
        jsonschema.validate(bad, json.loads((api / "schemas/hero.schema.json").read_text()))


def _feed(root: Path, name: str) -> dict:
    return json.loads((root / "api" / "v1" / name).read_text())


def test_numbers_for_a_hand_made_ledger(db, db_url, kit, publish_at, config, tmp_path):
    cutoff = publish_at - timedelta(minutes=60)
    day = cutoff.date() - timedelta(days=1)
    t0 = cutoff - timedelta(days=1, hours=2)
    kit.run(t0 - timedelta(days=1), mode="demo")
    kit.state(t0 - timedelta(days=1), "ACTIVE")
    # NYC: buy 10 YES @ 0.45 (fee 0.02) then sell 4 YES @ 0.60 (fee 0.01); settles YES
    #   pnl = (10 − 4.50 − 0.02) + (2.40 − 4 − 0.01) = 5.48 − 1.61 = 3.87 → a win
    nyc = kit.trade(t0, "NYC", day, 45, side="yes", price="0.45", fee="0.02", count="10", p_yes=0.62)
    kit.trade(t0 + timedelta(minutes=30), "NYC", day, 45, side="yes", action="sell", price="0.60", fee="0.01",
              count="4", p_yes=0.55)
    kit.settle(nyc, "yes", t0 + timedelta(hours=10))
    # CHI: buy 5 NO @ 0.3125 (sub-cent), fee 0.0100; settles YES → pnl = −1.5625 − 0.01 = −1.5725 → a loss
    chi = kit.trade(t0, "CHI", day, 30, side="no", price="0.3125", fee="0.0100", count="5", p_yes=0.2)
    kit.settle(chi, "yes", t0 + timedelta(hours=11))
    # MIA: void → −fee, not counted in the win rate
    mia = kit.trade(t0, "MIA", day, 80, price="0.50", fee="0.03", count="2")
    kit.settle(mia, "void", t0 + timedelta(hours=11))
    # DEN: open today (UTC day of the cut-off), 3 NO held → one active position
    kit.trade(cutoff - timedelta(minutes=30), "DEN", cutoff.date(), 60, side="no", count="3", price="0.20")
    kit.weather("NYC", cutoff.date(), cutoff - timedelta(minutes=10), observed=41.0, forecast=44.0)
    kit.weather("SEA", cutoff.date(), cutoff - timedelta(hours=5), observed=50.0, forecast=52.0)
    tmp_path = tmp_path / "site"
    build_site(source_for(db, db_url), config, publish_at, tmp_path)

    hero = _feed(tmp_path, "hero.json")
    assert hero["total_pnl"] == "2.2675"             # 3.87 − 1.5725 − 0.03
    assert hero["win_rate"] == 0.5 and hero["settled_markets"] == 2
    assert hero["trades_today"] == 1 and hero["active_positions"] == 1 and hero["total_trades"] == 5
    assert hero["mode"] == "demo" and hero["trading_state"] == "ACTIVE"
    cities = {c["code"]: c for c in _feed(tmp_path, "cities.json")["cities"]}
    assert len(cities) == 10
    assert cities["NYC"]["total_pnl"] == "3.8700" and cities["NYC"]["win_rate"] == 1.0
    assert cities["NYC"]["observed_high_f"] == 41.0 and cities["NYC"]["data_age_seconds"] == 600
    assert cities["CHI"]["total_pnl"] == "-1.5725" and cities["DEN"]["status"] == "ACTIVE"
    assert cities["SEA"]["status"] == "STALE" and cities["LAX"]["status"] == "NO_DATA"
    recent = _feed(tmp_path, "trades/recent.json")["trades"]
    assert [t["seq"] for t in recent] == [5, 4, 3, 2, 1]
    chi_trade = next(t for t in recent if t["city"] == "CHI")
    assert chi_trade["price"] == "0.3125" and chi_trade["pnl"] == "-1.5725" and chi_trade["status"] == "lost"
    assert chi_trade["model_probability"] == 0.8         # NO side: 1 − p_yes
    equity = _feed(tmp_path, "performance/equity.json")
    assert equity["total_pnl"] == "2.2675" and equity["points"][-1]["cumulative_pnl"] == "2.2675"
    calibration = _feed(tmp_path, "calibration.json")
    assert calibration["settled_trades"] == 2            # buys with a model probability, settled yes/no
    assert sum(b["trades"] for b in calibration["bins"]) == 2


def test_public_city_list_matches_the_daemon_registry(registry):
    from publisher.cities import CITIES

    assert [code for code, _ in CITIES] == [c.code for c in registry]
    assert dict(CITIES) == {c.code: c.name for c in registry}


def test_the_delay_cannot_be_configured_below_sixty_minutes():
    from pydantic import ValidationError

    from publisher.config import PublisherConfig

    assert PublisherConfig(delay_minutes=90).delay_minutes == 90
    with pytest.raises(ValidationError, match="at least 60"):
        PublisherConfig(delay_minutes=59)


def test_naive_publish_times_are_refused(duckdb_db, tmp_path):
    from datetime import datetime

    from publisher.config import PublisherConfig

    with pytest.raises(ValueError, match="naive"):
        build_site(duckdb_db, PublisherConfig(), datetime(2026, 1, 15, 12), tmp_path / "site")
