"""Builds the whole public site for publish time T into a folder. Deterministic: same ledger, same T,
same bytes. T is given (never read here); the cut-off is T (to the minute) − delay.

Only the analytics functions are read, and every row is checked against the cut-off again (queries.py).
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from publisher import charts, feeds, fmt
from publisher._resources import assets_dir
from publisher.archive import TradeArchive
from publisher.clock import cutoff_for, floor_minute
from publisher.config import PublisherConfig
from publisher.db import reader_for
from publisher.headers import headers_file
from publisher.models import FEEDS, SCHEMA_VERSION, RecentTrades, Trade
from publisher.queries import check_database_clock, city_weather, iter_public_trades, system_status
from publisher.render import Renderer
from publisher.site import SiteWriter
from publisher.tally import Tally

CITY_RECENT = 50
EQUITY_DAYS = 30


@dataclass(frozen=True)
class BuildResult:
    root: Path
    published_at: datetime
    cutoff: datetime
    files: int
    bytes: int
    trades: int


def schema_documents() -> dict[str, dict]:
    return {name: model.model_json_schema() for name, model in FEEDS.items()}


def _dump(model: Any) -> dict:
    return model.model_dump(mode="json")


def build_site(source: Any, config: PublisherConfig, published_at: datetime, out_dir: Path) -> BuildResult:
    """Render every page and feed as of `published_at` − delay into `out_dir` (created, must be empty)."""
    published_at = floor_minute(published_at)
    cutoff = cutoff_for(published_at, config.delay_minutes)
    stamp = feeds.Stamp(published_at, cutoff, config.delay_minutes)
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty; the build writes into a fresh folder")
    reader = reader_for(source, config.database_role)
    writer = SiteWriter(out_dir)
    try:
        check_database_clock(reader, cutoff, timedelta(minutes=config.delay_minutes))
        static = assets_dir()
        assets = {"css": writer.write_hashed("assets", "site", ".css", (static / "site.css").read_bytes()),
                  "js": writer.write_hashed("assets", "refresh", ".js", (static / "refresh.js").read_bytes()),
                  "icon": writer.write_hashed("assets", "favicon", ".svg", (static / "favicon.svg").read_bytes())}
        renderer = Renderer({"site_title": config.site_title, "assets": assets, "delay_minutes": config.delay_minutes,
                             "as_of": fmt.human_minute(cutoff), "as_of_iso": fmt.minute(cutoff)})
        tally, recent, by_city, archive = _stream_trades(reader, cutoff, config, writer, renderer)
        status = system_status(reader, cutoff)
        weather = city_weather(reader, cutoff)
    finally:
        reader.close()
    _write_live(writer, renderer, config, stamp, tally, recent, by_city, archive, status, weather)
    writer.write("_headers", headers_file())
    writer.write_release({"schema_version": SCHEMA_VERSION, "published_at": fmt.minute(published_at),
                          "as_of": fmt.minute(cutoff), "delay_minutes": config.delay_minutes})
    return BuildResult(out_dir, published_at, cutoff, len(writer.files),
                       sum(e.size for e in writer.files.values()), tally.total_trades)


def _stream_trades(reader, cutoff, config, writer, renderer):
    tally = Tally(cutoff)
    recent: deque[Trade] = deque(maxlen=config.recent_trades)
    by_city: dict[str, deque[Trade]] = defaultdict(lambda: deque(maxlen=CITY_RECENT))
    archive = TradeArchive(writer, renderer, cutoff, config.trades_per_page, config.delay_minutes)
    for row in iter_public_trades(reader, cutoff):
        tally.add(row)
        trade = feeds.trade(row)
        recent.append(trade)
        by_city[row.city_code].append(trade)
        archive.add(trade)
    archive.finish()
    return tally, recent, by_city, archive


def _write_live(writer, renderer, config, stamp, tally, recent, by_city, archive, status, weather) -> None:
    city_tallies = tally.cities()
    hero = feeds.hero(tally, city_tallies, status, stamp)
    cities = feeds.cities(city_tallies, weather, status, stamp, config)
    equity = feeds.equity(tally, stamp)
    strategies = feeds.strategies(tally, stamp)
    calibration = feeds.calibration(tally, stamp, config)
    health = feeds.health(status, stamp, config)
    newest_first = list(reversed(recent))
    trades_recent = RecentTrades(**stamp.fields(), total_trades=tally.total_trades, trades=newest_first,
                                       archives=[f"trades/{m}.json" for m in archive.months])
    api = "api/v1/"
    for path, model in (("hero.json", hero), ("cities.json", cities), ("trades/recent.json", trades_recent),
                        ("performance/equity.json", equity), ("performance/strategies.json", strategies),
                        ("calibration.json", calibration),
                        ("health.json", health)):
        writer.write_json(api + path, _dump(model))
    for name, schema in schema_documents().items():
        writer.write(f"{api}schemas/{name}.schema.json", json.dumps(schema, indent=1, sort_keys=True) + "\n")
    writer.write_json(api + "index.json", _feed_index(archive.months))

    chart_paths = {
        "equity30": writer.write_hashed("charts", "equity-30d", ".svg", charts.equity_chart(
            equity.points[-EQUITY_DAYS:], "Cumulative P&L, last 30 days")),
        "calibration": writer.write_hashed("charts", "calibration", ".svg", charts.calibration_chart(
            calibration.bins, "Calibration")),
    }
    writer.write("index.html", renderer.page("index.html", "", live=True, hero=hero, cities=cities,
                                             strategies=strategies, charts=chart_paths))
    writer.write("trades/index.html", renderer.page(
        "trades.html", "../", live=True, trades=newest_first, total_trades=tally.total_trades,
        pages=archive.pages, archives=archive.months))
    _write_cities(writer, renderer, cities, by_city, tally, stamp)
    writer.write("methodology.html", renderer.page("methodology.html", "", live=True, calibration=calibration,
                                                   charts=chart_paths))
    writer.write("health.html", renderer.page("health.html", "", live=True, health=health))
    writer.write("404.html", renderer.page("404.html", "/", live=False))


def _write_cities(writer, renderer, cities, by_city, tally, stamp) -> None:
    daily: dict[str, dict] = defaultdict(dict)
    for market in tally.markets.values():
        if market.result is not None and market.settled_day is not None:
            days = daily[market.city_code]
            days[market.settled_day] = days.get(market.settled_day, 0) + market.pnl
    for city in cities.cities:
        points = feeds.daily_points(daily.get(city.code, {}), stamp.cutoff.date())
        chart = writer.write_hashed("charts", f"city-{city.code.lower()}", ".svg",
                                    charts.equity_chart(points, f"Cumulative P&L, {city.name}"))
        writer.write(f"cities/{city.code.lower()}.html", renderer.page(
            "city.html", "../", live=True, city=city, chart=chart,
            trades=list(reversed(by_city.get(city.code, ())))))


def _feed_index(months: list[str]) -> dict:
    feeds_list = ["hero.json", "cities.json", "trades/recent.json", "performance/equity.json",
                  "performance/strategies.json", "calibration.json", "health.json"]
    return {"schema_version": SCHEMA_VERSION, "feeds": feeds_list,
            "monthly_archives": [f"trades/{m}.json" for m in months],
            "schemas": [f"schemas/{name}.schema.json" for name in FEEDS]}
