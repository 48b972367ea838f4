"""A fake api.weather.gov over httpx.MockTransport that replays the real NWS wire format.

Documents are the recorded fixtures under shared/data/fixtures/nws_api, re-stamped to the test clock
(NWS cannot run locally). Handlers can be overridden per path to inject failures.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from daemon.cities import City

FIXTURES = Path("/work/shared/data/fixtures/nws_api")


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def problem(status: int, title: str, type_: str, detail: str = "") -> httpx.Response:
    body = {
        "correlationId": "abc123",
        "title": title,
        "type": f"https://api.weather.gov/problems/{type_}",
        "status": status,
        "detail": detail or title,
        "instance": "https://api.weather.gov/requests/abc123",
    }
    return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json"})


def points_doc(office: str, x: int, y: int) -> dict:
    doc = load("points_nyc_2026.json")
    props = doc["properties"]
    props.update(gridId=office, gridX=x, gridY=y)
    base = f"https://api.weather.gov/gridpoints/{office}/{x},{y}"
    props.update(forecast=f"{base}/forecast", forecastHourly=f"{base}/forecast/hourly", forecastGridData=base)
    return doc


def _iso(instant: datetime, city: City) -> str:
    """Local-offset timestamps as NWS writes them (civil zone, e.g. -05:00)."""
    return instant.astimezone(city.zone).isoformat()


def daily_forecast_doc(city: City, now: datetime, highs: list[int], *, updated: datetime | None = None) -> dict:
    """A /forecast document: the recorded 2019 one, periods rebuilt as day/night pairs from today 6 AM."""
    doc = load("pynws_2019_2022/gridpoints_forecast_us.json")
    template = doc["properties"]["periods"][0]
    local_now = now.astimezone(city.zone)
    day_start = local_now.replace(hour=6, minute=0, second=0, microsecond=0)
    periods = []
    for i, high in enumerate(highs):
        start = day_start + timedelta(days=i)
        for daytime, (a, b, temp) in ((True, (0, 12, high)), (False, (12, 24, high - 12))):
            p = copy.deepcopy(template)
            p.update(
                number=len(periods) + 1,
                name="Today" if i == 0 and daytime else ("Tonight" if i == 0 else start.strftime("%A")),
                startTime=_iso(start + timedelta(hours=a), city),
                endTime=_iso(start + timedelta(hours=b), city),
                isDaytime=daytime,
                temperature=temp,
            )
            periods.append(p)
    periods = [p for p in periods if datetime.fromisoformat(p["endTime"]) > now]
    props = doc["properties"]
    stamp = (updated or now - timedelta(hours=1)).isoformat()
    props.update(periods=periods, updateTime=stamp, updated=stamp, generatedAt=now.isoformat())
    return doc


def hourly_forecast_doc(city: City, now: datetime, temps: list[int], *, updated: datetime | None = None) -> dict:
    """A /forecast/hourly document from the recorded one, hourly periods from the current hour."""
    doc = load("pynws_2019_2022/gridpoints_forecast_hourly_us.json")
    template = doc["properties"]["periods"][0]
    hour = now.replace(minute=0, second=0, microsecond=0)
    periods = []
    for i, temp in enumerate(temps):
        p = copy.deepcopy(template)
        p.update(
            number=i + 1,
            startTime=_iso(hour + timedelta(hours=i), city),
            endTime=_iso(hour + timedelta(hours=i + 1), city),
            temperature=temp,
        )
        periods.append(p)
    props = doc["properties"]
    stamp = (updated or now - timedelta(hours=1)).isoformat()
    props.update(periods=periods, updateTime=stamp, updated=stamp, generatedAt=now.isoformat())
    return doc


def grid_doc(now: datetime, day_start_utc: datetime, max_f: int, hourly_f: list[int]) -> dict:
    """The recorded raw gridpoint (2026), layers rewritten around `day_start_utc` with °C-encoded °F."""
    doc = load("gridpoint_raw_nyc_2026_trimmed.json")
    props = doc["properties"]
    to_c = lambda f: (f - 32) * 5 / 9
    props["updateTime"] = (now - timedelta(hours=1)).isoformat()
    max_start = day_start_utc + timedelta(hours=7)
    props["maxTemperature"]["values"] = [{"validTime": f"{max_start.isoformat()}/PT12H", "value": to_c(max_f)}]
    props["temperature"]["values"] = [
        {"validTime": f"{(day_start_utc + timedelta(hours=i)).isoformat()}/PT1H", "value": to_c(f)}
        for i, f in enumerate(hourly_f)
    ]
    return doc


def observation(timestamp: datetime, raw: str | None, value_c: float | None, qc: str = "V") -> dict:
    """One observation feature in the current (2022) wire format, from the recorded `latest` document."""
    feature = copy.deepcopy(load("pynws_2019_2022/stations_observations_latest.json"))
    props = feature["properties"]
    props["timestamp"] = timestamp.isoformat()
    props["rawMessage"] = raw or ""
    props["temperature"] = {"unitCode": "wmoUnit:degC", "value": value_c, "qualityControl": qc}
    if raw is None:
        props["cloudLayers"] = None
    feature.pop("@context", None)
    return feature


def observations_doc(features: list[dict], next_url: str | None = None) -> dict:
    doc = {"type": "FeatureCollection", "features": features}
    if next_url:
        doc["pagination"] = {"next": next_url}
    return doc


Handler = Callable[[httpx.Request], httpx.Response]


class FakeNws:
    """Routes by path; `documents[path]` are served with Last-Modified and honour If-Modified-Since."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[Any, datetime]] = {}
        self.overrides: dict[str, list[Handler]] = {}
        self.requests: list[httpx.Request] = []

    def serve(self, path: str, doc: Any, modified: datetime) -> None:
        self.documents[path] = (doc, modified)

    def fail_next(self, path: str, handler: Handler, times: int = 1) -> None:
        self.overrides.setdefault(path, []).extend([handler] * times)

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.url.path == path)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if not request.headers.get("User-Agent", "").strip():
            return problem(403, "Forbidden", "Forbidden", "A User-Agent is required")
        queue = self.overrides.get(path)
        if queue:
            return queue.pop(0)(request)
        if path not in self.documents:
            return problem(404, "Not Found", "NotFound", f"{path} not found")
        doc, modified = self.documents[path]
        since = request.headers.get("If-Modified-Since")
        if since and parsedate_to_datetime(since) >= modified.replace(microsecond=0):
            return httpx.Response(304)
        headers = {"Last-Modified": format_datetime(modified, usegmt=True), "Content-Type": "application/geo+json"}
        return httpx.Response(200, json=doc, headers=headers)
