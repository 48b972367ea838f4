"""api.weather.gov client: conditional GETs, typed RFC 7807 errors, runtime gridpoint resolution.

- Sends a User-Agent naming the app and a contact (403 without one) and an explicit Accept (a 2025 CDN
  regression served stale documents to clients without one).
- Caches every GET by URL with its Last-Modified; the next request sends If-Modified-Since and a 304
  returns the cached document. Never cache-busts with query parameters (unknown ones are a 400).
- Gridpoints are resolved from the station's lat/lon (/points, 4 decimals), kept with the time they were
  resolved, re-resolved after `gridpoint_ttl` or on a 404 (grid redefinition / marine cell); a change
  is logged as a warning and recorded in `grid_changes`.
- Forecasts are checked for staleness (updateTime age, first period contains now) before they are
  returned: a stale answer raises StaleForecastError, never a guess.
Never reads the wall clock: time comes from the injected clock.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Self

import httpx

from daemon.cities import City
from daemon.clock import Clock, ensure_utc
from daemon.weather.errors import (
    GridExpiredError,
    GridNotFoundError,
    NwsProblem,
    NwsTransportError,
    RateLimitedError,
    WeatherParseError,
)
from daemon.weather.forecast import Forecast, check_current, parse_forecast
from daemon.weather.observations import Observation, parse_observations

log = logging.getLogger(__name__)

ACCEPT = "application/geo+json"
MAX_OBSERVATION_PAGES = 5
MAX_CACHED_DOCUMENTS = 128


@dataclass(frozen=True)
class Gridpoint:
    office: str
    x: int
    y: int
    resolved_at: datetime

    @property
    def path(self) -> str:
        return f"/gridpoints/{self.office}/{self.x},{self.y}"

    def same_cell(self, other: Gridpoint) -> bool:
        return (self.office, self.x, self.y) == (other.office, other.x, other.y)


@dataclass(frozen=True)
class NwsResponse:
    url: str
    payload: Any
    received_at: datetime
    last_modified: datetime | None
    not_modified: bool          # True when a 304 answered and `payload` is the cached copy


def format_point(lat: float, lon: float) -> str:
    """`lat,lon` with at most 4 decimals and no trailing zeros (more precision triggers a redirect)."""

    def fmt(value: float) -> str:
        text = f"{round(value, 4):.4f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text

    return f"{fmt(lat)},{fmt(lon)}"


def problem_from_response(response: httpx.Response) -> NwsProblem:
    """An RFC 7807 problem+json body (or any other error body) → the matching typed NwsProblem."""
    body: dict[str, Any] = {}
    try:
        parsed = response.json()
        if isinstance(parsed, dict):
            body = parsed
    except (ValueError, UnicodeDecodeError):
        pass
    status = int(body.get("status") or response.status_code)
    title = str(body.get("title") or response.reason_phrase or "error")
    type_ = str(body.get("type") or "")
    kwargs = dict(
        detail=str(body.get("detail") or ""),
        type_=type_,
        instance=str(body.get("instance") or ""),
        correlation_id=str(body.get("correlationId") or response.headers.get("x-correlation-id", "")),
        url=str(response.request.url),
    )
    marker = f"{type_} {title}".lower().replace(" ", "")
    if response.status_code == 503 and "gridexpired" in marker:
        return GridExpiredError(status, title, **kwargs)
    if response.status_code == 404 and "/gridpoints/" in kwargs["url"]:
        return GridNotFoundError(status, title, **kwargs)
    if response.status_code == 429 or "ratelimit" in marker:
        return RateLimitedError(status, title, **kwargs)
    return NwsProblem(status, title, **kwargs)


class NwsClient:
    def __init__(
        self,
        clock: Clock,
        user_agent: str,
        base_url: str = "https://api.weather.gov",
        *,
        transport: httpx.BaseTransport | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        max_forecast_age: timedelta = timedelta(hours=12),
        gridpoint_ttl: timedelta = timedelta(hours=24),
        retry_delays: tuple[float, ...] = (2.0, 6.0),
    ) -> None:
        if not user_agent or not user_agent.strip():
            raise ValueError("api.weather.gov requires a User-Agent (app name and contact)")
        self.clock = clock
        self.max_forecast_age = max_forecast_age
        self.gridpoint_ttl = gridpoint_ttl
        self.retry_delays = retry_delays
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"User-Agent": user_agent, "Accept": ACCEPT},
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            transport=transport,
            follow_redirects=True,
        )
        self._cache: dict[str, tuple[datetime, Any]] = {}
        self._grids: dict[str, Gridpoint] = {}
        self.grid_changes: list[tuple[str, Gridpoint, Gridpoint]] = []

    @classmethod
    def from_config(cls, config: Any, clock: Clock, transport: httpx.BaseTransport | None = None) -> NwsClient:
        return cls(
            clock,
            config.user_agent,
            config.nws_base_url,
            transport=transport,
            connect_timeout=config.connect_timeout_seconds,
            read_timeout=config.read_timeout_seconds,
            max_forecast_age=timedelta(minutes=config.max_forecast_age_minutes),
            gridpoint_ttl=timedelta(hours=config.gridpoint_ttl_hours),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ----------------------------------------------------------------------------------
    def get(self, path: str, params: dict[str, Any] | None = None) -> NwsResponse:
        """`get_once`, retried with backoff (on the injected clock) after transient failures.

        Transport errors, 429 and 5xx are retried; an expired grid is not (it lasts hours), nor any 4xx.
        """
        for delay in (*self.retry_delays, None):
            try:
                return self.get_once(path, params)
            except (NwsTransportError, NwsProblem) as exc:
                transient = isinstance(exc, NwsTransportError) or (
                    exc.retryable and not isinstance(exc, GridExpiredError)
                )
                if delay is None or not transient:
                    raise
                log.info("nws GET %s failed (%s); retrying in %.0fs", path, exc, delay)
                self.clock.sleep(delay)
        raise AssertionError("unreachable")

    def get_once(self, path: str, params: dict[str, Any] | None = None) -> NwsResponse:
        """GET with If-Modified-Since from the cache; 304 → the cached document."""
        url = str(self._http.build_request("GET", path, params=params).url)
        cached = self._cache.get(url)
        headers = {"If-Modified-Since": format_datetime(cached[0], usegmt=True)} if cached else {}
        try:
            response = self._http.get(path, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise NwsTransportError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
        received_at = self.clock.now()
        if response.status_code == 304 and cached:
            return NwsResponse(url, cached[1], received_at, cached[0], not_modified=True)
        if response.status_code >= 400 or response.status_code == 304:
            problem = problem_from_response(response)
            log.warning("nws error %s %s correlationId=%s", problem.status, url, problem.correlation_id)
            raise problem
        try:
            payload = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise WeatherParseError(f"GET {url}: body is not JSON ({exc})") from None
        if not isinstance(payload, dict):
            raise WeatherParseError(f"GET {url}: expected a JSON object, got {type(payload).__name__}")
        last_modified = _last_modified(response)
        if last_modified is not None:
            self._cache.pop(url, None)
            self._cache[url] = (last_modified, payload)
            while len(self._cache) > MAX_CACHED_DOCUMENTS:  # observation URLs change every poll
                self._cache.pop(next(iter(self._cache)))
        return NwsResponse(url, payload, received_at, last_modified, not_modified=False)

    # -- gridpoints ---------------------------------------------------------------------------------
    def gridpoint(self, city: City, *, force: bool = False) -> Gridpoint:
        """The city's station grid cell, resolved at run time and re-resolved after the TTL."""
        now = self.clock.now()
        known = self._grids.get(city.code)
        if known and not force and now - known.resolved_at < self.gridpoint_ttl:
            return known
        props = self.get(f"/points/{format_point(city.lat, city.lon)}").payload.get("properties") or {}
        try:
            grid = Gridpoint(str(props["gridId"]), int(props["gridX"]), int(props["gridY"]), now)
        except (KeyError, TypeError, ValueError):
            raise WeatherParseError(f"/points for {city.code} has no gridId/gridX/gridY") from None
        if known and not known.same_cell(grid):
            log.warning("gridpoint for %s moved %s -> %s", city.code, known.path, grid.path)
            self.grid_changes.append((city.code, known, grid))
        self._grids[city.code] = grid
        return grid

    def known_gridpoint(self, city_code: str) -> Gridpoint | None:
        """The gridpoint last resolved for a city, without any request."""
        return self._grids.get(city_code)

    def _grid_get(self, city: City, suffix: str) -> NwsResponse:
        """GET under the city's gridpoint; a 404 or expired grid re-resolves /points once.

        After a 404 the request is retried (on the new cell if it moved); an expired grid is retried only
        if the cell moved — otherwise the office's grids really are stale and the error stands.
        """
        grid = self.gridpoint(city)
        try:
            return self.get(grid.path + suffix)
        except (GridNotFoundError, GridExpiredError) as exc:
            fresh = self.gridpoint(city, force=True)
            if isinstance(exc, GridExpiredError) and fresh.same_cell(grid):
                raise
            return self.get(fresh.path + suffix)

    # -- documents ----------------------------------------------------------------------------------
    def forecast(self, city: City) -> tuple[Forecast, NwsResponse]:
        """12-hour periods, verified current."""
        return self._checked_forecast(city, "/forecast")

    def hourly_forecast(self, city: City) -> tuple[Forecast, NwsResponse]:
        return self._checked_forecast(city, "/forecast/hourly")

    def _checked_forecast(self, city: City, suffix: str) -> tuple[Forecast, NwsResponse]:
        response = self._grid_get(city, suffix)
        forecast = parse_forecast(response.payload)
        check_current(forecast, self.clock.now(), self.max_forecast_age)
        return forecast, response

    def grid_data(self, city: City) -> NwsResponse:
        """The raw gridpoint layers (maxTemperature, temperature, …)."""
        return self._grid_get(city, "")

    def observations(self, city: City, start: datetime, end: datetime) -> tuple[list[Observation], list[str], list[Any]]:
        """Observations at the settlement station (hard-coded ICAO, never discovered) in [start, end].

        Returns (observations oldest first, skip reasons, raw pages).
        """
        params: dict[str, Any] | None = {
            "start": ensure_utc(start).isoformat(timespec="seconds"),
            "end": ensure_utc(end).isoformat(timespec="seconds"),
            "limit": 500,
        }
        path = f"/stations/{city.icao}/observations"
        features: list[Any] = []
        pages: list[Any] = []
        for _ in range(MAX_OBSERVATION_PAGES):
            payload = self.get(path, params).payload
            pages.append(payload)
            batch = payload.get("features") or []
            features.extend(batch)
            next_url = (payload.get("pagination") or {}).get("next")
            if not batch or not next_url:
                break
            path, params = _relative(next_url), None
        observations, skipped = parse_observations({"features": features})
        return observations, skipped, pages

    def cli_products(self, location: str) -> list[dict[str, Any]]:
        """Daily Climate Report issuances for a 3-letter climate site (NYC, MDW, …), newest first."""
        payload = self.get(f"/products/types/CLI/locations/{location}").payload
        graph = payload.get("@graph")
        if not isinstance(graph, list):
            raise WeatherParseError(f"CLI product list for {location} has no @graph")
        return graph

    def product_text(self, product_id: str) -> str:
        text = self.get(f"/products/{product_id}").payload.get("productText")
        if not isinstance(text, str):
            raise WeatherParseError(f"product {product_id} has no productText")
        return text


def _last_modified(response: httpx.Response) -> datetime | None:
    value = response.headers.get("Last-Modified")
    if not value:
        return None
    try:
        return ensure_utc(parsedate_to_datetime(value))
    except (TypeError, ValueError):
        return None


def _relative(url: str) -> str:
    """A pagination link (absolute, on api.weather.gov) as a path+query under our own base URL."""
    return httpx.URL(url).raw_path.decode()
