"""`model fit` fits the forecast member's bias and σ by lead from a city's forecast archive.

Cities whose station has archived forecasts (weather/ndfd_*_maxt_vintages.parquet with the climate
reports) get them; the others keep the reference priors; the fit notes say which. Only target days
inside the fit window count, with labels published before its end.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from daemon.cities import default_registry
from daemon.model.api import ModelInputs
from daemon.model.data import load_dataset
from daemon.model.fit import FitWindow, fit_params
from daemon.model.members import forecast_member
from daemon.model.params import ModelParams, default_params
from daemon.settlement.brackets import Bracket
import _model_kit as kit

END = date(2025, 1, 15)
ISSUE_HOURS = (0, 6, 12, 18)


def _archive(root: Path, wild_after: date | None) -> None:
    """KNYC forecasts for 2024-06-01..2025-01-31, 2 °F cold (±1), 0-3 days ahead, and reports."""
    rng = random.Random(3)
    forecasts, reports = [], []
    day = date(2024, 6, 1)
    while day <= date(2025, 1, 31):
        high = 40 + (day.toordinal() % 9)
        wild = wild_after is not None and day > wild_after
        for back in range(3):
            for hour in ISSUE_HOURS:
                issued = datetime(day.year, day.month, day.day, hour, 46, tzinfo=UTC) - timedelta(
                    days=back
                )
                valid = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
                maxt = 150 if wild else high - 2 + rng.choice((-1, 0, 1))
                forecasts.append(
                    (day, "KNYC", issued, valid, (valid - issued).total_seconds() / 3600, maxt)
                )
        reported = datetime(day.year, day.month, day.day, 6, tzinfo=UTC) + timedelta(days=1)
        reports.append(("KNYC", day, -40 if wild else high, reported))
        day += timedelta(days=1)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute(
        "CREATE TABLE f (target_day DATE, station VARCHAR, issued_at TIMESTAMPTZ, "
        "valid_at TIMESTAMPTZ, lead_hours DOUBLE, maxt_f SMALLINT, "
        "valid_period_misaligned BOOLEAN DEFAULT false)"
    )
    con.executemany(
        "INSERT INTO f (target_day, station, issued_at, valid_at, lead_hours, maxt_f) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        forecasts,
    )
    con.execute(f"COPY f TO '{root}/weather/ndfd_knyc_maxt_vintages.parquet' (FORMAT parquet)")
    con.execute(
        "CREATE TABLE c (station VARCHAR, climate_day DATE, high_f INTEGER, issued_at TIMESTAMPTZ)"
    )
    con.executemany("INSERT INTO c VALUES (?, ?, ?, ?)", reports)
    con.execute(f"COPY c TO '{root}/weather/knyc_cli_daily.parquet' (FORMAT parquet)")


def _fit(root: Path, wild_after: date | None) -> ModelParams:
    kit.build(root)
    _archive(root, wild_after)
    return fit_params(load_dataset(root, default_registry()), FitWindow(None, END))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> ModelParams:
    return _fit(tmp_path_factory.mktemp("clean"), None)


def test_cities_with_an_archive_get_fitted_bias_and_sigma(fitted: ModelParams) -> None:
    by_lead = fitted.forecast_by_lead["NYC"]
    assert [b.label for b in by_lead] == ["0-30h", "30-54h", "54-78h"]
    for bucket in by_lead:
        assert bucket.bias_f == pytest.approx(2.0, abs=0.15)  # official − forecast
        assert 0.6 < bucket.sigma_f < 1.0 and bucket.n >= 30
    notes = fitted.fit_notes["forecast_error"]
    assert notes["NYC"]["source"] == "fitted" and notes["NYC"]["station"] == "KNYC"
    assert notes["NYC"]["last_day"] < str(END)  # END's own report comes out after END
    assert set(fitted.forecast_by_lead) == {"NYC"}
    assert all(notes[c] == "prior" for c in ("MIA", "CHI", "LAX"))


def test_forecast_errors_after_the_fit_end_change_nothing(
    fitted: ModelParams, tmp_path: Path
) -> None:
    wild = _fit(tmp_path, END)  # every forecast after END says 150 °F, every report −40 °F
    assert wild.forecast_by_lead == fitted.forecast_by_lead
    assert wild.fit_notes["forecast_error"] == fitted.fit_notes["forecast_error"]
    assert wild.hash() == fitted.hash()
    inside = _fit(
        tmp_path / "inside", date(2025, 1, 5)
    )  # the same plant inside the window does show
    assert inside.forecast_by_lead != fitted.forecast_by_lead


def test_forecast_member_uses_the_fitted_bucket(fitted: ModelParams) -> None:
    day = date(2025, 1, 20)
    end = datetime(2025, 1, 21, 5, tzinfo=UTC)  # NYC: LST day ends 05:00 UTC
    issued = end - timedelta(hours=20)  # a 0-30 h lead: no climatology pull yet
    inputs = ModelInputs(
        city_code="NYC",
        climate_day=day,
        decided_at=issued + timedelta(hours=1),
        forecast_high_f=41.0,
        forecast_issued_at=issued,
        observed_max_f=None,
        observed_until=None,
        brackets=(("LOW", Bracket(None, 40)), ("HIGH", Bracket(41, None))),
        lst_offset_hours=-5,
    )
    bucket = fitted.forecast_by_lead["NYC"][0]
    member = forecast_member(inputs, fitted)
    assert member.features["centre"] == round(41.0 + bucket.bias_f, 3)
    assert member.features["sd"] == round(bucket.sigma_f, 3)
    assert member.features["forecast_error"] == "0-30h"
    prior = forecast_member(inputs, fitted.model_copy(update={"forecast_by_lead": {}}))
    assert prior.features["centre"] == 41.0 and prior.features["sd"] == fitted.forecast_sigma["NYC"]
    assert "forecast_error" not in prior.features


def test_parameters_without_fitted_errors_keep_their_hash() -> None:
    params = default_params()
    assert "forecast_by_lead" not in params.canonical()
    assert ModelParams.model_validate(params.canonical()).hash() == params.hash()
