"""One registry, built from the settings, reaches the model: a city that exists only in `[cities] extra_file`
decides beside the shipped ones. One event failing skips that event, recorded; the other cities still decide."""

from __future__ import annotations

import sys
from pathlib import Path

from daemon.config import CitiesConfig
from daemon.ledger.db import Database, Json
from daemon.runtime import parts
from daemon.runtime.replay import replay_decision
from daemon.simulation.demo import registry_for

sys.path.insert(0, str(Path(__file__).parent))
from _runtime_kit import live_world, settings_for, step

PHOENIX = """
[[city]]
code = "PHX"
name = "Phoenix"
series = ["KXHIGHTPHX"]
station_name = "Phoenix Sky Harbor"
icao = "KPHX"
cli_code = "CLIPHX"
nws_office = "PSR"
ghcnd_id = "USW00023183"
lat = 33.4342
lon = -112.0117
tz = "America/Phoenix"
lst_offset_hours = -7
cluster = "West"
"""


def _priced_cities(db: Database) -> set[str]:
    return {r["city_code"] for r in db.query("SELECT city_code FROM ops.decisions WHERE p_yes IS NOT NULL")}


def test_a_city_only_in_the_extra_file_decides_beside_the_shipped_ones(db: Database, tmp_path: Path) -> None:
    extra = tmp_path / "extra-cities.toml"
    extra.write_text(PHOENIX)
    settings = settings_for(tmp_path).model_copy(
        update={"cities": CitiesConfig(extra_file=extra, enabled=("NYC", "CHI", "PHX"))})
    registry = registry_for(settings)
    with live_world(db, tmp_path, settings=settings, registry=registry) as world:
        world.daemon.start()
        step(world)
        stats = step(world)
    assert stats.errors == []
    assert _priced_cities(db) == {"NYC", "CHI", "PHX"}
    phx = db.query("SELECT id, features FROM ops.decisions WHERE city_code = 'PHX' AND p_yes IS NOT NULL"
                   " ORDER BY id DESC LIMIT 1")[0]
    assert phx["features"]["lst_offset_hours"] == -7
    assert replay_decision(db, int(phx["id"])).identical
    # A decision recorded before the offset was: replay finds it in the registry its config version names.
    older = {k: v for k, v in phx["features"].items() if k != "lst_offset_hours"}
    db.execute("UPDATE ops.decisions SET features = ? WHERE id = ?", (Json(older), phx["id"]))
    assert replay_decision(db, int(phx["id"])).identical


def test_one_event_whose_pricing_raises_leaves_the_other_cities_deciding(db: Database, tmp_path: Path,
                                                                       monkeypatch) -> None:
    real = parts.model_api.price_event

    def failing_for_chicago(inputs, params):  # fault injection at the runtime's seam; others run the model
        if inputs.city_code == "CHI":
            raise RuntimeError("pricing exploded")
        return real(inputs, params)

    monkeypatch.setattr(parts.model_api, "price_event", failing_for_chicago)
    with live_world(db, tmp_path) as world:
        world.daemon.start()
        step(world)
        stats = step(world)
    assert stats.errors and all("KXHIGHCHI" in e and "pricing exploded" in e for e in stats.errors)
    assert _priced_cities(db) == {"NYC", "MIA"}
    chicago = db.query("SELECT outcome, reason_codes, intent_key FROM ops.decisions WHERE city_code = 'CHI'")
    assert chicago and all(r["outcome"] == "skip" and r["intent_key"] is None for r in chicago)
    assert all(r["reason_codes"][0].startswith("decision_error: RuntimeError") for r in chicago)
    assert not db.query("SELECT 1 FROM ops.orders WHERE city_code = 'CHI'")
