from datetime import date, datetime, timezone

import pytest

from daemon.cities import CityRegistryError, load_registry

EXPECTED = {"NYC": "KNYC", "CHI": "KMDW", "LAX": "KLAX", "MIA": "KMIA", "AUS": "KAUS", "DEN": "KDEN",
            "PHL": "KPHL", "BOS": "KBOS", "SEA": "KSEA", "SFO": "KSFO"}


def test_ten_settlement_stations(registry):
    assert {c.code: c.icao for c in registry} == EXPECTED
    for city in registry:
        assert city.cli_code == "CLI" + city.icao[1:] or city.code == "NYC"


def test_lookups(registry):
    assert registry.for_ticker("KXHIGHNY-25JAN01-B40.5").code == "NYC"
    assert registry.for_ticker("HIGHNY-24JAN01-B40.5").code == "NYC"
    assert registry.by_icao("kmdw").code == "CHI"
    with pytest.raises(KeyError, match="unknown city"):
        registry.get("XXX")


def test_climate_day_is_local_standard_time_all_year(registry):
    nyc = registry.get("NYC")
    # 2026-07-15 00:30 EDT = 04:30 UTC = 23:30 EST on the 14th: still the 14th's climate day.
    assert nyc.climate_day(datetime(2026, 7, 15, 4, 30, tzinfo=timezone.utc)) == date(2026, 7, 14)
    assert nyc.climate_day(datetime(2026, 7, 15, 5, 0, tzinfo=timezone.utc)) == date(2026, 7, 15)
    start, end = nyc.climate_day_bounds(date(2026, 7, 15))
    assert start == datetime(2026, 7, 15, 5, tzinfo=timezone.utc) and (end - start).days == 1
    with pytest.raises(ValueError, match="naive"):
        nyc.climate_day(datetime(2026, 7, 15, 5, 0))


def test_an_eleventh_city_is_config_only(tmp_path):
    extra = tmp_path / "extra.toml"
    extra.write_text('''[[city]]
code = "PHX"
name = "Phoenix"
series = ["KXHIGHPHX"]
station_name = "Phoenix Sky Harbor"
icao = "KPHX"
cli_code = "CLIPHX"
nws_office = "PSR"
ghcnd_id = "USW00023183"
lat = 33.43
lon = -112.01
tz = "America/Phoenix"
lst_offset_hours = -7
cluster = "Mountain"
''')
    registry = load_registry(extra_file=extra)
    assert len(registry) == 11 and registry.for_ticker("KXHIGHPHX-26JAN01-T90").name == "Phoenix"


def test_bad_registry_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[city]]\ncode = "nyc"\n')
    with pytest.raises(CityRegistryError, match=r"city\[0\]"):
        load_registry(file=bad)
    with pytest.raises(CityRegistryError, match="does not exist"):
        load_registry(file=tmp_path / "missing.toml")
