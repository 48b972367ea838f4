"""Snapshot storage and the as-of reader, on both engines. Includes the look-ahead canary."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from daemon.weather.asof import AsOfWeather, LookAheadError, check_as_of
from daemon.weather.errors import WeatherParseError
from daemon.weather.snapshots import WeatherSnapshot, snapshot_from_row, store_snapshot

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
DAY = date(2026, 1, 15)


def snap(received_at: datetime, high: float = 41.0, source: str = "assembled", **kw) -> WeatherSnapshot:
    fields = dict(
        city_code="NYC", climate_day=DAY, source=source, issued_at=received_at - timedelta(hours=1),
        valid_at=received_at, received_at=received_at, forecast_high_f=high, hourly_max_f=high + 1,
        observed_max_f=35.5, observed_until=received_at - timedelta(minutes=9),
        payload={"forecast": {"periods": [{"temperature": int(high)}]}, "errors": []},
    )  # fmt: skip
    fields.update(kw)
    return WeatherSnapshot(**fields)


def test_store_and_read_back(db) -> None:
    original = snap(T0)
    sid = store_snapshot(db, original)
    row = AsOfWeather(db).by_id(sid, T0)
    assert row["id"] == sid
    assert snapshot_from_row(row) == original


def test_latest_is_the_newest_received_at_or_before_as_of(db) -> None:
    ids = [store_snapshot(db, snap(T0 + timedelta(minutes=10 * i), high=40 + i)) for i in range(4)]
    reader = AsOfWeather(db)
    assert reader.latest("NYC", DAY, T0 + timedelta(minutes=25))["id"] == ids[2]
    assert reader.latest("NYC", DAY, T0 + timedelta(minutes=30))["id"] == ids[3]  # inclusive
    assert reader.latest("NYC", DAY, T0 - timedelta(seconds=1)) is None
    assert reader.latest("CHI", DAY, T0 + timedelta(hours=1)) is None
    assert reader.latest("NYC", DAY + timedelta(days=1), T0 + timedelta(hours=1)) is None
    assert [r["id"] for r in reader.history("NYC", DAY, T0 + timedelta(minutes=15))] == ids[:2]


def test_latest_by_source(db) -> None:
    cli = store_snapshot(db, snap(T0, source="cli"))
    store_snapshot(db, snap(T0 + timedelta(minutes=5), source="assembled"))
    reader = AsOfWeather(db)
    assert reader.latest("NYC", DAY, T0 + timedelta(hours=1), source="cli")["id"] == cli
    assert reader.latest("NYC", DAY, T0 + timedelta(hours=1), source="sim") is None


def test_canary_a_deliberate_look_into_the_future_raises(db) -> None:
    """The canary: asking for a snapshot received after the decision time must fail loudly."""
    future_id = store_snapshot(db, snap(T0 + timedelta(hours=3), high=99.0))
    reader = AsOfWeather(db)
    with pytest.raises(LookAheadError, match="after the decision time"):
        reader.by_id(future_id, as_of=T0)
    # Handing a future row to the guard directly also raises (e.g. a buggy query elsewhere).
    future_row = db.query_one("SELECT * FROM ops.weather_snapshots WHERE id = ?", (future_id,))
    with pytest.raises(LookAheadError):
        reader.checked(future_row, T0)
    with pytest.raises(LookAheadError):
        check_as_of([{"id": 1, "received_at": None}], T0)
    # The SQL path never returns it either: at T0 the future row is invisible.
    assert reader.latest("NYC", DAY, T0) is None


def test_as_of_must_be_aware(db) -> None:
    with pytest.raises(ValueError, match="naive"):
        AsOfWeather(db).latest("NYC", DAY, datetime(2026, 1, 15, 12))


@pytest.mark.parametrize(
    "bad",
    [dict(forecast_high_f=math.nan), dict(observed_max_f=math.inf), dict(hourly_max_f=200.0),
     dict(source="accuweather"), dict(payload=[1, 2])],
)  # fmt: skip
def test_bad_snapshots_never_stored(db, bad) -> None:
    with pytest.raises(WeatherParseError):
        store_snapshot(db, snap(T0, **bad))
    assert db.scalar("SELECT COUNT(*) FROM ops.weather_snapshots") == 0


def test_naive_times_never_stored(db) -> None:
    with pytest.raises(ValueError, match="naive"):
        store_snapshot(db, snap(T0, observed_until=datetime(2026, 1, 15, 11)))
    assert db.scalar("SELECT COUNT(*) FROM ops.weather_snapshots") == 0
