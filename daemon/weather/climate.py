"""Daily Climate Report ingestion: fetch a city's CLI issuances, check they are its station, store them.

Every issuance is kept as its own `source="cli"` snapshot (intra-day, final, corrections), so replay
sees exactly what was known when. A report for another station is refused, never relabelled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from daemon.cities import City
from daemon.clock import ensure_utc
from daemon.weather.cli_report import CliReport, parse_cli
from daemon.weather.errors import WeatherError, WeatherParseError
from daemon.weather.nws import NwsClient
from daemon.weather.snapshots import WeatherSnapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchedReport:
    product_id: str
    text: str
    report: CliReport
    received_at: datetime


def climate_location(city: City) -> str:
    """The 3-letter climate site the API lists CLI products under (CLINYC → NYC)."""
    return city.cli_code[3:]


def check_station(report: CliReport, city: City) -> None:
    if report.pil != city.cli_code:
        raise WeatherParseError(f"climate report {report.pil} is not {city.code}'s {city.cli_code}")


def cli_snapshot(fetched: FetchedReport, city: City) -> WeatherSnapshot:
    """One issuance as a snapshot: observed_max_f is the report's max (final only when `payload.final`)."""
    report = fetched.report
    check_station(report, city)
    _, end = city.climate_day_bounds(report.summary_day)
    until = end if report.is_final else report.valid_as_of_at or report.issued_at
    return WeatherSnapshot(
        city_code=city.code,
        climate_day=report.summary_day,
        source="cli",
        issued_at=report.issued_at,
        valid_at=until,
        received_at=ensure_utc(fetched.received_at),
        forecast_high_f=None,
        hourly_max_f=None,
        observed_max_f=None if report.max_f is None else float(report.max_f),
        observed_until=until if report.max_f is not None else None,
        payload={
            "product_id": fetched.product_id,
            "block": report.block,
            "final": report.is_final,
            "correction": report.is_correction,
            "wmo_bbb": report.wmo_bbb,
            "max_time": report.max_time,
            "max_flag": report.max_flag,
            "min_f": report.min_f,
            "text": fetched.text,
        },
    )


def fetch_reports(client: NwsClient, city: City, known_ids: set[str], limit: int = 10) -> tuple[list[FetchedReport], list[str]]:
    """New CLI issuances for `city` (ids not in `known_ids`), newest first; plus per-product errors."""
    fetched, errors = [], []
    for item in client.cli_products(climate_location(city))[:limit]:
        product_id = str(item.get("id") or "")
        if not product_id or product_id in known_ids:
            continue
        try:
            text = client.product_text(product_id)
            report = parse_cli(text)
            check_station(report, city)
        except WeatherError as exc:
            errors.append(f"{product_id}:{type(exc).__name__}:{exc}")
            log.warning("climate report %s for %s refused: %s", product_id, city.code, exc)
            continue
        fetched.append(FetchedReport(product_id, text, report, client.clock.now()))
    return fetched, errors
