"""The world's true weather, shared by the exchange simulator (settlement) and the NWS wire simulator.

`TruthSource` answers, for a city and climate day (LST): the settled high (whole °F, what the market
resolves on), the maximum observed up to an instant (no look-ahead), and a forecast of the high as
issued before an instant with its error sigma. `SyntheticTruth` is a deterministic seeded climate with a
diurnal curve; `RecordedTruth` replays real settled highs from the shared-data layout.
"""

from __future__ import annotations

import csv
import hashlib
import math
import random
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from daemon.cities import City, CityRegistry, default_registry
from daemon.clock import ensure_utc

_HOUR = timedelta(hours=1)
_MAX_LEAD_DAYS = 7
_FORECAST_CYCLE_HOURS = 6          # forecasts change only at issuance cycles (00/06/12/18Z)
_OBS_STEP_MINUTES = 5              # observation cadence of the synthetic station

# Approximate annual mean and half-range of the daily high (°F) per city; unknown cities get a default.
_CLIMATE: dict[str, tuple[float, float]] = {
    "NYC": (62.0, 21.0), "CHI": (59.0, 25.0), "LAX": (71.0, 5.0), "MIA": (84.0, 6.0),
    "AUS": (80.0, 16.0), "DEN": (64.0, 22.0), "PHL": (64.0, 21.0), "BOS": (59.0, 21.0),
    "SEA": (60.0, 15.0), "SFO": (66.0, 5.0),
}
_DEFAULT_CLIMATE = (65.0, 15.0)


class TruthError(ValueError):
    """Unknown city or unreadable truth data."""


@runtime_checkable
class TruthSource(Protocol):
    def settled_high(self, city_code: str, day: date) -> int | None:
        """The official whole-°F high for the LST climate day, or None if not (yet) known."""

    def observed_max_until(self, city_code: str, day: date, instant: datetime) -> float | None:
        """Maximum observed temperature within the day up to `instant` (None before the day starts)."""

    def forecast_high(self, city_code: str, day: date, issued_before: datetime) -> float | None:
        """The newest forecast of the day's high issued strictly before `issued_before`."""

    def forecast_sigma(self, city_code: str, day: date, issued_before: datetime) -> float | None:
        """Standard deviation (°F) of that forecast's error."""

    def climatology(self, city_code: str, day: date) -> tuple[float, float]:
        """(normal high, standard deviation of the daily high) for the calendar day."""


def _unit_rng(*parts: object) -> random.Random:
    """A generator seeded from a stable hash of `parts` (Python's hash() is salted per process)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _forecast_sigma_for_lead(lead_hours: float) -> float:
    # ~1.8 °F at the day's end growing to ~5 °F a week out (order of NWS day-1..7 high errors).
    return 1.8 + 0.45 * max(0.0, lead_hours) / 24.0


def _issuance(issued_before: datetime) -> datetime:
    """The latest forecast cycle strictly before `issued_before`."""
    instant = ensure_utc(issued_before) - timedelta(microseconds=1)
    cycle_hour = instant.hour - instant.hour % _FORECAST_CYCLE_HOURS
    return instant.replace(hour=cycle_hour, minute=0, second=0, microsecond=0)


def _diurnal_shape(lst_hour: float) -> float:
    """0 at 06:00 LST (minimum) rising to 1 at 15:00 LST (maximum), falling overnight."""
    if 6.0 <= lst_hour <= 15.0:
        return 0.5 - 0.5 * math.cos(math.pi * (lst_hour - 6.0) / 9.0)
    since_peak = (lst_hour - 15.0) % 24.0          # 0..15 hours of cooling
    return 0.5 + 0.5 * math.cos(math.pi * since_peak / 15.0)


class SyntheticTruth:
    """A deterministic seeded climate: the same (seed, city, day) always gives the same weather."""

    def __init__(self, seed: int = 0, registry: CityRegistry | None = None) -> None:
        self.seed = seed
        self._registry = registry or default_registry()

    def __repr__(self) -> str:
        return f"SyntheticTruth(seed={self.seed})"

    def _city(self, city_code: str) -> City:
        try:
            return self._registry.get(city_code)
        except KeyError:
            raise TruthError(f"unknown city {city_code!r}") from None

    def climatology(self, city_code: str, day: date) -> tuple[float, float]:
        self._city(city_code)
        mean, amplitude = _CLIMATE.get(city_code, _DEFAULT_CLIMATE)
        phase = 2 * math.pi * (day.timetuple().tm_yday - 200) / 365.25      # warmest around Jul 19
        normal = mean + amplitude * math.cos(phase)
        spread = 4.0 + 0.12 * amplitude * (1 - math.cos(phase)) / 2 * 2      # winters are more variable
        return normal, spread

    def true_high(self, city_code: str, day: date) -> float:
        """The exact (unrounded) maximum of the day."""
        normal, spread = self.climatology(city_code, day)
        return normal + _unit_rng(self.seed, "high", city_code, day).gauss(0.0, spread)

    def true_low(self, city_code: str, day: date) -> float:
        rng = _unit_rng(self.seed, "range", city_code, day)
        return self.true_high(city_code, day) - rng.uniform(8.0, 22.0)

    def settled_high(self, city_code: str, day: date) -> int | None:
        return math.floor(self.true_high(city_code, day) + 0.5)

    def temperature_at(self, city_code: str, instant: datetime) -> float:
        city = self._city(city_code)
        local = ensure_utc(instant).astimezone(city.lst)
        high, low = self.true_high(city_code, local.date()), self.true_low(city_code, local.date())
        hour = local.hour + local.minute / 60 + local.second / 3600
        return low + (high - low) * _diurnal_shape(hour)

    def observed_max_until(self, city_code: str, day: date, instant: datetime) -> float | None:
        city = self._city(city_code)
        start, end = city.climate_day_bounds(day)
        until = min(ensure_utc(instant), end - timedelta(microseconds=1))
        if until < start:
            return None
        peak = start + timedelta(hours=15)                   # the curve's maximum, 15:00 LST
        if until >= peak:
            return round(self.true_high(city_code, day), 1)
        step = timedelta(minutes=_OBS_STEP_MINUTES)
        samples = int((until - start) / step)
        latest = start + step * samples
        # The curve rises monotonically from 06:00 to 15:00; before 06:00 the midnight reading is the max.
        candidates = [self.temperature_at(city_code, start), self.temperature_at(city_code, latest)]
        return round(max(candidates), 1)

    def forecast_sigma(self, city_code: str, day: date, issued_before: datetime) -> float | None:
        city = self._city(city_code)
        issued = _issuance(issued_before)
        lead_hours = (city.climate_day_bounds(day)[1] - issued) / _HOUR
        if lead_hours > _MAX_LEAD_DAYS * 24 or lead_hours < 0:
            return None
        return _forecast_sigma_for_lead(lead_hours)

    def forecast_high(self, city_code: str, day: date, issued_before: datetime) -> float | None:
        sigma = self.forecast_sigma(city_code, day, issued_before)
        if sigma is None:
            return None
        issued = _issuance(issued_before)
        error = _unit_rng(self.seed, "forecast", city_code, day, issued.isoformat()).gauss(0.0, sigma)
        return round(self.true_high(city_code, day) + error, 1)


class RecordedTruth:
    """Real settled highs from a shared-data directory (`kalshi/kxhigh_settlements.csv`, GHCN, ISD).

    Settled high: Kalshi's settled value when recorded, else the GHCN TMAX rounded, else the ISD daily
    max. Observations: not recorded intraday for most stations, so `observed_max_until` reveals the high
    only once the climate day is over (never early: no look-ahead). Forecasts: no point-in-time archive
    exists, so a seeded error of realistic size is added to the recorded high (labelled synthetic).
    """

    def __init__(self, data_dir: Path, registry: CityRegistry | None = None, seed: int = 0) -> None:
        self._dir = Path(data_dir)
        self._registry = registry or default_registry()
        self.seed = seed
        self._highs: dict[tuple[str, date], int] = {}
        self._synthetic = SyntheticTruth(seed, self._registry)
        self._load()

    def __repr__(self) -> str:
        return f"RecordedTruth({str(self._dir)!r}, days={len(self._highs)})"

    def _load(self) -> None:
        if not self._dir.is_dir():
            raise TruthError(f"data directory not found: {self._dir}")
        self._load_ghcnd()
        self._load_isd_daily()
        self._load_settlements()       # last: the exchange's own value wins

    def _load_settlements(self) -> None:
        path = self._dir / "kalshi" / "kxhigh_settlements.csv"
        if not path.is_file():
            return
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                city = self._registry.by_series(row.get("series_ticker", ""))
                value = row.get("settled_value") or ""
                if city is None or not value or row.get("expiration_value_is_text") == "true":
                    continue
                try:
                    self._highs[(city.code, date.fromisoformat(row["date"]))] = round(float(value))
                except ValueError:
                    continue

    def _load_isd_daily(self) -> None:
        path = self._dir / "weather" / "isd_daily_max_kmia_kord_ksea.csv"
        if not path.is_file():
            return
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                city = self._registry.by_icao(row.get("station", ""))
                if city is None or not row.get("tmax_f"):
                    continue
                try:
                    self._highs[(city.code, date.fromisoformat(row["date_lst"]))] = round(float(row["tmax_f"]))
                except ValueError:
                    continue

    def _load_ghcnd(self) -> None:
        path = self._dir / "weather" / "ghcnd_tmax_knyc_kmdw.parquet"
        if not path.is_file():
            return
        import duckdb  # optional heavy import only when recorded data is used

        rows = duckdb.sql(f"SELECT station_id, obs_date, tmax_f FROM read_parquet('{path}')").fetchall()
        for station, obs_date, tmax_f in rows:
            city = self._registry.by_icao(station)
            if city is None or tmax_f is None:
                continue
            self._highs[(city.code, date.fromisoformat(str(obs_date)[:10]))] = math.floor(tmax_f + 0.5)

    def days(self, city_code: str) -> list[date]:
        return sorted(day for code, day in self._highs if code == city_code)

    def climatology(self, city_code: str, day: date) -> tuple[float, float]:
        return self._synthetic.climatology(city_code, day)

    def settled_high(self, city_code: str, day: date) -> int | None:
        return self._highs.get((city_code, day))

    def observed_max_until(self, city_code: str, day: date, instant: datetime) -> float | None:
        end = self._registry.get(city_code).climate_day_bounds(day)[1]
        if ensure_utc(instant) < end:
            return None
        high = self.settled_high(city_code, day)
        return None if high is None else float(high)

    def forecast_sigma(self, city_code: str, day: date, issued_before: datetime) -> float | None:
        if self.settled_high(city_code, day) is None:
            return None
        return self._synthetic.forecast_sigma(city_code, day, issued_before)

    def forecast_high(self, city_code: str, day: date, issued_before: datetime) -> float | None:
        high = self.settled_high(city_code, day)
        sigma = self.forecast_sigma(city_code, day, issued_before)
        if high is None or sigma is None:
            return None
        issued = _issuance(issued_before)
        error = _unit_rng(self.seed, "recorded-forecast", city_code, day, issued.isoformat()).gauss(0.0, sigma)
        return round(high + error, 1)
