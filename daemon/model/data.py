"""Read a data directory in the shared layout (kalshi/, weather/) into arrays the fitter and replayer use.

Every file is optional: what is missing is simply not used (and listed in `Dataset.notes`). Times are UTC.
Sources of the observed daily high, in order of trust: Kalshi settled values, GHCN-Daily TMAX, ISD summary-of-day,
other short GHCN/Wunderground histories. Hourly observations are used only for a city's own settlement station.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np

from daemon.cities import CityRegistry, lst_day_bounds
from daemon.settlement.brackets import Bracket, BracketError, event_brackets
from daemon.weather.observations import day_values
from daemon.weather.recorded import isd_observation


@dataclass
class Event:
    event_ticker: str
    city_code: str
    climate_day: date
    close_time: datetime
    ladder: tuple[tuple[str, Bracket], ...]
    results: dict[str, int]          # ticker -> 1 yes / 0 no
    settled: int | None              # settled high (°F) when known
    lst_offset_hours: int            # the city's standard-time offset (from the registry the dataset was read with)


@dataclass
class Dataset:
    root: Path
    con: duckdb.DuckDBPyConnection
    registry: CityRegistry           # the one registry every city code of the dataset is resolved in
    events: list[Event] = field(default_factory=list)
    highs: dict[str, dict[date, float]] = field(default_factory=dict)   # city -> LST day -> observed high °F
    hourly: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # city -> (epoch s, °F), sorted
    station_highs: dict[str, dict[date, float]] = field(default_factory=dict)  # ICAO -> LST day -> ISD daily max
    has_trades: bool = False
    notes: list[str] = field(default_factory=list)


def _file(root: Path, rel: str) -> Path | None:
    path = root / rel
    return path if path.exists() else None


def _lit(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def load_dataset(root: Path, registry: CityRegistry) -> Dataset:
    """`registry`: the configured one (daemon.simulation.demo.registry_for), never a hidden default."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data directory {root} does not exist")
    ds = Dataset(root, duckdb.connect(), registry)
    ds.con.execute("SET TimeZone='UTC'")
    ds.con.execute("SET enable_progress_bar = false")
    _load_markets(ds, registry)
    _load_trades(ds)
    _load_highs(ds, registry)
    _load_hourly(ds, registry)
    return ds


def _city_of(registry: CityRegistry, series_dir: str | None, ticker: str) -> str | None:
    for name in (series_dir or "", ticker.split("-", 1)[0]):
        if not name:
            continue
        city = registry.by_series(name.upper()) or next(
            (c for c in registry if name.upper() in {s.upper() for s in getattr(c, "legacy_series", ())}), None)
        if city is not None:
            return city.code
    return None


def _load_markets(ds: Dataset, registry: CityRegistry) -> None:
    path = _file(ds.root, "kalshi/kxhigh_markets.parquet")
    if path is None:
        ds.notes.append("no kalshi/kxhigh_markets.parquet: nothing to evaluate")
        return
    ds.con.execute(f"CREATE TABLE markets AS SELECT * FROM read_parquet({_lit(path)})")
    cols = {r[0] for r in ds.con.execute("DESCRIBE markets").fetchall()}
    want = ["ticker", "event_ticker", "strike_type", "floor_strike", "cap_strike", "subtitle", "yes_sub_title",
            "close_time", "result", "expiration_value", "series_dir", "file_date"]
    select = ", ".join(c if c in cols else f"NULL AS {c}" for c in want)
    rows = ds.con.execute(f"SELECT {select} FROM markets ORDER BY event_ticker, ticker").fetchall()
    settled = _settlements(ds)
    by_event: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_event[row[1]].append(dict(zip(want, row)))
    skipped = 0
    for event_ticker, markets in by_event.items():
        event = _event(event_ticker, markets, registry, settled.get(event_ticker))
        if event is None:
            skipped += 1
        else:
            ds.events.append(event)
    ds.events.sort(key=lambda e: (e.climate_day, e.city_code))
    if skipped:
        ds.notes.append(f"{skipped} events skipped (unknown city, bad ladder or missing close time)")


def _settlements(ds: Dataset) -> dict[str, float]:
    path = _file(ds.root, "kalshi/kxhigh_settlements.csv")
    if path is None:
        return {}
    rows = ds.con.execute(
        f"SELECT event_ticker, settled_value FROM read_csv_auto({_lit(path)}) WHERE settled_value IS NOT NULL"
    ).fetchall()
    return {e: float(v) for e, v in rows}


def _parse_time(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def _event(event_ticker: str, markets: list[dict], registry: CityRegistry, settled_value) -> Event | None:
    city = _city_of(registry, markets[0].get("series_dir"), markets[0]["ticker"])
    closes = {_parse_time(m["close_time"]) for m in markets}
    if city is None or None in closes or not markets[0].get("file_date"):
        return None
    try:
        ladder = tuple(event_brackets(markets))
    except BracketError:
        return None
    results = {m["ticker"]: int(m["result"] == "yes") for m in markets if m.get("result") in ("yes", "no")}
    settled = None
    if settled_value is not None and not math.isnan(settled_value) and float(settled_value).is_integer():
        settled = int(settled_value)
    return Event(event_ticker, city, date.fromisoformat(str(markets[0]["file_date"])[:10]), max(closes), ladder,
                 results, settled, registry.get(city).lst_offset_hours)


def _load_trades(ds: Dataset) -> None:
    path = _file(ds.root, "kalshi/kxhigh_trades.parquet")
    if path is None:
        ds.notes.append("no kalshi/kxhigh_trades.parquet: market member and market Brier unavailable")
        ds.con.execute("CREATE TABLE trades (ticker VARCHAR, created_time TIMESTAMPTZ, yes_price INTEGER, "
                       "trade_id VARCHAR)")
        return
    ds.con.execute(f"CREATE VIEW trades AS SELECT ticker, CAST(created_time AS TIMESTAMPTZ) AS created_time, "
                   f"yes_price, CAST(trade_id AS VARCHAR) AS trade_id FROM read_parquet({_lit(path)})")
    ds.has_trades = True


def _add_high(ds: Dataset, city: str | None, day, value, overwrite: bool = False) -> None:
    if city is None or value is None:
        return
    value = float(value)
    if math.isnan(value):
        return
    day = day if isinstance(day, date) and not isinstance(day, datetime) else date.fromisoformat(str(day)[:10])
    target = ds.highs.setdefault(city, {})
    if overwrite or day not in target:
        target[day] = float(round(value))


def _load_highs(ds: Dataset, registry: CityRegistry) -> None:
    def icao_city(icao: str) -> str | None:
        city = registry.by_icao(icao) if icao else None
        return city.code if city else None

    # Kalshi settled values first: they are the label the market pays on.
    for e in ds.events:
        if e.settled is not None:
            _add_high(ds, e.city_code, e.climate_day, e.settled, overwrite=True)
    if path := _file(ds.root, "weather/ghcnd_tmax_knyc_kmdw.parquet"):
        for icao, day, value in ds.con.execute(
                f"SELECT station_id, obs_date, tmax_f FROM read_parquet({_lit(path)})").fetchall():
            _add_high(ds, icao_city(icao), day, value)
    if path := _file(ds.root, "weather/isd_daily_max_kmia_kord_ksea.csv"):
        for icao, day, value in ds.con.execute(
                f"SELECT station, date_lst, tmax_f FROM read_csv_auto({_lit(path)})").fetchall():
            _add_high(ds, icao_city(icao), day, value)
            if value is not None and not math.isnan(float(value)):
                ds.station_highs.setdefault(str(icao), {})[day] = float(round(float(value)))
    for path in sorted((ds.root / "weather").glob("ghcnd_tmax_*/*.csv")):
        for icao, day, value in ds.con.execute(
                f"SELECT icao_note, date, tmax_f_rounded FROM read_csv_auto({_lit(path)})").fetchall():
            _add_high(ds, icao_city(str(icao)), day, value)
    for path in sorted((ds.root / "weather").glob("daily_max_*wunderground/K*.csv")):
        city = icao_city(path.stem)
        for day, value in ds.con.execute(
                f"SELECT strptime(date, '%Y-%m-%d')::DATE, actual_max_temp FROM "
                f"read_csv_auto({_lit(path)}, types={{'date': 'VARCHAR'}})").fetchall():
            _add_high(ds, city, day, value)


def _load_hourly(ds: Dataset, registry: CityRegistry) -> None:
    """Each ISD reading as the value it adds to its LST day's observed maximum, by the live rule.

    The rule is `daemon.weather.observations.day_values`, on the Observation the recorded feed
    builds from the same row (`daemon.weather.recorded.isd_observation`): the T-group (0.1 °C)
    where present, else the reported whole °C as the value − 0.5 °C it proves, and a 6-hour maximum
    group only when its whole window lies inside the climate day. So the fit learns from exactly
    the observed maxima the daemon will see.
    """
    path = _file(ds.root, "weather/isd_hourly_kmia_kord_ksea.parquet")
    if path is None:
        return
    described = ds.con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(path)})").fetchall()
    cols = {r[0] for r in described}
    extra = ", ".join(c if c in cols else f"NULL AS {c}" for c in ("tmp_qc", "metar"))
    rows = ds.con.execute(
        f"SELECT station, CAST(time_utc AS TIMESTAMP) AS t, tmp_c, {extra} "
        f"FROM read_parquet({_lit(path)}) WHERE time_utc IS NOT NULL ORDER BY station, t"
    ).fetchall()
    by_station: dict[str, list[tuple]] = defaultdict(list)
    for station, *rest in rows:
        by_station[str(station)].append(tuple(rest))
    for station, readings in by_station.items():
        city = registry.by_icao(station)
        # Non-settlement stations (`@ICAO`) still teach the nowcast its shape.
        key = city.code if city else f"@{station}"
        offset_city = city or registry.get({"KORD": "CHI"}.get(station, "NYC"))
        times, temps = reading_values(readings, offset_city.lst_offset_hours)
        if len(times):
            ds.hourly[key] = (times, temps)


def reading_values(readings: list[tuple], lst_offset_hours: int) -> tuple[np.ndarray, np.ndarray]:
    """(epoch seconds, °F) per usable reading (time_utc, tmp_c, tmp_qc, metar), in time order: the
    most the reading adds to the maximum of its own LST day (readings adding nothing left out)."""
    times, temps = [], []
    offset = timedelta(hours=lst_offset_hours)
    for time_utc, tmp_c, tmp_qc, metar in readings:
        stamp = time_utc if time_utc.tzinfo else time_utc.replace(tzinfo=UTC)
        obs = isd_observation(stamp, tmp_c, tmp_qc, metar)
        if obs is None or obs.temperature_c is None:   # no temperature (QC, missing): not a reading
            continue
        start, end = lst_day_bounds((stamp + offset).date(), lst_offset_hours)
        values = day_values(obs, start, end)
        if values:
            times.append(stamp.timestamp())
            temps.append(max(v for v, _ in values))
    return np.asarray(times, dtype=float), np.asarray(temps, dtype=float)
