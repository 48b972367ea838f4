"""Forecast error of the recorded NDFD MaxT against the climate report's high, by lead: priors for
the forecast member, fitted walk-forward (only target days before a date, and only labels published
by then).

Error = forecast − CLI high (°F): `bias_f` > 0 means the forecast runs warm; the model's additive
`forecast_bias` is its negative. Lead = hours from issue to the end of the forecast's MaxT period
(the archive's `lead_hours`). Rows flagged `valid_period_misaligned` (the previous day's MaxT) are
dropped. Inputs: `weather/ndfd_*_maxt_vintages.parquet` and `weather/*_cli_daily.parquet` of a data
directory, matched by station; a missing file means no stats. Research path: reads files, never the
clock.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import duckdb

# [lo, hi) hours; the archive's leads are 12.2 / 17.2 / 23.2, 29.2 … 47.2, 53.2 … 71.2 h.
LEAD_BUCKETS: tuple[tuple[float, float], ...] = ((12.0, 24.0), (24.0, 48.0), (48.0, 72.5))


@dataclass(frozen=True)
class LeadError:
    lo_hours: float
    hi_hours: float
    n: int
    bias_f: float  # mean of forecast − observed
    mae_f: float
    sigma_f: float  # standard deviation of the error (n − 1)

    @property
    def label(self) -> str:
        return f"{self.lo_hours:g}-{self.hi_hours:g}h"


def _lit(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def forecast_errors(
    data_dir: Path | str, before: date, *, station: str = "KNYC", since: date | None = None
) -> list[tuple[date, float, float]]:
    """(target day, lead hours, forecast − CLI high) for every usable issue, walk-forward as of `before`.

    Kept: target_day < before, the forecast issued before `before` 00:00 UTC, and the CLI report carrying
    the high issued before then too (a label nobody had yet is not used).
    """
    rows = forecast_error_rows(data_dir, before, station=station, since=since)
    return [(day, lead, err) for day, _, lead, err in rows]


def forecast_error_rows(
    data_dir: Path | str, before: date, *, station: str = "KNYC", since: date | None = None
) -> list[tuple[date, datetime, float, float]]:
    """`forecast_errors` with each issue's time: (target day, issued_at, lead hours, error)."""
    root = Path(data_dir) / "weather"
    ndfd = sorted(root.glob("ndfd_*_maxt_vintages.parquet"))
    cli = sorted(root.glob("*_cli_daily.parquet"))
    if not ndfd or not cli:
        return []
    cutoff = datetime.combine(before, time(0), tzinfo=UTC)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        forecasts = " UNION ALL ".join(
            f"SELECT station, target_day, issued_at, lead_hours, maxt_f, coalesce(valid_period_misaligned, false)"
            f" AS misaligned FROM read_parquet({_lit(p)})"
            for p in ndfd
        )
        reports = " UNION ALL ".join(
            f"SELECT station, climate_day, high_f, issued_at FROM read_parquet({_lit(p)})"
            for p in cli
        )
        rows = con.execute(
            "SELECT f.target_day, f.issued_at, f.lead_hours, f.maxt_f - c.high_f"
            f" FROM ({forecasts}) f"
            f" JOIN ({reports}) c ON c.station = f.station AND c.climate_day = f.target_day"
            " WHERE f.station = ? AND NOT f.misaligned AND f.maxt_f IS NOT NULL AND c.high_f IS NOT NULL"
            " AND f.target_day < ? AND f.issued_at < ? AND c.issued_at < ?"
            " AND (? IS NULL OR f.target_day >= ?)"
            " ORDER BY f.target_day, f.lead_hours",
            [station, before, cutoff, cutoff, since, since],
        ).fetchall()
    finally:
        con.close()
    return [(day, issued, float(lead), float(err)) for day, issued, lead, err in rows]


def fit_forecast_error(
    data_dir: Path | str,
    before: date,
    *,
    station: str = "KNYC",
    since: date | None = None,
    buckets: tuple[tuple[float, float], ...] = LEAD_BUCKETS,
) -> list[LeadError]:
    """Bias, MAE and σ of the forecast error per lead bucket, from target days in [since, before)."""
    errors = forecast_errors(data_dir, before, station=station, since=since)
    return lead_errors([(lead, e) for _, lead, e in errors], buckets)


def lead_errors(
    errors: list[tuple[float, float]], buckets: tuple[tuple[float, float], ...], min_n: int = 2
) -> list[LeadError]:
    """Bias, MAE and σ per [lo, hi) bucket of (lead hours, error) pairs (at least `min_n` each)."""
    out = []
    for lo, hi in buckets:
        values = [e for lead, e in errors if lo <= lead < hi]
        if len(values) < max(min_n, 2):
            continue
        out.append(
            LeadError(
                lo,
                hi,
                len(values),
                round(statistics.fmean(values), 3),
                round(statistics.fmean(abs(v) for v in values), 3),
                round(statistics.stdev(values), 3),
            )
        )
    return out


def sigma_at(stats: list[LeadError], lead_hours: float) -> float | None:
    """σ of the bucket holding `lead_hours` (the nearest bucket outside the fitted range), None if no stats."""
    if not stats:
        return None
    inside = [s for s in stats if s.lo_hours <= lead_hours < s.hi_hours]
    if inside:
        return inside[0].sigma_f
    return min(
        stats, key=lambda s: min(abs(lead_hours - s.lo_hours), abs(lead_hours - s.hi_hours))
    ).sigma_f
