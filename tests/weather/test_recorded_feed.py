"""RecordedWeatherFeed: the recorded data directory replayed point-in-time, through the live snapshot path."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from daemon.model.data import load_dataset
from daemon.weather import freshness
from daemon.weather.asof import AsOfWeather
from daemon.weather.recorded import FORECAST_LAG, OBSERVATION_LAG, RecordedWeatherFeed
from daemon.weather.snapshots import snapshot_from_row, store_snapshot

NDFD = "weather/ndfd_knyc_maxt_vintages.parquet"
ISD = "weather/isd_hourly_kmia_kord_ksea.parquet"
ISD_COLUMNS = "station VARCHAR, time_utc TIMESTAMP, report_type VARCHAR, tmp_c DOUBLE, tmp_qc VARCHAR, metar VARCHAR"


@pytest.fixture(scope="module")
def feed(shared_data: Path, registry) -> RecordedWeatherFeed:
    return RecordedWeatherFeed(shared_data, registry)


def _lit(path: Path) -> str:
    return "'" + str(path) + "'"


def _copy(tmp: Path, rel: str, select: str) -> None:
    """Write `select` (a DuckDB query) as a parquet file at tmp/rel."""
    (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"COPY ({select}) TO {_lit(tmp / rel)} (FORMAT parquet)")


def _isd(tmp: Path, rows: list[tuple], real: Path | None = None, where: str = "false") -> None:
    values = ", ".join(
        f"('{s}', TIMESTAMP '{t:%Y-%m-%d %H:%M:%S}', '{rt}', {c}, '{q}', '{m}')"
        for s, t, rt, c, q, m in rows
    )
    planted = (
        f"SELECT * FROM (VALUES {values}) v(station, time_utc, report_type, tmp_c, tmp_qc, metar)"
    )
    parts = (
        [
            (
                f"SELECT station, time_utc, report_type, tmp_c, tmp_qc, metar FROM read_parquet({_lit(real / ISD)})"
                f" WHERE {where}"
            )
        ]
        if real
        else []
    )
    if rows:
        parts.append(planted)
    duckdb.sql(f"CREATE OR REPLACE TEMP TABLE isd_plant ({ISD_COLUMNS})")
    for part in parts:
        duckdb.sql(f"INSERT INTO isd_plant {part}")
    _copy(tmp, ISD, "SELECT * FROM isd_plant")


# -- point in time --------------------------------------------------------------------------------------
def test_a_forecast_issued_one_second_too_late_changes_nothing(
    shared_data: Path, registry, tmp_path: Path
) -> None:
    nyc, day = registry.get("NYC"), date(2024, 12, 1)
    now = datetime(2024, 11, 30, 20, 0, tzinfo=UTC)
    real = (
        f"SELECT * FROM read_parquet({_lit(shared_data / NDFD)})"
        " WHERE target_day BETWEEN DATE '2024-11-29' AND DATE '2024-12-03'"
    )
    late = now - FORECAST_LAG + timedelta(seconds=1)
    planted = (
        f"SELECT DATE '2024-12-01' AS target_day, 'KNYC' AS station, TIMESTAMPTZ '{late.isoformat()}' AS "
        "issued_at, TIMESTAMPTZ '2024-12-02 00:00:00+00' AS valid_at, 18::SMALLINT AS issue_cycle_utc, "
        "28.0 AS lead_hours, 99::SMALLINT AS maxt_f, 310.0 AS maxt_k, false AS valid_period_misaligned, "
        "0.7 AS grid_distance_km, 'planted' AS source_file"
    )
    clean, dirty = tmp_path / "clean", tmp_path / "dirty"
    _copy(clean, NDFD, real)
    _copy(dirty, NDFD, f"{real} UNION ALL {planted}")
    before = RecordedWeatherFeed(clean, registry).poll(nyc, day, now)
    after = RecordedWeatherFeed(dirty, registry).poll(nyc, day, now)
    assert (
        before is not None and before.forecast_high_f == 37.0
    )  # the 12:46Z issue (18:46Z is misaligned)
    assert after == before
    later = RecordedWeatherFeed(dirty, registry).poll(nyc, day, now + timedelta(seconds=1))
    assert (
        later.forecast_high_f == 99.0 and later.issued_at == late
    )  # the plant is real once visible


def test_an_observation_available_one_second_too_late_changes_nothing(
    shared_data: Path, registry, tmp_path: Path
) -> None:
    mia, day = registry.get("MIA"), date(2024, 12, 1)
    now = datetime(2024, 12, 1, 18, 0, tzinfo=UTC)
    where = (
        "station = 'KMIA' AND time_utc BETWEEN TIMESTAMP '2024-11-30' AND TIMESTAMP '2024-12-03'"
    )
    late = now - OBSERVATION_LAG + timedelta(seconds=1)
    hot = (
        "KMIA",
        late.replace(tzinfo=None),
        "FM-16",
        35.0,
        "5",
        f"SPECI KMIA {late:%d%H%M}Z 35/20 A3000 RMK AO2 T03500200",
    )
    _isd(tmp_path / "clean", [], shared_data, where)
    _isd(tmp_path / "dirty", [hot], shared_data, where)
    before = RecordedWeatherFeed(tmp_path / "clean", registry).poll(mia, day, now)
    after = RecordedWeatherFeed(tmp_path / "dirty", registry).poll(mia, day, now)
    assert before is not None and before.observed_max_f == pytest.approx(73.94)
    assert after == before
    later = RecordedWeatherFeed(tmp_path / "dirty", registry).poll(
        mia, day, now + timedelta(seconds=1)
    )
    assert later.observed_max_f == pytest.approx(95.0) and later.observed_until == late


def test_observation_visible_exactly_at_its_time_plus_the_lag(
    feed: RecordedWeatherFeed, registry
) -> None:
    mia, day = registry.get("MIA"), date(2024, 12, 1)
    observed = datetime(2024, 12, 1, 16, 53, tzinfo=UTC)  # a routine KMIA METAR
    assert (
        feed.poll(mia, day, observed + OBSERVATION_LAG - timedelta(seconds=1)).observed_until
        < observed
    )
    assert feed.poll(mia, day, observed + OBSERVATION_LAG).observed_until == observed
    assert OBSERVATION_LAG >= timedelta(minutes=10)


def test_nothing_before_anything_was_available(feed: RecordedWeatherFeed, registry) -> None:
    nyc, mia = registry.get("NYC"), registry.get("MIA")
    assert feed.poll(nyc, date(2022, 1, 1), datetime(2021, 12, 1, tzinfo=UTC)) is None
    start, _ = mia.climate_day_bounds(date(2024, 12, 1))
    assert feed.poll(mia, date(2024, 12, 1), start) is None  # the day's first report is not out yet


# -- the traps ------------------------------------------------------------------------------------------
def test_misaligned_rows_dropped(feed: RecordedWeatherFeed, registry) -> None:
    nyc, day = registry.get("NYC"), date(2024, 7, 1)
    # 2024-06-30 18:46Z is a misaligned issue carrying 88 °F (the previous day's MaxT); the aligned 12:46Z one says 80.
    snap = feed.poll(nyc, day, datetime(2024, 6, 30, 23, 0, tzinfo=UTC))
    assert snap.forecast_high_f == 80.0 and snap.issued_at == datetime(
        2024, 6, 30, 12, 46, tzinfo=UTC
    )
    assert any("1153 NDFD rows dropped" in note for note in feed.notes)
    times = feed.forecast_times("NYC", day)
    assert datetime(2024, 6, 30, 18, 46, tzinfo=UTC) + FORECAST_LAG not in times
    assert len(times) == 10  # 11 issues for the day, one of them misaligned


def test_kord_is_never_used_for_chicago(
    feed: RecordedWeatherFeed, registry, tmp_path: Path
) -> None:
    chi = registry.get("CHI")
    assert not any(feed.covers("CHI").values())
    assert any("KORD" in note for note in feed.notes)
    for offset in range(0, 200, 7):
        day = date(2024, 8, 16) + timedelta(days=offset)
        assert (
            feed.poll(
                chi, day, datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=23)
            )
            is None
        )
    # Planted: O'Hare reports 30 °C, Midway 20 °C, same hour. Only Midway counts for Chicago.
    t = datetime(2024, 8, 20, 18, 53)
    _isd(
        tmp_path,
        [
            ("KORD", t, "FM-15", 30.0, "5", "METAR KORD 201853Z 30/20 A3000 RMK AO2 T03000200"),
            ("KMDW", t, "FM-15", 20.0, "5", "METAR KMDW 201853Z 20/10 A3000 RMK AO2 T02000100"),
        ],
    )
    snap = RecordedWeatherFeed(tmp_path, registry).poll(
        chi, date(2024, 8, 20), datetime(2024, 8, 20, 20, tzinfo=UTC)
    )
    assert (
        snap.observed_max_f == pytest.approx(68.0)
        and snap.payload["observations"]["station"] == "KMDW"
    )


def test_missing_files_mean_no_data(registry, tmp_path: Path) -> None:
    empty = RecordedWeatherFeed(tmp_path, registry)
    assert len(empty.notes) == 2
    for city in registry:
        assert empty.poll(city, date(2024, 12, 1), datetime(2024, 12, 1, 20, tzinfo=UTC)) is None
    with pytest.raises(FileNotFoundError):
        RecordedWeatherFeed(tmp_path / "absent", registry)


def test_six_hour_group_and_imprecise_speci(registry, tmp_path: Path) -> None:
    mia, day = registry.get("MIA"), date(2024, 12, 1)  # day = 05:00Z .. 05:00Z
    _isd(tmp_path, [
        ("KMIA", datetime(2024, 12, 1, 11, 53), "FM-15", 22.8, "5", "METAR KMIA 011153Z RMK AO2 T02280200 10239"),
        ("KMIA", datetime(2024, 12, 1, 12, 20), "FM-16", 25.0, "5", "SPECI KMIA 011220Z 25/20 A3000 RMK AO2"),
        ("KMIA", datetime(2024, 12, 1, 12, 53), "FM-15", 99.0, "7", "METAR KMIA 011253Z RMK AO2 T03900200"),  # QC 7
        ("KMIA", datetime(2024, 12, 1, 5, 53), "FM-15", 30.0, "5", "METAR KMIA 010553Z RMK AO2 T03000200 10300"),
    ])  # fmt: skip
    feed = RecordedWeatherFeed(tmp_path, registry)
    at = lambda h, m: feed.poll(mia, day, datetime(2024, 12, 1, h, m, tzinfo=UTC))
    # 05:53Z: the reading counts (86 °F), its 6-hour group (window from 23:53Z, the previous day) does not.
    assert at(6, 30).observed_max_f == pytest.approx(86.0)
    # The 6-hour group 23.9 °C beats the 22.8 °C reading; the whole-°C SPECI counts, but not as precise.
    snap = at(13, 30)
    assert snap.observed_max_f == pytest.approx(86.0) and snap.observed_until == datetime(
        2024, 12, 1, 12, 20, tzinfo=UTC
    )
    assert snap.payload["observations"] == {"station": "KMIA", "count": 4, "precise_count": 3, "precise_max_f": 86.0,
                                            "lag_minutes": 15.0}  # fmt: skip


# -- the recorded Miami days ----------------------------------------------------------------------------
def test_running_max_never_exceeds_the_settled_value_on_recorded_miami_days(
    shared_data: Path, registry, feed: RecordedWeatherFeed
) -> None:
    mia = registry.get("MIA")
    events = [
        e
        for e in load_dataset(shared_data, registry).events
        if e.city_code == "MIA" and e.settled is not None
    ]
    assert len(events) == 197
    equal = under = 0
    for event in events:
        maxima = []
        for at in feed.observation_times("MIA", event.climate_day):
            snap = feed.poll(mia, event.climate_day, at)
            maxima.append((snap.observed_max_f, snap.payload["observations"]["precise_max_f"]))
        assert maxima, event.event_ticker
        for every, precise in maxima:  # at every instant of the day, not only at its end
            assert math.floor(every + 0.5) <= event.settled, event.event_ticker
            assert precise is None or precise - event.settled <= 0.08, event.event_ticker
        final = math.floor(maxima[-1][1] + 0.5)
        equal += final == event.settled
        under += final < event.settled
    print(
        f"\nMiami: rounded precise running max == settled on {equal}/{len(events)} days, below on {under}"
    )
    assert (equal, under) == (191, 6)  # edge study §4: 191 of 197, never above


# -- the snapshot path ----------------------------------------------------------------------------------
def test_snapshots_validate_store_and_read_back_as_of(
    feed: RecordedWeatherFeed, registry, duckdb_db
) -> None:
    day, now = date(2024, 12, 1), datetime(2024, 12, 1, 15, 0, tzinfo=UTC)
    reader = AsOfWeather(duckdb_db)
    for code in ("NYC", "MIA"):
        snap = feed.poll(registry.get(code), day, now)
        assert snap.validated() is snap and snap.source == "recorded" and snap.received_at == now
        sid = store_snapshot(duckdb_db, snap)
        row = reader.latest(code, day, now)
        assert row["id"] == sid and snapshot_from_row(row) == snap
        assert reader.latest(code, day, now - timedelta(seconds=1)) is None
    nyc_row, mia_row = reader.latest("NYC", day, now), reader.latest("MIA", day, now)
    age = timedelta(hours=12), timedelta(minutes=90)
    assert freshness.assess(
        nyc_row, now, registry.get("NYC"), *age
    ).tradeable  # forecast, no observations: fine
    mia = freshness.assess(
        mia_row, now, registry.get("MIA"), *age
    )  # observations but no recorded forecast
    assert mia.state == "invalid" and "no_forecast_high" in mia.reasons
