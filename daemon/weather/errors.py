"""Weather ingestion exceptions, grouped by how the caller reacts.

    WeatherError
    ├── WeatherParseError          the payload is malformed: skip it with the reason, never guess
    │   └── ImplausibleValueError  NaN / absurd temperature
    └── NwsError                   anything the NWS API answered or failed to answer
        ├── NwsTransportError      connect/read failure: temporary, retry later
        ├── NwsProblem             an RFC 7807 problem+json (or bare) HTTP error; .status, .type, .correlation_id
        │   ├── GridExpiredError   503 ForecastGridExpired: the WFO's grids stopped flowing (can last hours)
        │   ├── GridNotFoundError  404 on a gridpoint (grid redefinition / marine cell): re-resolve /points
        │   └── RateLimitedError   429 / rate-limit problem: back off
        └── StaleForecastError     200 OK but old (CDN edge) or its first period does not contain now
"""

from __future__ import annotations


class WeatherError(RuntimeError):
    """Base of every weather-ingestion error."""


class WeatherParseError(WeatherError, ValueError):
    """A payload could not be parsed into trustworthy values."""


class ImplausibleValueError(WeatherParseError):
    """A temperature that is NaN, infinite or physically absurd."""


class NwsError(WeatherError):
    """Any failure talking to api.weather.gov."""


class NwsTransportError(NwsError):
    """The request never got an HTTP answer (DNS, connect, read timeout)."""


class NwsProblem(NwsError):
    """An HTTP error answer, parsed from its RFC 7807 body where there is one."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        type_: str = "",
        instance: str = "",
        correlation_id: str = "",
        url: str = "",
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.instance = instance
        self.correlation_id = correlation_id
        self.url = url
        cid = f" correlationId={correlation_id}" if correlation_id else ""
        super().__init__(f"NWS {status} {title}: {detail}{cid} ({url})")

    @property
    def retryable(self) -> bool:
        return self.status in (429, 500, 502, 503, 504)


class GridExpiredError(NwsProblem):
    """503 ForecastGridExpired: the office's grids are stale at the source."""


class GridNotFoundError(NwsProblem):
    """404 for a gridpoint: the grid was redefined (or the cell became marine-only)."""


class RateLimitedError(NwsProblem):
    """The undisclosed rate limit was hit; retry after a few seconds."""


class StaleForecastError(NwsError):
    """A 200 answer that is too old to use (stale CDN edge, or period 1 does not contain now)."""
