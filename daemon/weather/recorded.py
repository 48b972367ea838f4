"""A weather feed over a recorded data directory (the layout of shared/data), strictly
point-in-time.

`RecordedWeatherFeed.poll(city, climate_day, now)` answers what a live feed could have told the
daemon at `now`, from two recorded sources (each optional: a missing file means those cities simply
have no data):

- forecasts, `weather/ndfd_*_maxt_vintages.parquet`: NDFD MaxT per station and target day, one row
  per issue. Rows flagged `valid_period_misaligned` carry the previous day's MaxT and are dropped.
  An issue becomes visible at `issued_at + forecast_lag` (default 30 min: the archive's issued_at is
  already the grid's publication minute, ~:46-:50 after the cycle hour; the lag covers
  distribution).
- observations, `weather/isd_hourly_*.parquet`: ISD hourly METARs. Only a station that IS a city's
  settlement station counts (registry ICAO; KORD is O'Hare, never Chicago's Midway). Temperatures
  come from the METAR T-group (0.1 °C) where present, else ISD's reported value (whole °C for most
  SPECIs: counted as the value − 0.5 °C it proves), plus the 6-hour maximum groups; the parsers and
  the climate-day rule are the live ones (daemon/weather/observations). ISD has no receipt times: each report is visible at
  observation time + `observation_lag` (default 15 min: a routine METAR is transmitted within ~2-5
  min of its :5x observation time and api.weather.gov usually shows it 5-15 min later; the longer
  outages that feed sometimes has are not modelled — they show up live as stale data, which
  freshness handles).

Loading precomputes, per (city, day), arrays sorted by availability with running maxima, so a poll
is two bisects. Never reads the wall clock: `now` is the simulated instant, and received_at is
`now`.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from daemon.cities import City, CityRegistry, default_registry
from daemon.clock import ensure_utc
from daemon.weather.errors import WeatherParseError
from daemon.weather.observations import Observation, day_values, decode_six_hour_max, decode_t_group
from daemon.weather.snapshots import WeatherSnapshot
from daemon.weather.units import checked_celsius

SOURCE = "recorded"
FORECAST_LAG = timedelta(minutes=30)
OBSERVATION_LAG = timedelta(minutes=15)
# ISD quality codes: suspect / erroneous (the model fit reads ISD through isd_observation too).
BAD_ISD_QC = frozenset({"2", "3", "6", "7"})
ISD_MISSING_C = 99.0  # ISD writes 999.9 for a missing temperature


@dataclass
class _Forecasts:
    """One (city, target day): issues sorted by availability."""

    available: list[float] = field(default_factory=list)  # epoch seconds
    rows: list[tuple[datetime, datetime, float, float]] = field(
        default_factory=list
    )  # issued, valid, maxt_f, lead_h


@dataclass
class _Observed:
    """One (city, climate day): prefix summaries of the readings, sorted by availability."""

    available: list[float] = field(default_factory=list)
    max_f: list[float | None] = field(default_factory=list)  # running max, every usable value
    precise_max_f: list[float | None] = field(
        default_factory=list
    )  # running max of 0.1 °C values only
    until: list[datetime | None] = field(default_factory=list)  # newest observation time counted
    count: list[int] = field(default_factory=list)
    precise_count: list[int] = field(default_factory=list)


def _lit(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    raise WeatherParseError(f"not a timestamp: {value!r}")


class RecordedWeatherFeed:
    source = SOURCE

    def __init__(
        self,
        data_dir: Path | str,
        registry: CityRegistry | None = None,
        *,
        forecast_lag: timedelta = FORECAST_LAG,
        observation_lag: timedelta = OBSERVATION_LAG,
    ) -> None:
        self.root = Path(data_dir)
        if not self.root.is_dir():
            raise FileNotFoundError(f"data directory {self.root} does not exist")
        if forecast_lag < timedelta(0) or observation_lag < timedelta(0):
            raise ValueError("availability lags cannot be negative")
        self.registry = registry or default_registry()
        self.forecast_lag = forecast_lag
        self.observation_lag = observation_lag
        self.blackout: set[str] = set()  # city codes whose feed is silenced (fault drills)
        self.notes: list[str] = []
        self._forecasts: dict[tuple[str, date], _Forecasts] = {}
        self._observed: dict[tuple[str, date], _Observed] = {}
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone='UTC'")
            self._load_forecasts(con)
            self._load_observations(con)
        finally:
            con.close()

    # -- loading ------------------------------------------------------------------------------------------
    def _city(self, station: str | None) -> City | None:
        return self.registry.by_icao(station) if station and len(station) == 4 else None

    def _load_forecasts(self, con: duckdb.DuckDBPyConnection) -> None:
        paths = sorted((self.root / "weather").glob("ndfd_*_maxt_vintages.parquet"))
        if not paths:
            self.notes.append("no weather/ndfd_*_maxt_vintages.parquet: no recorded forecasts")
        dropped = 0
        staged: dict[tuple[str, date], list[tuple[float, datetime, datetime, float, float]]] = {}
        for path in paths:
            rows = con.execute(
                "SELECT station, target_day, issued_at, valid_at, maxt_f, lead_hours,"
                " coalesce(valid_period_misaligned, false)"
                f" FROM read_parquet({_lit(path)}) WHERE maxt_f IS NOT NULL AND issued_at IS NOT NULL"
            ).fetchall()
            for station, day, issued, valid, maxt_f, lead, misaligned in rows:
                city = self._city(station)
                if misaligned or city is None:
                    dropped += bool(misaligned)
                    continue
                issued = _utc(issued)
                available = (issued + self.forecast_lag).timestamp()
                staged.setdefault((city.code, day), []).append(
                    (available, issued, _utc(valid), float(maxt_f), float(lead))
                )
        for key, items in staged.items():
            items.sort(key=lambda r: (r[0], r[1]))
            self._forecasts[key] = _Forecasts([r[0] for r in items], [r[1:] for r in items])
        if dropped:
            self.notes.append(
                f"{dropped} NDFD rows dropped: valid_period_misaligned (previous day's MaxT)"
            )

    def _load_observations(self, con: duckdb.DuckDBPyConnection) -> None:
        paths = sorted((self.root / "weather").glob("isd_hourly_*.parquet"))
        if not paths:
            self.notes.append("no weather/isd_hourly_*.parquet: no recorded observations")
        staged: dict[
            tuple[str, date], list[tuple[float, datetime | None, list[tuple[float, bool]]]]
        ] = {}
        ignored: set[str] = set()
        for path in paths:
            rows = con.execute(
                f"SELECT station, time_utc, tmp_c, tmp_qc, metar FROM read_parquet({_lit(path)})"
                " ORDER BY station, time_utc"
            ).fetchall()
            for station, time_utc, tmp_c, tmp_qc, metar in rows:
                city = self._city(station)
                if city is None:
                    ignored.add(str(station))  # not a settlement station (e.g. KORD): never used
                    continue
                obs = isd_observation(_utc(time_utc), tmp_c, tmp_qc, metar)
                if obs is None:
                    continue
                day = city.climate_day(obs.timestamp)
                start, end = city.climate_day_bounds(day)
                values = day_values(obs, start, end)
                if values:
                    available = (obs.timestamp + self.observation_lag).timestamp()
                    counted_at = (
                        obs.timestamp if obs.temperature_c is not None else None
                    )  # as observed_max
                    staged.setdefault((city.code, day), []).append((available, counted_at, values))
        if ignored:
            self.notes.append(
                f"observations ignored (not a settlement station): {', '.join(sorted(ignored))}"
            )
        for key, items in staged.items():
            items.sort(key=lambda r: r[0])
            self._observed[key] = _prefix(items)

    # -- polling ------------------------------------------------------------------------------------------
    def covers(self, city_code: str) -> dict[str, bool]:
        """Which kinds of recorded data exist for a city (any day)."""
        return {
            "forecast": any(k[0] == city_code for k in self._forecasts),
            "observations": any(k[0] == city_code for k in self._observed),
        }

    def observation_times(self, city_code: str, climate_day: date) -> list[datetime]:
        """The instants at which the day's observed summary can change (each report's availability)."""
        ob = self._observed.get((city_code, climate_day))
        return [datetime.fromtimestamp(a, UTC) for a in ob.available] if ob else []

    def forecast_times(self, city_code: str, climate_day: date) -> list[datetime]:
        """The instants at which a new forecast issue for the day becomes visible."""
        fc = self._forecasts.get((city_code, climate_day))
        return [datetime.fromtimestamp(a, UTC) for a in fc.available] if fc else []

    def poll(self, city: City, climate_day: date, now: datetime) -> WeatherSnapshot | None:
        now = ensure_utc(now)
        if city.code in self.blackout:
            return None
        t = now.timestamp()
        payload: dict[str, Any] = {
            "errors": [],
            "climate_day": climate_day.isoformat(),
            "data": "recorded",
        }
        high = issued = valid = None
        fc = self._forecasts.get((city.code, climate_day))
        i = bisect.bisect_right(fc.available, t) if fc else 0
        if fc and i:
            issued, valid, high, lead = fc.rows[i - 1]
            payload["forecast"] = {
                "product": "ndfd_maxt",
                "issued_at": issued.isoformat(),
                "valid_at": valid.isoformat(),
                "lead_hours": lead,
                "maxt_f": high,
                "lag_minutes": self.forecast_lag.total_seconds() / 60,
                "issues_seen": i,
            }
        obs_max = obs_until = None
        ob = self._observed.get((city.code, climate_day))
        j = bisect.bisect_right(ob.available, t) if ob else 0
        if ob and j:
            obs_max, obs_until = ob.max_f[j - 1], ob.until[j - 1]
            payload["observations"] = {
                "station": city.icao,
                "count": ob.count[j - 1],
                "precise_count": ob.precise_count[j - 1],
                "precise_max_f": ob.precise_max_f[j - 1],
                "lag_minutes": self.observation_lag.total_seconds() / 60,
            }
        if high is None and obs_max is None:
            return None
        return WeatherSnapshot(
            city_code=city.code,
            climate_day=climate_day,
            source=SOURCE,
            issued_at=issued,
            valid_at=valid or obs_until,
            received_at=now,
            forecast_high_f=high,
            hourly_max_f=None,
            observed_max_f=obs_max,
            observed_until=obs_until,
            payload=payload,
        )


def isd_observation(
    timestamp: datetime, tmp_c: Any, tmp_qc: Any, metar: Any
) -> Observation | None:
    """One ISD row as the live Observation: T-group first, else ISD's value (imprecise); QC-refused → None."""
    raw = metar if isinstance(metar, str) and metar.strip() else None
    if tmp_qc is not None and str(tmp_qc).strip() in BAD_ISD_QC:
        return None
    try:
        t_group = decode_t_group(raw)
        six = decode_six_hour_max(raw)
        six = None if six is None else checked_celsius(six)
        if t_group is not None:
            return Observation(
                timestamp, "metar", checked_celsius(t_group), True, None, six, None, raw
            )
        value = None
        if (
            tmp_c is not None
            and not (isinstance(tmp_c, float) and math.isnan(tmp_c))
            and tmp_c < ISD_MISSING_C
        ):
            value = checked_celsius(float(tmp_c))
    except WeatherParseError:
        return None  # an absurd value in the record: skipped, as the live parser skips it
    if value is None and six is None:
        return None
    return Observation(timestamp, "metar", value, False, None, six, None, raw)


def _prefix(items: list[tuple[float, datetime | None, list[tuple[float, bool]]]]) -> _Observed:
    out = _Observed()
    best = precise = None
    until = None
    count = precise_count = 0
    for available, timestamp, values in items:
        for value, is_precise in values:
            best = value if best is None else max(best, value)
            count += 1
            if is_precise:
                precise = value if precise is None else max(precise, value)
                precise_count += 1
        if timestamp is not None:
            until = timestamp if until is None else max(until, timestamp)
        out.available.append(available)
        out.max_f.append(None if best is None else round(best, 2))
        out.precise_max_f.append(None if precise is None else round(precise, 2))
        out.until.append(until)
        out.count.append(count)
        out.precise_count.append(precise_count)
    return out
