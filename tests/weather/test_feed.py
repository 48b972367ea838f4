"""NwsWeatherFeed end to end against the fake NWS: assemble, store, read as-of, assess freshness."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _nws_kit import (
    FakeNws,
    daily_forecast_doc,
    grid_doc,
    hourly_forecast_doc,
    observation,
    observations_doc,
    points_doc,
    problem,
)

from daemon.weather.asof import AsOfWeather
from daemon.weather.config import WeatherConfig
from daemon.weather.feed import NwsWeatherFeed, WeatherFeed
from daemon.weather.freshness import assess
from daemon.weather.nws import NwsClient
from daemon.weather.snapshots import store_snapshot

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)   # 07:00 EST
DAY = date(2026, 1, 15)
GRID = "/gridpoints/OKX/34,45"
OBS = "/stations/KNYC/observations"


def _observations() -> dict:
    t = lambda h, m=51: datetime(2026, 1, 15, h, m, tzinfo=UTC)
    return observations_doc([
        observation(t(6), "KNYC 150651Z 00000KT 10SM CLR M01/M06 A3030 RMK AO2 SLP262 T10061056", -1.0),
        observation(t(7), "KNYC 150751Z 00000KT 10SM CLR 01/M05 A3030 RMK AO2 SLP262 T00111050", 1.0),
        observation(t(8), "KNYC 150851Z 00000KT 10SM CLR 03/M05 A3030 RMK AO2 SLP262 T00281050", 2.8, qc="Q"),
        observation(t(11, 55), None, 2),
    ])  # fmt: skip


@pytest.fixture
def fake(registry) -> FakeNws:
    nyc = registry.get("NYC")
    fake = FakeNws()
    fake.serve("/points/40.7789,-73.9692", points_doc("OKX", 34, 45), NOW - timedelta(days=30))
    fake.serve(f"{GRID}/forecast", daily_forecast_doc(nyc, NOW, [41, 45, 38]), NOW - timedelta(hours=1))
    hourly = [30, 32, 35, 38, 40, 42, 43, 42, 40, 37, 35, 34, 33, 32, 31, 30, 29, 29] + [50] * 12
    fake.serve(f"{GRID}/forecast/hourly", hourly_forecast_doc(nyc, NOW, hourly), NOW - timedelta(hours=1))
    start = nyc.climate_day_bounds(DAY)[0]
    fake.serve(GRID, grid_doc(NOW, start, 44, [30 + i for i in range(24)]), NOW - timedelta(hours=1))
    fake.fail_next(OBS, lambda r: httpx.Response(200, json=_observations()), times=50)
    return fake


@pytest.fixture
def feed(fake, registry, clock) -> NwsWeatherFeed:
    client = NwsClient.from_config(WeatherConfig(), clock, transport=fake.transport())
    yield NwsWeatherFeed(client, registry, clock, WeatherConfig())
    client.close()


def test_is_a_weather_feed(feed) -> None:
    assert isinstance(feed, WeatherFeed)


def test_poll_assembles_a_snapshot(feed, registry, clock) -> None:
    snap = feed.poll(registry.get("NYC"), DAY, clock.now())
    assert snap is not None and snap.payload["errors"] == []
    assert (snap.city_code, snap.climate_day, snap.source) == ("NYC", DAY, "assembled")
    assert snap.forecast_high_f == 41.0
    assert snap.issued_at == NOW - timedelta(hours=1)
    assert snap.valid_at == datetime(2026, 1, 15, 11, tzinfo=UTC)  # the daytime period 06:00 EST
    # Hourly periods 12Z.. ; the LST day ends 05Z next day: 17 hours counted, the 50s after are the next day.
    assert snap.hourly_max_f == 43.0
    # 2 °C 5-minute reading, counted as the 1.5 °C it proves (whole °C); the Q-flagged 2.8 °C dropped
    assert snap.observed_max_f == pytest.approx(34.7)
    assert snap.observed_until == datetime(2026, 1, 15, 11, 55, tzinfo=UTC)
    assert snap.received_at == clock.now()
    assert snap.payload["grid"] == {"updateTime": (NOW - timedelta(hours=1)).isoformat(),
                                    "max_temperature_f": 44, "hourly_max_f": 53}  # fmt: skip
    assert snap.payload["observations"]["dropped"] == 1
    assert snap.payload["observations"]["precise_max_f"] == pytest.approx(33.98)  # T00111050 = 1.1 °C
    assert len(snap.payload["hourly"]["periods"]) == 17  # 12Z..04Z: the rest of the LST day
    assert snap.payload["gridpoint"] == {"path": GRID, "resolved_at": NOW.isoformat()}


def test_polled_snapshot_stores_reads_back_and_is_fresh(db, feed, registry, clock) -> None:
    nyc = registry.get("NYC")
    sid = store_snapshot(db, feed.poll(nyc, DAY, clock.now()))
    row = AsOfWeather(db).latest("NYC", DAY, clock.now())
    assert row["id"] == sid and row["payload"]["forecast"]["periods"]
    verdict = assess(row, clock.now(), nyc, timedelta(hours=12), timedelta(minutes=90))
    assert verdict.state == "fresh", verdict.reasons


def test_expired_grid_leaves_the_forecast_empty_and_the_city_untradeable(fake, feed, registry, clock) -> None:
    nyc = registry.get("NYC")
    expired = lambda r: problem(503, "Forecast Grid Expired", "ForecastGridExpired")
    for suffix in ("/forecast", "/forecast/hourly", ""):
        fake.fail_next(GRID + suffix, expired)
    snap = feed.poll(nyc, DAY, clock.now())
    assert snap.forecast_high_f is None and snap.hourly_max_f is None
    assert snap.observed_max_f is not None
    assert any(e.startswith("forecast:GridExpiredError") for e in snap.payload["errors"])
    row = {**snap.__dict__, "id": None}
    verdict = assess(row, clock.now(), nyc, timedelta(hours=12), timedelta(minutes=90))
    assert verdict.state == "invalid" and "no_forecast_high" in verdict.reasons


def test_forecast_high_survives_its_period_passing_but_ages_honestly(fake, feed, registry, clock) -> None:
    nyc = registry.get("NYC")
    feed.poll(nyc, DAY, clock.now())
    clock.advance(timedelta(hours=11))  # 18:00 EST: today's daytime period has left the 12-hour forecast
    later = clock.now()
    fake.serve(f"{GRID}/forecast", daily_forecast_doc(nyc, later, [41, 45, 38], updated=later), later)
    fake.serve(f"{GRID}/forecast/hourly", hourly_forecast_doc(nyc, later, [40] * 24, updated=later), later)
    snap = feed.poll(nyc, DAY, later)
    assert snap.forecast_high_f == 41.0 and snap.payload["forecast_high_from"] == "earlier_issuance"
    assert snap.issued_at == NOW - timedelta(hours=1)  # the issuance it came from, not the new one


def test_everything_failing_returns_none(fake, feed, registry, clock) -> None:
    fake.overrides.clear()
    down = lambda r: problem(503, "Service Unavailable", "UnavailableWebService")
    for path in (f"{GRID}/forecast", f"{GRID}/forecast/hourly", GRID, OBS):
        fake.fail_next(path, down, times=3)  # the first try and both retries
    assert feed.poll(registry.get("NYC"), DAY, clock.now()) is None


def test_before_the_day_no_observations_are_requested(fake, feed, registry, clock) -> None:
    snap = feed.poll(registry.get("NYC"), DAY + timedelta(days=1), clock.now())
    assert snap.forecast_high_f == 45.0 and snap.observed_max_f is None and snap.observed_until is None
    assert fake.count(OBS) == 0


def test_remembered_high_can_be_seeded_after_a_restart(fake, feed, registry, clock) -> None:
    nyc = registry.get("NYC")
    clock.advance(timedelta(hours=11))
    later = clock.now()
    fake.serve(f"{GRID}/forecast", daily_forecast_doc(nyc, later, [41, 45, 38], updated=later), later)
    fake.serve(f"{GRID}/forecast/hourly", hourly_forecast_doc(nyc, later, [40] * 24, updated=later), later)
    assert feed.poll(nyc, DAY, later).forecast_high_f is None  # a fresh process has nothing to remember
    feed.remember_forecast_high("NYC", DAY, 41.0, NOW - timedelta(hours=1))
    feed.remember_forecast_high("NYC", DAY, 39.0, NOW - timedelta(hours=5))  # older: ignored
    snap = feed.poll(nyc, DAY, later)
    assert (snap.forecast_high_f, snap.issued_at) == (41.0, NOW - timedelta(hours=1))
    with pytest.raises(ValueError):
        feed.remember_forecast_high("NYC", DAY, float("nan"), NOW)
