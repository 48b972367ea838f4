"""NDFD forecast error against the climate report, by lead, fitted walk-forward from a data directory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from daemon.model.forecast_error import fit_forecast_error, forecast_errors, sigma_at

NDFD = "weather/ndfd_knyc_maxt_vintages.parquet"
CLI = "weather/knyc_cli_daily.parquet"


def _copy(src: Path, dst: Path, rel: str, where: str, extra: str = "") -> None:
    (dst / rel).parent.mkdir(parents=True, exist_ok=True)
    query = f"SELECT * FROM read_parquet('{src / rel}') WHERE {where}" + (
        f" UNION ALL {extra}" if extra else ""
    )
    duckdb.sql(f"COPY ({query}) TO '{dst / rel}' (FORMAT parquet)")


def test_recorded_nyc_error_by_lead(shared_data: Path) -> None:
    stats = fit_forecast_error(shared_data, date(2025, 1, 2), since=date(2022, 1, 1))
    print("\nNDFD MaxT − CLI high, KNYC, 2022-01-01..2024-12-31:")
    for s in stats:
        print(
            f"  {s.label:>9}: n={s.n} bias={s.bias_f:+.2f} MAE={s.mae_f:.2f} σ={s.sigma_f:.2f} °F"
        )
    assert [s.label for s in stats] == ["12-24h", "24-48h", "48-72.5h"]
    # The data README (same archive, all days): bias −0.45, MAE 2.05 / 2.28 / 2.56 °F.
    assert [round(s.mae_f, 1) for s in stats] == [2.1, 2.3, 2.6]
    assert all(-0.6 < s.bias_f < -0.3 for s in stats)
    assert stats[0].sigma_f < stats[1].sigma_f < stats[2].sigma_f
    assert sigma_at(stats, 17.2) == stats[0].sigma_f and sigma_at(stats, 80) == stats[2].sigma_f
    assert sigma_at([], 12) is None


def test_walk_forward_sees_nothing_from_or_after_the_cutoff(
    shared_data: Path, tmp_path: Path
) -> None:
    cutoff = date(2024, 6, 1)
    window = "target_day BETWEEN DATE '2024-04-01' AND DATE '2024-07-01'"
    days = "climate_day BETWEEN DATE '2024-04-01' AND DATE '2024-07-01'"
    clean, dirty = tmp_path / "clean", tmp_path / "dirty"
    _copy(shared_data, clean, NDFD, window)
    _copy(shared_data, clean, CLI, days)
    # Dirty: from 05-31 on (the day before the cutoff: its report is issued after the cutoff) every forecast
    # says 130 °F and every climate report −40 °F.
    _copy(
        shared_data,
        dirty,
        NDFD,
        f"{window} AND target_day < DATE '2024-05-31'",
        f"SELECT * REPLACE (130::SMALLINT AS maxt_f) FROM read_parquet('{shared_data / NDFD}')"
        f" WHERE {window} AND target_day >= DATE '2024-05-31'",
    )
    _copy(
        shared_data,
        dirty,
        CLI,
        f"{days} AND climate_day < DATE '2024-05-31'",
        f"SELECT * REPLACE (-40 AS high_f) FROM read_parquet('{shared_data / CLI}')"
        f" WHERE {days} AND climate_day >= DATE '2024-05-31'",
    )
    assert fit_forecast_error(clean, cutoff) == fit_forecast_error(dirty, cutoff) != []
    used = forecast_errors(clean, cutoff)
    assert max(day for day, _, _ in used) == date(
        2024, 5, 30
    )  # 05-31's report issued on 06-01: not yet known
    assert fit_forecast_error(clean, date(2024, 7, 2)) != fit_forecast_error(
        dirty, date(2024, 7, 2)
    )


def test_misaligned_rows_are_not_used(shared_data: Path, tmp_path: Path) -> None:
    window = "target_day BETWEEN DATE '2024-01-01' AND DATE '2024-03-01'"
    _copy(
        shared_data,
        tmp_path,
        NDFD,
        f"{window} AND NOT valid_period_misaligned",
        f"SELECT * REPLACE (130::SMALLINT AS maxt_f) FROM read_parquet('{shared_data / NDFD}')"
        f" WHERE {window} AND valid_period_misaligned",
    )
    _copy(shared_data, tmp_path, CLI, "climate_day BETWEEN DATE '2024-01-01' AND DATE '2024-03-01'")
    stats = fit_forecast_error(tmp_path, date(2024, 3, 1))
    assert stats and all(abs(s.bias_f) < 3 for s in stats)


def test_missing_files_give_no_stats(tmp_path: Path) -> None:
    assert fit_forecast_error(tmp_path, date(2025, 1, 1)) == []
    assert forecast_errors(tmp_path, date(2025, 1, 1), station="KMDW") == []


@pytest.mark.parametrize("station", ["KMDW", "KORD"])
def test_no_forecast_archive_for_other_stations_yet(shared_data: Path, station: str) -> None:
    assert fit_forecast_error(shared_data, date(2025, 1, 1), station=station) == []
