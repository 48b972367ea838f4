"""check_rules: source by era, station against the registry, date, maximum-vs-minimum, stated bracket."""

from __future__ import annotations

from datetime import date

import pytest

from daemon.cities import default_registry
from daemon.settlement.brackets import Bracket
from daemon.settlement.rules import NWS_SOURCE, TWC_SOURCE, bracket_from_rules, check_rules

REG = default_registry()
# Real texts (shared/data/fixtures): TWC era (Sep 2026) and NWS era (2024/2025, July 2026).
TWC_CHI = (
    "If the maximum temperature recorded at Chicago (CLIMDW) for Sep 25, 2026, is between 68-69° fahrenheit "
    "according to The Weather Company, then the market resolves to Yes."
)
NWS_NYC = (
    "If the highest temperature recorded in Central Park, New York for July 10, 2026 as reported by the National "
    "Weather Service's Climatological Report (Daily), is less than 87°, then the market resolves to Yes."
)
NWS_CHI = (
    "If the highest temperature recorded at Chicago Midway, IL for March 01, 2025, is greater than 35° according "
    "to the NWS's Daily Climate Report, then the market resolves to Yes."
)
NWS_MIA = (
    "If the highest temperature recorded in Miami, FL for March 01, 2025 as reported by the National Weather "
    "Service's Daily Climate Report, is between 80-81°, then the market resolves to Yes."
)


def test_twc_era_ok():
    check = check_rules(TWC_CHI, REG.get("CHI"), date(2026, 9, 25), bracket=Bracket(68, 69))
    assert check == type(check)(True, TWC_SOURCE, "CLIMDW", [])


@pytest.mark.parametrize(
    "text,code,day,station",
    [
        (NWS_NYC, "NYC", date(2026, 7, 10), "Central Park, New York"),
        (NWS_CHI, "CHI", date(2025, 3, 1), "Chicago Midway, IL"),
        (NWS_MIA, "MIA", date(2025, 3, 1), "Miami, FL"),
    ],
)
def test_nws_era_ok(text, code, day, station):
    check = check_rules(text, REG.get(code), day)
    assert check.ok and check.source == NWS_SOURCE and check.station == station, check.reasons


def test_last_nws_day_and_first_twc_day():
    nws = NWS_CHI.replace("March 01, 2025", "August 13, 2026")
    assert check_rules(nws, REG.get("CHI"), date(2026, 8, 13)).ok
    twc = TWC_CHI.replace("Sep 25", "Aug 14")
    assert check_rules(twc, REG.get("CHI"), date(2026, 8, 14)).ok
    wrong_era = check_rules(
        nws.replace("August 13", "August 14"), REG.get("CHI"), date(2026, 8, 14)
    )
    assert not wrong_era.ok and "settle on the_weather_company" in wrong_era.reasons[0]
    assert not check_rules(twc.replace("Aug 14", "Aug 13"), REG.get("CHI"), date(2026, 8, 13)).ok


def reasons(text: str, code: str = "CHI", day: date = date(2026, 9, 25), **kw) -> str:
    check = check_rules(text, REG.get(code), day, **kw)
    assert not check.ok
    return " | ".join(check.reasons)


def test_wrong_station_code_is_untradeable():
    assert "CLIORD" in reasons(TWC_CHI.replace("CLIMDW", "CLIORD"))  # O'Hare, not Midway


def test_wrong_city_is_untradeable():
    assert "CLIMDW" in reasons(TWC_CHI, code="NYC")


def test_nws_era_wrong_station_name():
    assert "O'Hare" in reasons(
        NWS_CHI.replace("Chicago Midway, IL", "Chicago O'Hare, IL"), day=date(2025, 3, 1)
    )


def test_twc_without_cli_code():
    assert "must cite the CLI code" in reasons(
        TWC_CHI.replace("Chicago (CLIMDW)", "Chicago Midway")
    )


def test_other_source():
    text = TWC_CHI.replace("The Weather Company", "AccuWeather")
    check = check_rules(text, REG.get("CHI"), date(2026, 9, 25))
    assert not check.ok and check.source == "unknown"


def test_both_sources_is_ambiguous():
    text = TWC_CHI + " Data from the NWS's Daily Climate Report may also be used."
    assert "neither" in reasons(text)


def test_minimum_temperature_market():
    assert "maximum" in reasons(TWC_CHI.replace("maximum temperature", "minimum temperature"))


def test_date_mismatch():
    assert "expected climate day" in reasons(TWC_CHI, day=date(2026, 9, 24))


def test_several_codes():
    assert "several stations" in reasons(TWC_CHI.replace("fahrenheit", "(CLIORD) fahrenheit"))


@pytest.mark.parametrize("text", ["", "   ", "If it is hot, then the market resolves to Yes."])
def test_unreadable(text):
    check = check_rules(text, REG.get("CHI"), date(2026, 9, 25))
    assert not check.ok and check.reasons


def test_stated_bracket_cross_check():
    assert "market strikes say" in reasons(TWC_CHI, bracket=Bracket(70, 71))
    assert bracket_from_rules(NWS_CHI) == Bracket(36, None)  # "greater than 35°" is 36 and up
    assert bracket_from_rules(NWS_NYC) == Bracket(None, 86)  # "less than 87°" is 86 and below
    assert bracket_from_rules(NWS_MIA) == Bracket(80, 81)
    assert bracket_from_rules("no bracket here") is None
