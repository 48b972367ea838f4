"""NwsClient against a fake api.weather.gov replaying the real wire format (httpx.MockTransport)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _nws_kit import (
    FakeNws,
    daily_forecast_doc,
    grid_doc,
    hourly_forecast_doc,
    observation,
    observations_doc,
    points_doc,
    problem,
)

from daemon.clock import SimulatedClock
from daemon.weather.config import WeatherConfig
from daemon.weather.errors import (
    GridExpiredError,
    GridNotFoundError,
    NwsProblem,
    NwsTransportError,
    RateLimitedError,
    StaleForecastError,
    WeatherParseError,
)
from daemon.weather.nws import NwsClient, format_point

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
POINTS = "/points/40.7789,-73.9692"
GRID = "/gridpoints/OKX/34,45"


@pytest.fixture
def fake(registry) -> FakeNws:
    nyc = registry.get("NYC")
    fake = FakeNws()
    fake.serve(POINTS, points_doc("OKX", 34, 45), NOW - timedelta(days=30))
    fake.serve(f"{GRID}/forecast", daily_forecast_doc(nyc, NOW, [41, 45, 38]), NOW - timedelta(hours=1))
    fake.serve(f"{GRID}/forecast/hourly", hourly_forecast_doc(nyc, NOW, list(range(30, 60))), NOW - timedelta(hours=1))
    start = nyc.climate_day_bounds(nyc.climate_day(NOW))[0]
    fake.serve(GRID, grid_doc(NOW, start, 44, [30 + i for i in range(24)]), NOW - timedelta(hours=1))
    return fake


@pytest.fixture
def nws(fake: FakeNws, clock: SimulatedClock) -> NwsClient:
    client = NwsClient.from_config(WeatherConfig(), clock, transport=fake.transport())
    yield client
    client.close()


def test_point_formatting() -> None:
    assert format_point(40.7789, -73.9692) == "40.7789,-73.9692"
    assert format_point(40.778912345, -73.96) == "40.7789,-73.96"
    assert format_point(33.9381, -118.3889) == "33.9381,-118.3889"
    assert format_point(-0.00001, 10.0) == "0,10"


def test_user_agent_and_accept_sent(nws: NwsClient, fake: FakeNws, registry) -> None:
    nws.gridpoint(registry.get("NYC"))
    request = fake.requests[0]
    assert request.headers["User-Agent"] == WeatherConfig().user_agent
    assert request.headers["Accept"] == "application/geo+json"


def test_blank_user_agent_refused(clock) -> None:
    with pytest.raises(ValueError, match="User-Agent"):
        NwsClient(clock, "  ")


def test_gridpoint_resolved_from_station_coordinates_and_cached(nws, fake, registry, clock) -> None:
    nyc = registry.get("NYC")
    grid = nws.gridpoint(nyc)
    assert (grid.office, grid.x, grid.y, grid.resolved_at) == ("OKX", 34, 45, NOW)
    nws.gridpoint(nyc)
    assert fake.count(POINTS) == 1
    clock.advance(timedelta(hours=25))  # re-resolved daily
    assert nws.gridpoint(nyc).resolved_at == clock.now()
    assert fake.count(POINTS) == 2


def test_conditional_get_keeps_the_cached_document(nws, fake, registry) -> None:
    nyc = registry.get("NYC")
    first, r1 = nws.forecast(nyc)
    second, r2 = nws.forecast(nyc)
    assert not r1.not_modified and r2.not_modified
    assert first == second
    conditional = [r for r in fake.requests if r.url.path == f"{GRID}/forecast"]
    assert "If-Modified-Since" not in conditional[0].headers
    assert conditional[1].headers["If-Modified-Since"] == "Thu, 15 Jan 2026 11:00:00 GMT"


def test_a_newer_document_replaces_the_cache(nws, fake, registry, clock) -> None:
    nyc = registry.get("NYC")
    nws.forecast(nyc)
    clock.advance(timedelta(minutes=30))
    fake.serve(f"{GRID}/forecast", daily_forecast_doc(nyc, clock.now(), [47, 45, 38], updated=clock.now()), clock.now())
    forecast, response = nws.forecast(nyc)
    assert not response.not_modified and forecast.periods[0].temperature_f == 47


def test_problem_json_parsed_into_a_typed_error(nws, fake) -> None:
    fake.fail_next("/stations/KNYC/observations", lambda r: problem(400, "Bad Request", "BadRequest", "unknown parameter"))
    with pytest.raises(NwsProblem) as info:
        nws.get("/stations/KNYC/observations", {"bogus": 1})
    err = info.value
    assert (err.status, err.title, err.correlation_id, err.detail) == (400, "Bad Request", "abc123", "unknown parameter")
    assert err.type.endswith("/BadRequest") and not err.retryable
    assert "correlationId=abc123" in str(err)


def test_expired_grid_re_resolves_and_follows_a_moved_cell(nws, fake, registry) -> None:
    nyc = registry.get("NYC")
    nws.gridpoint(nyc)
    fake.fail_next(f"{GRID}/forecast", lambda r: problem(503, "Forecast Grid Expired", "ForecastGridExpired"))
    fake.serve(POINTS, points_doc("OKX", 34, 46), NOW)
    fake.serve("/gridpoints/OKX/34,46/forecast", daily_forecast_doc(nyc, NOW, [44, 45, 38]), NOW)
    forecast, _ = nws.forecast(nyc)
    assert forecast.periods[0].temperature_f == 44 and len(nws.grid_changes) == 1


def test_expired_grid_is_its_own_error(nws, fake, registry) -> None:
    fake.fail_next(f"{GRID}/forecast", lambda r: problem(
        503, "Forecast Grid Expired", "ForecastGridExpired",
        "The requested forecast grid was issued 2026-01-14T03:00:00+00:00 and has expired."))  # fmt: skip
    with pytest.raises(GridExpiredError) as info:
        nws.forecast(registry.get("NYC"))
    assert info.value.retryable
    assert fake.count(POINTS) == 2 and fake.count(f"{GRID}/forecast") == 1  # re-resolved, same cell: no retry


def test_rate_limit_and_server_errors_are_typed(nws, fake) -> None:
    fake.fail_next("/x", lambda r: problem(429, "Too Many Requests", "RateLimitExceeded"))
    with pytest.raises(RateLimitedError):
        nws.get_once("/x")
    fake.fail_next("/x", lambda r: httpx.Response(500, text="<html>Unexpected Problem</html>"))
    with pytest.raises(NwsProblem) as info:
        nws.get_once("/x")
    assert info.value.status == 500 and info.value.retryable and not isinstance(info.value, GridExpiredError)
    assert info.value.title == "Internal Server Error"


def test_transient_failures_retried_with_backoff_on_the_clock(nws, fake, clock) -> None:
    fake.serve("/x", {"ok": True}, NOW)
    fake.fail_next("/x", lambda r: problem(503, "Service Unavailable", "UnavailableWebService"))
    fake.fail_next("/x", lambda r: problem(429, "Too Many Requests", "RateLimitExceeded"))
    assert nws.get("/x").payload == {"ok": True}
    assert fake.count("/x") == 3
    assert clock.now() == NOW + timedelta(seconds=8)  # slept 2 s then 6 s of simulated time


def test_retries_give_up_after_the_last_delay(nws, fake, clock) -> None:
    fake.fail_next("/x", lambda r: httpx.Response(502, text="bad gateway"), times=5)
    with pytest.raises(NwsProblem) as info:
        nws.get("/x")
    assert info.value.status == 502 and fake.count("/x") == 3


def test_expired_grid_and_client_errors_not_retried(nws, fake, registry) -> None:
    fake.fail_next("/x", lambda r: problem(400, "Bad Request", "BadRequest"), times=3)
    with pytest.raises(NwsProblem):
        nws.get("/x")
    assert fake.count("/x") == 1
    fake.fail_next(f"{GRID}/forecast", lambda r: problem(503, "Forecast Grid Expired", "ForecastGridExpired"), times=3)
    with pytest.raises(GridExpiredError):
        nws.forecast(registry.get("NYC"))
    assert fake.count(f"{GRID}/forecast") == 1


def test_grid_redefinition_404_re_resolves_points(nws, fake, registry) -> None:
    nyc = registry.get("NYC")
    nws.forecast(nyc)
    # The WFO redefines its grid: the old cell becomes marine-only and /points now maps elsewhere.
    fake.fail_next(f"{GRID}/forecast", lambda r: problem(404, "Marine Forecast Not Supported", "MarineForecastNotSupported"))
    fake.serve(POINTS, points_doc("OKX", 33, 42), NOW)
    fake.serve("/gridpoints/OKX/33,42/forecast", daily_forecast_doc(nyc, NOW, [43, 45, 38]), NOW)
    forecast, _ = nws.forecast(nyc)
    assert forecast.periods[0].temperature_f == 43
    assert nws.gridpoint(nyc).path == "/gridpoints/OKX/33,42"
    (code, old, new), = nws.grid_changes
    assert (code, old.path, new.path) == ("NYC", GRID, "/gridpoints/OKX/33,42")


def test_404_that_persists_after_re_resolving_is_raised(nws, fake, registry) -> None:
    fake.fail_next(f"{GRID}/forecast", lambda r: problem(404, "Not Found", "NotFound"), times=2)
    with pytest.raises(GridNotFoundError):
        nws.forecast(registry.get("NYC"))
    assert fake.count(POINTS) == 2 and not nws.grid_changes


def test_stale_cdn_forecast_refused(nws, fake, registry) -> None:
    nyc = registry.get("NYC")
    old = NOW - timedelta(days=1)
    stale = daily_forecast_doc(nyc, old, [30, 41, 45], updated=old - timedelta(hours=1))
    fake.serve(f"{GRID}/forecast", stale, old)
    with pytest.raises(StaleForecastError):
        nws.forecast(nyc)


def test_forecast_whose_first_period_is_over_refused(nws, fake, registry, clock) -> None:
    nyc = registry.get("NYC")
    doc = daily_forecast_doc(nyc, NOW, [41, 45, 38])
    doc["properties"]["periods"] = doc["properties"]["periods"][1:]  # first period starts in the future
    fake.serve(f"{GRID}/forecast", doc, NOW)
    with pytest.raises(StaleForecastError, match="does not contain now"):
        nws.forecast(nyc)


def test_cached_forecast_goes_stale_on_304(nws, fake, registry, clock) -> None:
    nyc = registry.get("NYC")
    nws.hourly_forecast(nyc)
    clock.advance(timedelta(hours=2))  # 304 again, but the first hourly period no longer contains now
    with pytest.raises(StaleForecastError):
        nws.hourly_forecast(nyc)


def test_transport_failure_is_typed(clock) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with NwsClient(clock, "milkbot-test", transport=httpx.MockTransport(boom)) as nws, \
            pytest.raises(NwsTransportError, match="ConnectError"):
        nws.get("/points/1,2")
    assert clock.now() == NOW + timedelta(seconds=8)  # retried twice before giving up


def test_non_json_body_is_a_parse_error(nws, fake) -> None:
    fake.fail_next("/x", lambda r: httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(WeatherParseError, match="not JSON"):
        nws.get("/x")


def test_non_object_json_is_a_parse_error(nws, fake) -> None:
    fake.fail_next("/x", lambda r: httpx.Response(200, json=[1, 2]))
    with pytest.raises(WeatherParseError, match="JSON object"):
        nws.get("/x")


def test_points_without_grid_refused(nws, fake, registry) -> None:
    doc = points_doc("OKX", 34, 45)
    del doc["properties"]["gridX"]
    fake.serve(POINTS, doc, NOW)
    with pytest.raises(WeatherParseError, match="gridX"):
        nws.gridpoint(registry.get("NYC"))


def test_observations_follow_pagination(nws, fake, registry) -> None:
    path = "/stations/KNYC/observations"
    page1 = observations_doc([observation(NOW - timedelta(hours=1), "KNYC 151051Z RMK AO2 T00560000", 5.6)],
                             next_url=f"https://api.weather.gov{path}?cursor=abc")  # fmt: skip
    page2 = observations_doc([observation(NOW - timedelta(hours=2), None, 4)])
    pages = iter([page1, page2, observations_doc([])])
    fake.fail_next(path, lambda r: httpx.Response(200, json=next(pages)), times=3)
    obs, skipped, raw = nws.observations(registry.get("NYC"), NOW - timedelta(hours=6), NOW)
    assert [o.temperature_c for o in obs] == [4.0, 5.6] and not skipped
    assert len(raw) == 2
    first, second = [r for r in fake.requests if r.url.path == path][:2]
    assert first.url.params["limit"] == "500" and first.url.params["start"] == "2026-01-15T06:00:00+00:00"
    assert second.url.params["cursor"] == "abc"


def test_cli_product_listing_and_text(nws, fake, shared_data) -> None:
    text = (shared_data / "fixtures" / "nws_cli_2026" / "nyc_final.txt").read_text()
    pid = "c376feda-ac0c-4222-a410-d3b43f4b3c7a"
    listing = {"@graph": [{"@id": f"https://api.weather.gov/products/{pid}", "id": pid, "wmoCollectiveId": "CDUS41",
                           "issuingOffice": "KOKX", "issuanceTime": "2026-07-09T06:26:00+00:00",
                           "productCode": "CLI", "productName": "Climatological Report (Daily)"}]}  # fmt: skip
    fake.serve("/products/types/CLI/locations/NYC", listing, NOW)
    fake.serve(f"/products/{pid}", {**listing["@graph"][0], "productText": text}, NOW)
    assert nws.cli_products("NYC")[0]["id"] == pid
    assert nws.product_text(pid) == text
    fake.serve("/products/none", {"id": "none"}, NOW)
    with pytest.raises(WeatherParseError):
        nws.product_text("none")
