"""Replaying recorded days in the demo: which days and cities, the weather, and the packaged sample.

The demo replays a recorded data directory (the layout of shared/data; by default the small sample shipped in
`daemon/data/replay/`): the recorded trade tape is the background flow (through `daemon.backtest.server`), the
recorded results settle. Only cities whose series has recorded markets in the window are replayed; the other
configured cities are left out of the run (no synthetic flow is mixed into a replay: one exchange, one account,
one fill model) and the summary names them. Weather: the recorded feed (`RecordedWeatherFeed`, exactly the
backtest's); where the record has no forecast for a city-day (the sample ships only public-domain ISD
observations for Miami, no forecast archive) a seeded synthetic forecast around the recorded high is added,
labelled `synthetic_forecast` in the snapshot — `synthetic_forecasts=False` turns that off (the parity test does).
Never reads the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from daemon.cities import City, CityRegistry

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "replay"
SAMPLE_STATIONS = ("KMIA",)          # public-domain ISD hourly METARs shipped with the sample


class ReplayError(ValueError):
    """The recorded data cannot serve the asked window (no data, too few days, unreadable)."""


@dataclass(frozen=True)
class ReplayWindow:
    data_dir: Path
    first_day: date
    last_day: date
    days: tuple[date, ...]                  # recorded climate days in the window
    recorded_cities: tuple[str, ...]        # replayed from the tape
    left_out_cities: tuple[str, ...]        # configured, but the record has no markets for them

    @property
    def label(self) -> str:
        return "sample" if self.data_dir.resolve() == SAMPLE_DIR.resolve() else str(self.data_dir)


def recorded_days(data_dir: Path) -> list[date]:
    """Every climate day that has recorded markets in `data_dir` (sorted)."""
    import duckdb

    from daemon.backtest.tape import MARKETS_FILE

    path = Path(data_dir) / MARKETS_FILE
    if not path.is_file():
        raise ReplayError(f"no recorded markets: {path} not found")
    rows = duckdb.connect().execute("SELECT DISTINCT CAST(file_date AS DATE) FROM read_parquet(?) ORDER BY 1",
                                    [str(path)]).fetchall()
    return [r[0] for r in rows]


def plan_window(data_dir: Path, registry: CityRegistry, first_day: date | None, days: int) -> ReplayWindow:
    """`days` consecutive climate days from `first_day` (default: the first recorded day)."""
    available = recorded_days(data_dir)
    if not available:
        raise ReplayError(f"{data_dir} has no recorded days")
    start = first_day or available[0]
    last = start + timedelta(days=days - 1)
    inside = tuple(d for d in available if start <= d <= last)
    if len(inside) < days:
        raise ReplayError(f"{data_dir} records {len(inside)} of the {days} climate day(s) {start} … {last} "
                          f"(it has {available[0]} … {available[-1]}); ask for fewer days or another --replay-data")
    return ReplayWindow(Path(data_dir), start, last, inside, (), ())


def with_cities(window: ReplayWindow, tape: Any, registry: CityRegistry) -> ReplayWindow:
    series = set(tape.series)
    recorded = tuple(c.code for c in registry if any(s.upper() in series for s in c.series))
    left_out = tuple(c.code for c in registry if c.code not in recorded)
    return replace(window, recorded_cities=recorded, left_out_cities=left_out)


class ReplayWeatherFeed:
    """The recorded feed; a seeded synthetic forecast around the recorded high where no forecast is recorded."""

    source = "recorded"

    def __init__(self, data_dir: Path, registry: CityRegistry, *, synthetic_forecasts: bool = True,
                 seed: int = 0) -> None:
        from daemon.simulation.truth import RecordedTruth
        from daemon.weather.recorded import RecordedWeatherFeed

        self.recorded = RecordedWeatherFeed(data_dir, registry)
        self.truth = RecordedTruth(data_dir, registry, seed=seed) if synthetic_forecasts else None
        self.blackout: set[str] = set()

    def describe(self, cities: tuple[str, ...]) -> str:
        """One line for the demo summary: which cities had recorded observations / forecasts, which synthetic."""
        observed = [c for c in cities if self.recorded.covers(c)["observations"]]
        forecast = [c for c in cities if self.recorded.covers(c)["forecast"]]
        parts = [f"recorded observations {', '.join(observed) or 'none'}",
                 f"recorded forecasts {', '.join(forecast) or 'none'}"]
        synthetic = [c for c in cities if c not in forecast]
        if self.truth is not None and synthetic:
            parts.append(f"SYNTHETIC forecasts (seeded error around the recorded high: flatters weather-driven "
                         f"strategies) {', '.join(synthetic)}")
        return "; ".join(parts)

    def poll(self, city: City, climate_day: date, now: datetime) -> Any:
        if city.code in self.blackout:
            return None
        snapshot = self.recorded.poll(city, climate_day, now)
        if self.truth is None or (snapshot is not None and snapshot.forecast_high_f is not None):
            return snapshot
        high = self.truth.forecast_high(city.code, climate_day, now)
        sigma = self.truth.forecast_sigma(city.code, climate_day, now)
        if high is None:
            return snapshot
        from daemon.weather.snapshots import WeatherSnapshot

        note = {"synthetic_forecast": {"kind": "seeded error around the recorded high", "sigma_f": sigma}}
        if snapshot is None:
            start, _ = city.climate_day_bounds(climate_day)
            return WeatherSnapshot(
                city_code=city.code, climate_day=climate_day, source="recorded", issued_at=now, valid_at=start,
                received_at=now, forecast_high_f=high, hourly_max_f=None, observed_max_f=None,
                observed_until=None, payload={"data": "recorded", "errors": [], "forecast_sigma_f": sigma, **note})
        return replace(snapshot, forecast_high_f=high, issued_at=now,
                       payload={**snapshot.payload, "forecast_sigma_f": sigma, **note})


def write_sample(source: Path, target: Path, first_day: date, last_day: date,
                 stations: tuple[str, ...] = SAMPLE_STATIONS) -> dict[str, int]:
    """Copy the recorded markets, their trades, their settlements and the stations' ISD hourly METARs of
    [first_day, last_day] from `source` (shared/data layout) to `target` (same layout). Returns row counts."""
    import duckdb

    kalshi, weather = target / "kalshi", target / "weather"
    kalshi.mkdir(parents=True, exist_ok=True)
    weather.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    src = {n: str(source / "kalshi" / n) for n in ("kxhigh_markets.parquet", "kxhigh_trades.parquet",
                                                   "kxhigh_settlements.csv")}
    days = [first_day.isoformat(), last_day.isoformat()]
    con.execute("CREATE TABLE m AS SELECT * FROM read_parquet(?) "
                "WHERE CAST(file_date AS DATE) BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) ORDER BY ticker",
                [src["kxhigh_markets.parquet"], *days])
    con.execute("CREATE TABLE t AS SELECT * FROM read_parquet(?) WHERE ticker IN (SELECT ticker FROM m) "
                "ORDER BY ticker, created_time, trade_id", [src["kxhigh_trades.parquet"]])
    con.execute("CREATE TABLE s AS SELECT * FROM read_csv_auto(?, header=true, all_varchar=true) "
                "WHERE event_ticker IN (SELECT event_ticker FROM m) ORDER BY event_ticker",
                [src["kxhigh_settlements.csv"]])
    con.execute(f"COPY m TO '{kalshi / 'kxhigh_markets.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
    con.execute(f"COPY t TO '{kalshi / 'kxhigh_trades.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
    con.execute(f"COPY s TO '{kalshi / 'kxhigh_settlements.csv'}' (HEADER, DELIMITER ',')")
    counts = {name: int(con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) for name in ("m", "t", "s")}
    isd = sorted((source / "weather").glob("isd_hourly_*.parquet"))
    if isd and stations:
        # The METARs of the window (and the day before: a climate day starts before its UTC date for the west).
        window = [(first_day - timedelta(days=1)).isoformat(), (last_day + timedelta(days=2)).isoformat()]
        con.execute(f"CREATE TABLE w AS SELECT * FROM read_parquet(?) WHERE station IN "
                    f"({', '.join('?' * len(stations))}) AND time_utc >= CAST(? AS TIMESTAMP) "
                    "AND time_utc < CAST(? AS TIMESTAMP) ORDER BY station, time_utc",
                    [str(isd[0]), *stations, *window])
        name = "isd_hourly_" + "_".join(s.lower() for s in stations) + ".parquet"
        con.execute(f"COPY w TO '{weather / name}' (FORMAT parquet, COMPRESSION zstd)")
        counts["w"] = int(con.execute("SELECT count(*) FROM w").fetchone()[0])
    return counts
