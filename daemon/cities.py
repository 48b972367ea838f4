"""The city registry: settlement stations as data, and climate-day (LST) arithmetic.

The registry ships in `daemon/data/cities.toml`; a deployment may replace it or add cities by config.
A climate day runs midnight to midnight local *standard* time all year: the offset is fixed per
city, never the civil (DST-observing) zone.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from daemon.clock import ensure_utc

Cluster = Literal["NE", "SE", "Midwest", "Mountain", "West"]


class CityRegistryError(ValueError):
    """The registry file is missing, malformed or inconsistent."""


class City(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Z]{3,4}$")
    name: str
    series: tuple[str, ...] = Field(min_length=1)
    legacy_series: tuple[str, ...] = ()
    station_name: str
    icao: str = Field(pattern=r"^K[A-Z]{3}$")
    cli_code: str = Field(pattern=r"^CLI[A-Z]{3}$")
    nws_office: str
    ghcnd_id: str
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    tz: str
    lst_offset_hours: int = Field(ge=-12, le=14)
    cluster: Cluster

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises on an unknown zone
        return value

    @property
    def lst(self) -> timezone:
        """The fixed local-standard-time offset the climate day is defined in."""
        return timezone(timedelta(hours=self.lst_offset_hours), f"LST{self.lst_offset_hours:+d}")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def climate_day(self, instant: datetime) -> date:
        """The climate day (LST calendar date) that `instant` falls in."""
        return ensure_utc(instant).astimezone(self.lst).date()

    def climate_day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """[start, end) of climate day `day` in UTC: LST midnight to the next LST midnight."""
        return lst_day_bounds(day, self.lst_offset_hours)

    def __repr__(self) -> str:
        return f"City({self.code}, {self.icao}, {self.series[0]})"


def lst_day_bounds(day: date, lst_offset_hours: int) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the climate day `day` of a city whose standard time is UTC+lst_offset_hours."""
    lst = timezone(timedelta(hours=lst_offset_hours))
    start = datetime.combine(day, time(0), tzinfo=lst).astimezone(timezone.utc)
    return start, start + timedelta(days=1)


class CityRegistry:
    """An ordered, immutable collection of cities with lookups by code, series and station."""

    def __init__(self, cities: list[City]) -> None:
        self._by_code: dict[str, City] = {}
        for city in cities:
            if city.code in self._by_code:
                raise CityRegistryError(f"duplicate city code {city.code}")
            self._by_code[city.code] = city
        self._by_series = {s: c for c in cities for s in (*c.series, *c.legacy_series)}
        if len(self._by_series) != sum(len(c.series) + len(c.legacy_series) for c in cities):
            raise CityRegistryError("a series ticker is claimed by two cities")

    def __iter__(self) -> Iterator[City]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._by_code)

    def get(self, code: str) -> City:
        try:
            return self._by_code[code.upper()]
        except KeyError:
            raise KeyError(f"unknown city {code!r}; known: {', '.join(self._by_code)}") from None

    def by_series(self, series_ticker: str) -> City | None:
        return self._by_series.get(series_ticker.upper())

    def for_ticker(self, ticker: str) -> City | None:
        """The city whose series prefixes a market or event ticker (`KXHIGHNY-25JAN01-B40.5`)."""
        return self.by_series(ticker.split("-", 1)[0])

    def by_icao(self, icao: str) -> City | None:
        return next((c for c in self if c.icao == icao.upper()), None)


def _parse_file(text: str, source: str) -> list[City]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CityRegistryError(f"{source}: not valid TOML ({exc})") from None
    unknown = set(raw) - {"city"}
    if unknown:
        raise CityRegistryError(f"{source}: unknown top-level keys {sorted(unknown)}")
    cities = []
    for i, entry in enumerate(raw.get("city", [])):
        try:
            cities.append(City.model_validate(entry))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise CityRegistryError(f"{source}: city[{i}].{loc}: {err['msg']}") from None
    return cities


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CityRegistryError(f"city registry file {path} does not exist") from None


def load_registry(file: Path | None = None, extra_file: Path | None = None) -> CityRegistry:
    """The shipped registry, or `file` instead of it, plus the cities of `extra_file`."""
    if file is None:
        text = resources.files("daemon.data").joinpath("cities.toml").read_text(encoding="utf-8")
        cities = _parse_file(text, "daemon/data/cities.toml")
    else:
        cities = _parse_file(_read(file), str(file))
    if extra_file is not None:
        cities += _parse_file(_read(extra_file), str(extra_file))
    if not cities:
        raise CityRegistryError("the city registry is empty")
    return CityRegistry(cities)


_DEFAULT: CityRegistry | None = None


def default_registry() -> CityRegistry:
    """The shipped registry, loaded once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_registry()
    return _DEFAULT
