"""Per-city freshness: anything but fresh makes the city untradeable, with reasons."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from daemon.weather.freshness import assess

NOW = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)   # 10:00 EST: the NYC climate day is under way
FC_AGE = timedelta(hours=12)
OBS_AGE = timedelta(minutes=90)


def row(**kw) -> dict:
    base = dict(
        id=1, city_code="NYC", climate_day=date(2026, 1, 15), source="assembled",
        issued_at=NOW - timedelta(hours=2), valid_at=NOW, received_at=NOW - timedelta(minutes=5),
        forecast_high_f=41.0, hourly_max_f=42.0, observed_max_f=35.6,
        observed_until=NOW - timedelta(minutes=15), payload={"errors": []},
    )  # fmt: skip
    base.update(kw)
    return base


def check(registry, r, now=NOW):
    return assess(r, now, registry.get("NYC"), FC_AGE, OBS_AGE)


def test_fresh(registry) -> None:
    result = check(registry, row())
    assert (result.state, result.reasons, result.tradeable) == ("fresh", [], True)


def test_missing(registry) -> None:
    result = check(registry, None)
    assert result.state == "missing" and not result.tradeable and result.reasons == ["no_weather_snapshot"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [(dict(forecast_high_f=math.nan), "implausible_forecast_high_f"),
     (dict(observed_max_f=180.0), "implausible_observed_max_f"),
     (dict(hourly_max_f=-math.inf), "implausible_hourly_max_f"),
     (dict(forecast_high_f=None), "no_forecast_high"),
     (dict(issued_at=None), "no_issued_at"),
     (dict(city_code="CHI"), "wrong_city"),
     (dict(received_at=NOW + timedelta(seconds=1)), "received_after_now")],
)  # fmt: skip
def test_invalid(registry, changes, reason) -> None:
    result = check(registry, row(**changes))
    assert result.state == "invalid" and not result.tradeable
    assert any(r.startswith(reason) for r in result.reasons), result.reasons


def test_source_errors_explain_an_invalid_row(registry) -> None:
    result = check(registry, row(forecast_high_f=None, payload={"errors": ["forecast:GridExpiredError:expired"]}))
    assert "source_error:forecast:GridExpiredError:expired" in result.reasons


@pytest.mark.parametrize(
    ("changes", "reason"),
    [(dict(issued_at=NOW - timedelta(hours=13)), "forecast_age_780m>720m"),
     (dict(received_at=NOW - timedelta(hours=2)), "snapshot_age_120m>90m"),
     (dict(observed_until=None, observed_max_f=None), "no_observations_today"),
     (dict(observed_until=NOW - timedelta(hours=2)), "observation_age_120m>90m")],
)  # fmt: skip
def test_stale(registry, changes, reason) -> None:
    result = check(registry, row(**changes))
    assert result.state == "stale" and reason in result.reasons and not result.tradeable


def test_observations_not_required_before_the_day_or_in_its_first_minutes(registry) -> None:
    before = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)  # 22:00 EST the evening before
    early = row(observed_until=None, observed_max_f=None, issued_at=before - timedelta(hours=1),
                received_at=before - timedelta(minutes=1))  # fmt: skip
    assert check(registry, early, now=before).state == "fresh"
    just_started = datetime(2026, 1, 15, 5, 30, tzinfo=UTC)
    assert check(registry, row(observed_until=None, issued_at=just_started - timedelta(hours=1),
                               received_at=just_started), now=just_started).state == "fresh"  # fmt: skip


def test_observations_required_only_from_sources_that_promise_them(registry) -> None:
    sim = row(source="sim", observed_until=None, observed_max_f=None)
    assert check(registry, sim).state == "fresh"
    old_sim = row(source="sim", observed_until=NOW - timedelta(hours=3))
    assert check(registry, old_sim).state == "stale"
