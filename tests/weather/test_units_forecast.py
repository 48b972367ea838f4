"""Units, ISO-8601 intervals and the forecast parsers, on the recorded NWS documents."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from daemon.weather.errors import ImplausibleValueError, StaleForecastError, WeatherParseError
from daemon.weather.forecast import (
    check_current,
    daytime_high_f,
    grid_hourly_max_f,
    grid_max_temperature_f,
    hourly_max_f,
    parse_forecast,
    parse_grid_layer,
)
from daemon.weather.units import (
    c_to_f,
    checked_celsius,
    checked_f,
    encoded_integer_f,
    parse_duration,
    parse_instant,
    parse_interval,
    quantity_to_f,
    round_half_up,
)


def _json(shared_data: Path, name: str) -> dict:
    return json.loads((shared_data / "fixtures" / "nws_api" / name).read_text())


# -- units ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [("PT1H", timedelta(hours=1)), ("PT13H", timedelta(hours=13)), ("P1D", timedelta(days=1)),
     ("P6DT22H", timedelta(days=6, hours=22)), ("P2DT3H30M", timedelta(days=2, hours=3, minutes=30)),
     ("PT90M", timedelta(minutes=90)), ("P1W", timedelta(weeks=1))],
)  # fmt: skip
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "1H", "P1Y", "PT1H30", "P1DT", "garbage"])
def test_bad_durations_refused(text: str) -> None:
    with pytest.raises(WeatherParseError):
        parse_duration(text)


def test_interval_as_nws_writes_it() -> None:
    start, end = parse_interval("2026-01-15T12:00:00+00:00/PT6H")
    assert start == datetime(2026, 1, 15, 12, tzinfo=UTC) and end == datetime(2026, 1, 15, 18, tzinfo=UTC)
    start, end = parse_interval("2026-01-15T07:00:00-05:00/2026-01-15T08:00:00-05:00")
    assert (start.hour, end.hour) == (12, 13)


@pytest.mark.parametrize("text", ["2026-01-15T12:00:00+00:00", "2026-01-15T12:00:00/PT1H", "x/PT1H", None,
                                  "2026-01-15T12:00:00+00:00/2026-01-15T11:00:00+00:00"])  # fmt: skip
def test_bad_intervals_refused(text) -> None:
    with pytest.raises(WeatherParseError):
        parse_interval(text)


def test_naive_timestamp_refused() -> None:
    with pytest.raises(WeatherParseError):
        parse_instant("2026-01-15T12:00:00")
    assert parse_instant("2026-01-15T12:00:00Z").tzinfo is not None


def test_every_integer_f_round_trips_through_celsius() -> None:
    for f in range(-60, 131):
        assert encoded_integer_f((f - 32) * 5 / 9) == f


def test_round_half_up_is_not_bankers() -> None:
    assert (round_half_up(84.5), round_half_up(85.5), round_half_up(-0.5), round_half_up(-1.5)) == (85, 86, -1, -2)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 80.0, -70.0, "20", None, True])
def test_absurd_or_non_numeric_celsius_refused(value) -> None:
    with pytest.raises(WeatherParseError):
        checked_celsius(value)


def test_nan_is_an_implausible_value() -> None:
    with pytest.raises(ImplausibleValueError):
        checked_f(math.nan)
    with pytest.raises(ImplausibleValueError):
        checked_f(140.0)


def test_quantity_units_matched_on_suffix() -> None:
    assert quantity_to_f({"unitCode": "unit:degC", "value": 0}) == 32.0
    assert quantity_to_f({"unitCode": "wmoUnit:degC", "value": 100 / 9 * 5 / 5}) == pytest.approx(c_to_f(100 / 9))
    assert quantity_to_f({"unitCode": "wmoUnit:degF", "value": 71}) == 71.0
    assert quantity_to_f({"unitCode": "wmoUnit:degC", "value": None}) is None
    with pytest.raises(WeatherParseError):
        quantity_to_f({"unitCode": "wmoUnit:K", "value": 290})


# -- forecasts (recorded documents) -------------------------------------------------------------------
def test_daily_forecast_fixture(shared_data: Path) -> None:
    forecast = parse_forecast(_json(shared_data, "pynws_2019_2022/gridpoints_forecast_us.json"))
    assert forecast.update_time == datetime(2019, 10, 13, 18, 16, 20, tzinfo=UTC)
    assert forecast.generated_at == datetime(2019, 10, 13, 18, 42, 44, tzinfo=UTC)
    first = forecast.periods[0]
    assert (first.name, first.is_daytime, first.temperature_f) == ("This Afternoon", True, 41.0)
    assert first.start == datetime(2019, 10, 13, 18, tzinfo=UTC)


def test_hourly_forecast_fixture(shared_data: Path) -> None:
    forecast = parse_forecast(_json(shared_data, "pynws_2019_2022/gridpoints_forecast_hourly_us.json"))
    assert forecast.periods[0].temperature_f == 78.0
    assert forecast.issued_at == datetime(2019, 10, 14, 23, 16, 24, tzinfo=UTC)


def test_quantitative_value_temperature_shape(shared_data: Path, registry) -> None:
    doc = _json(shared_data, "pynws_2019_2022/gridpoints_forecast_us.json")
    for period in doc["properties"]["periods"]:
        period["temperature"] = {"unitCode": "wmoUnit:degC", "value": (period["temperature"] - 32) * 5 / 9}
    forecast = parse_forecast(doc)
    assert round(forecast.periods[0].temperature_f, 6) == 41.0


@pytest.mark.parametrize(
    "mutate",
    [lambda d: d.pop("properties"), lambda d: d["properties"].update(periods=[]),
     lambda d: d["properties"]["periods"][0].pop("startTime"),
     lambda d: d["properties"]["periods"][0].update(temperatureUnit="K"),
     lambda d: d["properties"]["periods"][0].update(temperature=float("nan")),
     lambda d: d["properties"]["periods"][0].update(endTime=d["properties"]["periods"][0]["startTime"])],
)  # fmt: skip
def test_malformed_forecast_refused(shared_data: Path, mutate) -> None:
    doc = _json(shared_data, "pynws_2019_2022/gridpoints_forecast_us.json")
    mutate(doc)
    with pytest.raises(WeatherParseError):
        parse_forecast(doc)


def test_check_current_accepts_a_current_forecast(shared_data: Path) -> None:
    forecast = parse_forecast(_json(shared_data, "pynws_2019_2022/gridpoints_forecast_us.json"))
    check_current(forecast, datetime(2019, 10, 13, 19, tzinfo=UTC), timedelta(hours=12))


def test_stale_cdn_copy_refused(shared_data: Path) -> None:
    forecast = parse_forecast(_json(shared_data, "pynws_2019_2022/gridpoints_forecast_us.json"))
    with pytest.raises(StaleForecastError, match="older than"):
        check_current(forecast, datetime(2019, 10, 14, 19, tzinfo=UTC), timedelta(hours=12))


def test_first_period_must_contain_now(shared_data: Path) -> None:
    forecast = parse_forecast(_json(shared_data, "pynws_2019_2022/gridpoints_forecast_us.json"))
    # Recent enough, but the first period ("This Afternoon") is over: yesterday's document from an edge.
    with pytest.raises(StaleForecastError, match="does not contain now"):
        check_current(forecast, datetime(2019, 10, 13, 23, tzinfo=UTC), timedelta(hours=12))


def test_forecast_from_the_future_refused(shared_data: Path) -> None:
    forecast = parse_forecast(_json(shared_data, "pynws_2019_2022/gridpoints_forecast_us.json"))
    with pytest.raises(StaleForecastError, match="future"):
        check_current(forecast, datetime(2019, 10, 13, 18, tzinfo=UTC), timedelta(hours=12))


def test_daytime_high_and_hourly_max_bucket_by_lst(shared_data: Path, registry) -> None:
    nyc = registry.get("NYC")
    daily = parse_forecast(_json(shared_data, "pynws_2019_2022/gridpoints_forecast_us.json"))
    assert daytime_high_f(daily, nyc, date(2019, 10, 13)) == 41.0
    assert daytime_high_f(daily, nyc, date(2019, 10, 20)) is None
    hourly = parse_forecast(_json(shared_data, "pynws_2019_2022/gridpoints_forecast_hourly_us.json"))
    # 20:00 EDT on Oct 14 = 19:00 EST Oct 14: inside the Oct 14 climate day.
    assert hourly_max_f(hourly, nyc, date(2019, 10, 14)) == 78.0
    assert hourly_max_f(hourly, nyc, date(2019, 10, 16)) is None


# -- raw gridpoint layers (2026 recording) -------------------------------------------------------------
def test_grid_layers_recover_integer_fahrenheit(shared_data: Path) -> None:
    grid = _json(shared_data, "gridpoint_raw_nyc_2026_trimmed.json")
    for layer in ("maxTemperature", "minTemperature", "temperature", "dewpoint"):
        for value in parse_grid_layer(grid, layer):
            f = c_to_f(value.value_c)
            assert abs(f - round(f)) < 1e-6, (layer, value)  # every value encodes an integer °F
    maxes = [encoded_integer_f(v.value_c) for v in parse_grid_layer(grid, "maxTemperature")]
    assert maxes == [84, 89, 83, 84]


def test_grid_max_temperature_by_lst_day(shared_data: Path, registry) -> None:
    grid = _json(shared_data, "gridpoint_raw_nyc_2026_trimmed.json")
    nyc = registry.get("NYC")
    assert grid_max_temperature_f(grid, nyc, date(2026, 7, 10)) == 89
    assert grid_max_temperature_f(grid, nyc, date(2026, 8, 1)) is None
    hourly = grid_hourly_max_f(grid, nyc, date(2026, 7, 9))
    temps = [encoded_integer_f(v.value_c) for v in parse_grid_layer(grid, "temperature")
             if v.start < nyc.climate_day_bounds(date(2026, 7, 9))[1]]  # fmt: skip
    assert hourly == max(temps)


def test_grid_layer_errors(shared_data: Path) -> None:
    grid = _json(shared_data, "gridpoint_raw_nyc_2026_trimmed.json")
    with pytest.raises(WeatherParseError, match="missing"):
        parse_grid_layer(grid, "heatIndex")
    grid["properties"]["temperature"]["uom"] = "wmoUnit:percent"
    with pytest.raises(WeatherParseError, match="unit"):
        parse_grid_layer(grid, "temperature")
    grid["properties"]["maxTemperature"]["values"][0]["validTime"] = "2026-07-09T13:00:00+00:00"
    with pytest.raises(WeatherParseError):
        parse_grid_layer(grid, "maxTemperature")


def test_grid_null_values_kept_as_none(shared_data: Path, registry) -> None:
    grid = _json(shared_data, "gridpoint_raw_nyc_2026_trimmed.json")
    grid["properties"]["maxTemperature"]["values"][1]["value"] = None
    assert parse_grid_layer(grid, "maxTemperature")[1].value_c is None
    assert grid_max_temperature_f(grid, registry.get("NYC"), date(2026, 7, 10)) is None
