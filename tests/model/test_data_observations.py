"""The fit's observations follow the live climate-day rule (daemon.weather.observations.day_values).

A 6-hour maximum group counts only when its whole 6-hour window lies inside the LST climate day
(no slack: the 05:53 LST report's group reaches back into the previous evening), and a reading
without a T-group is whole °C, counted as the value − 0.5 °C it proves. What the model is fitted
on is then what the daemon (live or recorded feed) will see as the observed maximum.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from daemon.cities import default_registry
from daemon.model.data import load_dataset
from daemon.weather.recorded import OBSERVATION_LAG, RecordedWeatherFeed
from daemon.weather.units import c_to_f

DAY = date(2025, 1, 10)  # Miami: LST = UTC−5, the climate day is 05:00Z Jan 10 .. 05:00Z Jan 11
START = datetime(2025, 1, 10, 5, tzinfo=UTC)
ROWS = [  # time_utc, tmp_c, tmp_qc, metar
    # 05:53 LST: its 6-hour group (28.9 °C) covers 23:53-05:53, partly the day before: not counted.
    (
        START + timedelta(hours=5, minutes=53),
        20.0,
        "5",
        "METAR KMIA 101053Z 00000KT 10SM CLR 20/10 A3001 RMK AO2 SLP161 10289 20194 T02000100",
    ),
    (
        START + timedelta(hours=8, minutes=53),
        22.2,
        "5",
        "METAR KMIA 101353Z 00000KT 10SM CLR 22/11 A3001 RMK AO2 T02220111",
    ),
    # A SPECI without a T-group: whole °C, proves only 22.5 °C.
    (
        START + timedelta(hours=9, minutes=10),
        23.0,
        "5",
        "SPECI KMIA 101410Z 00000KT 10SM CLR 23/11 A3001",
    ),
    # 11:53 LST: the group's window 05:53-11:53 is inside the day: counted (26.1 °C).
    (
        START + timedelta(hours=11, minutes=53),
        25.0,
        "5",
        "METAR KMIA 101653Z 00000KT 10SM CLR 25/12 A3001 RMK AO2 10261 20217 T02500122",
    ),
    # Refused by ISD QC: nothing.
    (
        START + timedelta(hours=12, minutes=53),
        31.0,
        "3",
        "METAR KMIA 101753Z 00000KT 10SM CLR 31/12 A3001 RMK AO2 T03100122",
    ),
]


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "weather").mkdir()
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE h (station VARCHAR, time_utc TIMESTAMP, report_type VARCHAR, tmp_c DOUBLE, "
        "tmp_qc VARCHAR, metar VARCHAR)"
    )
    con.executemany(
        "INSERT INTO h VALUES ('KMIA', ?, 'FM-15', ?, ?, ?)",
        [(t.replace(tzinfo=None), c, q, m) for t, c, q, m in ROWS],
    )
    con.execute(
        f"COPY h TO '{tmp_path}/weather/isd_hourly_kmia_kord_ksea.parquet' (FORMAT parquet)"
    )
    return tmp_path


def test_fit_readings_use_the_climate_day_rule(data_dir: Path) -> None:
    times, temps = load_dataset(data_dir, default_registry()).hourly["MIA"]
    assert [datetime.fromtimestamp(t, UTC) for t in times] == [r[0] for r in ROWS[:4]]
    assert temps.tolist() == [
        c_to_f(20.0),  # the 05:53 LST group (28.9 °C) does not count: only the T-group
        c_to_f(22.2),
        c_to_f(23.0 - 0.5),  # whole °C: the value − 0.5 °C
        c_to_f(26.1),  # a group whose whole window is inside the day
    ]


def test_fit_and_recorded_feed_see_the_same_observed_maximum(data_dir: Path) -> None:
    registry = default_registry()
    times, temps = load_dataset(data_dir, registry).hourly["MIA"]
    feed = RecordedWeatherFeed(data_dir, registry)
    city = registry.get("MIA")
    for k in range(1, len(times) + 1):
        visible = datetime.fromtimestamp(times[k - 1], UTC) + OBSERVATION_LAG + timedelta(seconds=1)
        seen = feed.poll(city, DAY, visible)
        assert seen is not None and seen.observed_max_f == round(float(temps[:k].max()), 2)
