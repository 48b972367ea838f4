"""Brackets the observations have already decided: a bracket below the observed maximum can no
longer win, an "or above" bracket the maximum has reached has already won.

The settled value is the climate report's whole-°F maximum, and no reading of the day exceeds it.
Readings come as °C: METAR T-groups and 6-hour max groups to 0.1 °C are whole-°F ASOS values
converted, so they sit within 0.09 °F of a whole degree that is at most the settled value (recorded
Miami, 197 days: the precise running maximum is never more than +0.08 °F above the settled value;
recorded KORD against its ISD daily maximum, 1,125 days: the same). Whole-°C readings (5-minute
data, SPECIs) enter the observed maximum as the value − 0.5 °C they prove
(daemon/weather/observations.day_values). So the settled value is at least `ceil(observed_max_f -
MARGIN_F)` for any margin in [0.09, 0.91); MARGIN_F = 0.9 takes the top of that range: it decides
exactly as much as 0.09 would on every recorded day (704 Miami brackets) and still holds if a
reading were up to 0.9 °F above the truth. Deciding less is always safe; deciding wrong never is.

Nothing is ever decided about brackets above the maximum: the running maximum misses the day's peak
on some days (6 of 197 Miami days, by 1-3 °F), so "it will not get warmer" is never concluded from
observations. Pure functions (`audit` excepted: a research helper that reads a data directory);
never reads the clock.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from daemon.clock import ensure_utc
from daemon.settlement.brackets import Bracket

MARGIN_F = 0.9
Decision = Literal["lost", "won"] | None


def settled_floor(observed_max_f: float, margin_f: float = MARGIN_F) -> int:
    """The lowest whole-°F settled value the observed maximum still allows."""
    if isinstance(observed_max_f, bool) or not math.isfinite(observed_max_f):
        raise ValueError(f"observed maximum must be a finite number, got {observed_max_f!r}")
    return math.ceil(
        round(observed_max_f - margin_f, 6)
    )  # round: 84.92 - 0.9 must not become 84.0200000001


def decided(
    ladder_brackets: Sequence[tuple[str, Bracket]],
    observed_max_f: float | None,
    observed_until: datetime | None,
    climate_day_end: datetime,
    *,
    margin_f: float = MARGIN_F,
) -> dict[str, Decision]:
    """{ticker: 'lost' | 'won' | None} for one event's ladder, from the observed maximum so far.

    `observed_max_f` is the maximum of the climate day's readings up to `observed_until` (a snapshot's
    observed_max_f). Decides nothing (all None) without observations, or when they claim to run past the end
    of the climate day (inputs that disagree are not acted on).
    """
    undecided: dict[str, Decision] = {ticker: None for ticker, _ in ladder_brackets}
    if observed_max_f is None or observed_until is None:
        return undecided
    if ensure_utc(observed_until) > ensure_utc(climate_day_end):
        return undecided
    floor = settled_floor(float(observed_max_f), margin_f)
    out = dict(undecided)
    for ticker, bracket in ladder_brackets:
        if bracket.hi is not None and bracket.hi < floor:
            out[ticker] = "lost"
        elif bracket.hi is None and bracket.lo is not None and bracket.lo <= floor:
            out[ticker] = "won"
    return out


def decided_from_snapshot(
    ladder_brackets: Sequence[tuple[str, Bracket]],
    snapshot: Mapping[str, Any],
    climate_day_end: datetime,
) -> dict[str, Decision]:
    """`decided` on a weather snapshot row as AsOfWeather returns it."""
    value = snapshot.get("observed_max_f")
    return decided(
        ladder_brackets,
        None if value is None else float(value),
        snapshot.get("observed_until"),
        climate_day_end,
    )


@dataclass
class Audit:
    """How `decided` did on recorded days: every bracket it decided before the recorded close, and how."""

    days: int = 0
    lost: int = 0
    won: int = 0
    wrong: list[str] = field(default_factory=list)  # tickers decided against the recorded result
    hours_before_close: list[float] = field(
        default_factory=list
    )  # at the first decision, per bracket

    @property
    def decided(self) -> int:
        return self.lost + self.won

    @property
    def median_hours_before_close(self) -> float | None:
        return statistics.median(self.hours_before_close) if self.hours_before_close else None


def audit(
    data_dir: Path | str,
    city_code: str = "MIA",
    margin_f: float = MARGIN_F,
    *,
    feed: Any = None,
    dataset: Any = None,
) -> Audit:
    """Replay `decided` over every recorded settled event of a city, at each observation's availability time
    before the market's recorded close, and check each decision against the recorded result."""
    from daemon.model.data import (
        load_dataset,  # research path only: the decision path never loads files
    )
    from daemon.weather.recorded import RecordedWeatherFeed

    dataset = dataset or load_dataset(Path(data_dir))
    feed = feed or RecordedWeatherFeed(data_dir)
    city = feed.registry.get(city_code)
    out = Audit()
    for event in dataset.events:
        if event.city_code != city_code or event.settled is None or not event.results:
            continue
        out.days += 1
        _, end = city.climate_day_bounds(event.climate_day)
        first: dict[str, tuple[str, datetime]] = {}
        for at in feed.observation_times(city_code, event.climate_day):
            if at >= event.close_time:
                break
            snap = feed.poll(city, event.climate_day, at)
            if snap is None:
                continue
            calls = decided(
                event.ladder, snap.observed_max_f, snap.observed_until, end, margin_f=margin_f
            )
            for ticker, verdict in calls.items():
                if verdict is not None and ticker not in first:
                    first[ticker] = (verdict, at)
        for ticker, (verdict, at) in first.items():
            if verdict == "lost":
                out.lost += 1
            else:
                out.won += 1
            if (verdict == "won") != (event.results.get(ticker) == 1):
                out.wrong.append(ticker)
            out.hours_before_close.append((event.close_time - at).total_seconds() / 3600)
    return out
