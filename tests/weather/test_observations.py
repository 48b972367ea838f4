"""Observation parsing: QC flags, METAR remark groups, the two cadences and the LST-day maximum."""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _nws_kit import observation

from daemon.weather.errors import WeatherParseError
from daemon.weather.observations import (
    decode_24_hour_max,
    decode_six_hour_max,
    decode_t_group,
    observed_max,
    parse_observation,
    parse_observations,
)

METAR = "KNYC 151451Z 00000KT 10SM FEW250 16/07 A3012 RMK AO2 SLP199 T01560072"


def _fixture(shared_data: Path, name: str) -> dict:
    return json.loads((shared_data / "fixtures" / "nws_api" / "pynws_2019_2022" / name).read_text())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(METAR, 15.6), ("KX 1Z RMK AO2 T10111022", -1.1), ("KX 1Z RMK AO2 T0222", 22.2),
     ("KX 1Z 16/07 A3012", None), ("KX 1Z RMK AO2 SLP199", None), (None, None),
     ("KX T01560072 RMK AO2", None)],  # a T-group only counts inside the remarks
)  # fmt: skip
def test_t_group(raw, expected) -> None:
    assert decode_t_group(raw) == expected


def test_six_and_24_hour_groups(shared_data: Path) -> None:
    raw = _fixture(shared_data, "stations_observations_latest.json")["properties"]["rawMessage"]
    assert decode_six_hour_max(raw) == 24.4  # "10244"
    assert decode_t_group(raw) == 22.8
    assert decode_six_hour_max("KX RMK AO2 11006 21017") == -0.6
    assert decode_24_hour_max("KX RMK AO2 401001015 T00330017") == 10.0
    assert decode_24_hour_max(raw) is None


def test_groups_before_the_end_of_report_sign_are_decoded() -> None:
    # Real ISD KSEA records (2024-12-01): the report's terminating `=` is glued to the last group.
    assert decode_t_group("SPECI KSEA 011726Z 04008KT 5SM BCFG 03/02 A3025 RMK AO2 T00330022=") == 3.3
    assert decode_six_hour_max("METAR KSEA 011753Z 04008KT 04/03 A3026 RMK AO2 T00390028 10039=") == 3.9
    assert decode_t_group("METAR KSEA 010853Z 03/02 A3025 RMK AO2 SLP252 T00330017 58004= ") == 3.3
    obs = parse_observation(observation(datetime(2024, 12, 1, 17, 26, tzinfo=UTC),
                                        "SPECI KSEA 011726Z 03/02 A3025 RMK AO2 T00330022=", 3))
    assert (obs.temperature_c, obs.precise) == (3.3, True)


def test_latest_fixture_prefers_t_group_precision(shared_data: Path) -> None:
    obs = parse_observation(_fixture(shared_data, "stations_observations_latest.json"))
    assert (obs.kind, obs.temperature_c, obs.precise, obs.qc, obs.six_hour_max_c) == ("metar", 22.8, True, "V", 24.4)
    assert obs.temperature_f == pytest.approx(73.04)


def test_live_fixture_six_hour_group_sets_the_day_max(shared_data: Path, registry) -> None:
    # The recorded api.weather.gov KFLL observation (Eastern time, 23:53Z = 18:53 EST): its 6-hour group
    # (12:53-18:53 EST, inside the LST day) says 24.4 °C while the reading's T-group says 22.8 °C.
    observations, _ = parse_observations(_fixture(shared_data, "stations_observations_latest.json"))
    mia = registry.get("MIA")  # same LST offset as KFLL
    summary = observed_max(observations, mia, date(2022, 3, 2), until=datetime(2022, 3, 3, tzinfo=UTC))
    assert summary.max_f == pytest.approx(75.92) and summary.precise_max_f == pytest.approx(75.92)
    assert summary.until == datetime(2022, 3, 2, 23, 53, tzinfo=UTC) and summary.precise_count == 2
    early = observed_max(observations, mia, date(2022, 3, 2), until=datetime(2022, 3, 2, 23, 52, tzinfo=UTC))
    assert early.max_f is None  # not yet observed at 23:52Z


def test_duplicate_observations_keep_the_filled_in_copy(shared_data: Path) -> None:
    doc = _fixture(shared_data, "stations_observations_multiple.json")
    for feature in doc["features"]:
        feature["properties"]["rawMessage"] = ""  # force the reported value to matter
    observations, skipped = parse_observations(doc)
    assert len(observations) == 1 and not skipped
    assert observations[0].temperature_c == 10


def test_missing_value_fixture_is_skipped_with_reason(shared_data: Path) -> None:
    observations, skipped = parse_observations({"features": [_fixture(shared_data, "stations_observations_missing_value.json")]})
    assert observations == [] and skipped == ["observation without a timestamp"]


def test_collection_fixture(shared_data: Path) -> None:
    observations, _ = parse_observations(_fixture(shared_data, "stations_observations.json"))
    assert len(observations) == 1 and observations[0].temperature_c == 25.6 and observations[0].precise


@pytest.mark.parametrize("flag", ["X", "Q", "qc:X", "qc:Q"])
def test_rejected_and_questioned_readings_dropped(flag: str) -> None:
    obs = parse_observation(observation(datetime(2026, 1, 15, 14, 51, tzinfo=UTC), METAR, 15.6, qc=flag))
    assert obs.temperature_c is None and obs.dropped_reason == f"qc_{flag[-1]}"


@pytest.mark.parametrize("flag", ["V", "C", "S", "Z", "qc:V", None])
def test_usable_qc_flags_kept(flag) -> None:
    obs = parse_observation(observation(datetime(2026, 1, 15, 14, 51, tzinfo=UTC), METAR, 16, qc=flag))
    assert obs.temperature_c == 15.6 and obs.dropped_reason is None


def test_five_minute_reading_is_whole_celsius_and_imprecise() -> None:
    obs = parse_observation(observation(datetime(2026, 1, 15, 14, 55, tzinfo=UTC), None, 16))
    assert (obs.kind, obs.temperature_c, obs.precise) == ("5min", 16.0, False)


def test_absurd_or_wrong_unit_temperature_refused() -> None:
    bad = observation(datetime(2026, 1, 15, 14, 55, tzinfo=UTC), None, 99)
    with pytest.raises(WeatherParseError):
        parse_observation(bad)
    kelvin = observation(datetime(2026, 1, 15, 14, 55, tzinfo=UTC), None, 290)
    kelvin["properties"]["temperature"]["unitCode"] = "wmoUnit:K"
    with pytest.raises(WeatherParseError, match="unit"):
        parse_observation(kelvin)
    _, skipped = parse_observations({"features": [bad]})
    assert len(skipped) == 1


def test_observed_max_over_the_lst_day(registry) -> None:
    nyc = registry.get("NYC")  # climate day 2026-01-15 = 05:00Z .. 05:00Z next day
    t = lambda h, m=51, d=15: datetime(2026, 1, d, h, m, tzinfo=UTC)
    features = [
        observation(t(4), "KNYC 150451Z RMK AO2 T02000100", 20.0),           # previous climate day
        observation(t(5, 0), None, 19),                                      # first minute of the day counts
        observation(t(11), "KNYC 151151Z RMK AO2 T00500000 10210", 5.0),     # 6h max window 06-12Z inside the day
        observation(t(13), "KNYC 151351Z RMK AO2 T01560072", 15.6),
        observation(t(14, 55), None, 17),                                    # 5-minute, whole °C
        observation(t(15), "KNYC 151551Z RMK AO2 T03000100", 30.0, qc="X"),  # rejected
        observation(t(16), "KNYC 151651Z RMK AO2 T01610072", 16.1),          # after `until`
    ]
    observations, _ = parse_observations({"features": features})
    summary = observed_max(observations, nyc, date(2026, 1, 15), until=t(16, 0))
    assert summary.max_f == pytest.approx(69.8)  # 21.0 °C from the 6-hour group beats 17 °C
    assert summary.until == t(14, 55)
    assert summary.dropped == 1
    assert summary.count == 5 and summary.precise_count == 3
    assert summary.precise_max_f == pytest.approx(69.8)


def test_six_hour_group_straddling_the_day_start_ignored(registry) -> None:
    nyc = registry.get("NYC")
    obs, _ = parse_observations({"features": [
        observation(datetime(2026, 1, 15, 5, 51, tzinfo=UTC), "KNYC 150551Z RMK AO2 T00100000 10300", 1.0)]})  # fmt: skip
    summary = observed_max(obs, nyc, date(2026, 1, 15), until=datetime(2026, 1, 15, 6, tzinfo=UTC))
    assert summary.max_f == pytest.approx(33.8) and summary.precise_max_f == pytest.approx(33.8)


def test_six_hour_group_reaching_into_the_previous_evening_ignored(registry) -> None:
    # Recorded ISD pattern (KORD 2022-02-12, Central time): the 11:51Z report's 6-hour group covers
    # 05:51-11:51Z, i.e. 23:51-05:51 CST, and repeats the previous evening's -1.7 °C while the new day
    # never got above -2.2 °C. At Midway (same offset) it must not count for the new day.
    chi = registry.get("CHI")  # climate day 2022-02-12 = 06:00Z .. 06:00Z
    t = lambda h, m=53: datetime(2022, 2, 12, h, m, tzinfo=UTC)
    obs, _ = parse_observations({"features": [
        observation(t(5, 51), "KMDW 120551Z RMK AO2 T10171072 10011", -1.7),  # previous climate day
        observation(t(6), "KMDW 120653Z RMK AO2 T10221072", -2.2),
        observation(t(11, 51), "KMDW 121151Z RMK AO2 T11001172 11017 21100", -10.0),
        observation(t(17, 51), "KMDW 121751Z RMK AO2 T10721178 11072 21106", -7.2)]})  # fmt: skip
    summary = observed_max(obs, chi, date(2022, 2, 12), until=t(18))
    assert summary.max_f == pytest.approx(28.04)  # -2.2 °C at 06:53Z, not -1.7 °C from before midnight
    assert summary.precise_max_f == pytest.approx(28.04)


def test_a_whole_celsius_reading_counts_as_the_least_it_proves(registry) -> None:
    # Recorded KMIA 2024-09-25 (settled 89 °F): the 17:49Z SPECI has no T-group and says 32 °C, i.e. 89.6 °F at
    # face value, which rounds to 90; the 17:53Z METAR's T-group says 31.7 °C. A whole °C proves only >= 31.5.
    mia = registry.get("MIA")
    obs, _ = parse_observations({"features": [
        observation(datetime(2024, 9, 25, 17, 49, tzinfo=UTC),
                    "SPECI KMIA 251749Z 12013G23KT 10SM BKN022 32/26 A2985 RMK AO2 PK WND 13028/1723", 32.0)]})
    summary = observed_max(obs, mia, date(2024, 9, 25), until=datetime(2024, 9, 25, 18, tzinfo=UTC))
    assert summary.max_f == pytest.approx(88.7) and summary.precise_max_f is None
    assert math.floor(summary.max_f + 0.5) == 89


def test_no_observations_means_no_max(registry) -> None:
    summary = observed_max([], registry.get("NYC"), date(2026, 1, 15), until=datetime(2026, 1, 15, 6, tzinfo=UTC))
    assert summary.max_f is None and summary.until is None
