"""CLI ingestion: real July 2026 Central Park reports served by the fake API, stored and read as-of."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _nws_kit import FakeNws

from daemon.clock import SimulatedClock
from daemon.weather.asof import AsOfWeather
from daemon.weather.cli_report import parse_cli
from daemon.weather.climate import FetchedReport, cli_snapshot, climate_location, fetch_reports
from daemon.weather.errors import WeatherParseError
from daemon.weather.nws import NwsClient
from daemon.weather.snapshots import store_snapshot

INTERMEDIATE_AT = datetime(2026, 7, 9, 20, 40, tzinfo=UTC)
FINAL_AT = datetime(2026, 7, 10, 6, 30, tzinfo=UTC)


def _texts(shared_data: Path) -> dict[str, str]:
    fixtures = shared_data / "fixtures"
    meta = json.loads((fixtures / "nws_cli_2026" / "meta.json").read_text())
    nyc_ids = {item["kind"]: item["id"] for item in meta["nyc"]}
    return {
        nyc_ids["intermediate"]: (fixtures / "nws_cli_2026" / "nyc_intermediate.txt").read_text(),
        "iem-202607100625": (fixtures / "iem_cli_2026" / "text_clinyc_202607100625.txt").read_text(),
        "chi-in-nyc-list": (fixtures / "nws_cli_2026" / "chi_final.txt").read_text(),
        "garbage": "000\nCDUS41 KOKX 100625\nCLINYC\nNOTHING HERE\n",
    }


def _serve(fake: FakeNws, texts: dict[str, str], ids: list[str], modified: datetime) -> None:
    graph = [{"id": pid, "productCode": "CLI"} for pid in ids]
    fake.serve("/products/types/CLI/locations/NYC", {"@graph": graph}, modified)
    for pid in ids:
        fake.serve(f"/products/{pid}", {"id": pid, "productText": texts[pid]}, modified)


def test_climate_location(registry) -> None:
    assert [climate_location(registry.get(c)) for c in ("NYC", "CHI", "AUS")] == ["NYC", "MDW", "AUS"]


def test_fetch_store_and_read_as_of(db, shared_data, registry) -> None:
    nyc = registry.get("NYC")
    texts = _texts(shared_data)
    intermediate_id = next(iter(texts))
    clock = SimulatedClock(INTERMEDIATE_AT)
    fake = FakeNws()
    with NwsClient(clock, "milkbot-test", transport=fake.transport()) as client:
        _serve(fake, texts, [intermediate_id], clock.now())
        first, errors = fetch_reports(client, nyc, known_ids=set())
        assert not errors and [f.report.block for f in first] == ["TODAY"]
        for f in first:
            store_snapshot(db, cli_snapshot(f, nyc))
        clock.set(FINAL_AT)
        _serve(fake, texts, ["iem-202607100625", "chi-in-nyc-list", "garbage", intermediate_id], clock.now())
        second, errors = fetch_reports(client, nyc, known_ids={intermediate_id})
        assert [f.product_id for f in second] == ["iem-202607100625"]
        assert len(errors) == 2 and "not NYC's CLINYC" in errors[0] and errors[1].startswith("garbage:")
        for f in second:
            store_snapshot(db, cli_snapshot(f, nyc))

    reader = AsOfWeather(db)
    day = date(2026, 7, 9)
    evening = reader.latest("NYC", day, INTERMEDIATE_AT + timedelta(hours=1), source="cli")
    assert evening["payload"]["final"] is False and evening["observed_max_f"] == 82.0
    assert evening["observed_until"] == datetime(2026, 7, 9, 20, 0, tzinfo=UTC)  # "VALID TODAY AS OF 0400 PM" EDT
    morning = reader.latest("NYC", day, FINAL_AT, source="cli")
    assert morning["payload"]["final"] is True and morning["observed_max_f"] == 82.0
    assert morning["observed_until"] == nyc.climate_day_bounds(day)[1]
    assert reader.latest("NYC", day, INTERMEDIATE_AT - timedelta(minutes=1), source="cli") is None


def test_wrong_station_refused(shared_data, registry) -> None:
    text = (shared_data / "fixtures" / "nws_cli_2026" / "chi_final.txt").read_text()
    fetched = FetchedReport("x", text, parse_cli(text), FINAL_AT)
    with pytest.raises(WeatherParseError, match="CLIMDW is not NYC"):
        cli_snapshot(fetched, registry.get("NYC"))
    assert cli_snapshot(fetched, registry.get("CHI")).observed_max_f == 89.0
