"""fit/evaluate on a synthetic directory in the shared layout, the look-ahead canary, and a run on the real data."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from _model_kit import build, write_trades
from typer.testing import CliRunner

from daemon.cities import default_registry
from daemon.cli.main import app
from daemon.model.data import load_dataset
from daemon.model.evaluate import evaluate
from daemon.model.params import MODEL_VERSION, CityClimate, default_params
from daemon.model.replay import LookAheadError, inputs_at, last_trades


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("data")
    return root, build(root)


def run(args: list[str], home: Path):
    result = CliRunner().invoke(app, ["--data-dir", str(home), *args], env={"MILKBOT_DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    return result.output


def hand_market_brier(facts: dict, hours: float, trades: list[tuple]) -> tuple[int, float]:
    """The market's Brier from the last trade at/before close − h, computed independently of the evaluator."""
    total, n = 0.0, 0
    for m in facts["markets"]:
        cutoff = m["close"] - timedelta(hours=hours)
        seen = [t for t in trades if t[1] == m["ticker"] and t[5] <= cutoff]
        if seen:
            price = max(seen, key=lambda t: (t[5], t[0]))[6] / 100
            total += (price - (m["result"] == "yes")) ** 2
            n += 1
    return n, total / n


def test_cli_fit_then_evaluate_json(synthetic, tmp_path):
    root, facts = synthetic
    out = run(["model", "fit", "--data", str(root), "--to", "2025-01-20"], tmp_path)
    assert f"model params id=1 version={MODEL_VERSION}" in out
    assert "MIA" in out and "NYC" in out
    assert "model params id=1" in run(["model", "fit", "--data", str(root), "--to", "2025-01-20"], tmp_path)  # dedup
    text = run(["model", "evaluate", "--data", str(root), "--horizons", "30,10,3", "--from", "2025-01-21", "--json"],
               tmp_path)
    rows = json.loads(text)["rows"]
    assert {r["city"] for r in rows} == {"ALL", "NYC", "MIA"}
    assert [r["hours"] for r in rows if r["city"] == "ALL"] == [30, 10, 3]
    for r in rows:
        assert set(r) == {"hours", "city", "markets", "model_brier", "market_brier", "model_log_loss", "model_rps"}
        assert r["markets"] > 0 and 0 <= r["model_brier"] <= 1 and 0 <= r["model_rps"] <= 1
    kept = [t for t in facts["trades"] if t[3] >= "2025-01-21"]
    scored = {"markets": [m for m in facts["markets"] if m["file_date"] >= "2025-01-21"]}
    n, brier = hand_market_brier(scored, 10, kept)
    all10 = next(r for r in rows if r["hours"] == 10 and r["city"] == "ALL")
    assert all10["markets"] == n and all10["market_brier"] == pytest.approx(brier, abs=1e-5)
    table = run(["model", "evaluate", "--data", str(root), "--horizons", "10"], tmp_path)
    assert "model_brier" in table and "reliability at h=10" in table


def test_look_ahead_canary(synthetic, tmp_path):
    """A trade planted after close − h with a wildly wrong price must not move anything at horizon h."""
    root, facts = synthetic
    clean = evaluate(load_dataset(root, default_registry()), default_params(), [10.0])
    planted = tmp_path / "planted"
    planted.mkdir()
    for sub in ("kalshi", "weather"):
        (planted / sub).mkdir()
        for f in (root / sub).iterdir():
            (planted / sub / f.name).write_bytes(f.read_bytes())
    extra = []
    for m in facts["markets"]:
        wrong = 1 if m["result"] == "yes" else 99
        extra.append((f"canary-{m['ticker']}", m["ticker"], m["series_dir"], m["file_date"], 1,
                      m["close"] - timedelta(hours=10) + timedelta(seconds=1), wrong))
    write_trades(planted, facts["trades"] + extra)
    ds = load_dataset(planted, default_registry())
    assert evaluate(ds, default_params(), [10.0]).rows == clean.rows
    # ... and the canary is live: at h=9 the planted trades are visible and ruin the market's score.
    assert evaluate(ds, default_params(), [9.0]).rows[0]["market_brier"] > 0.9
    # The replay guard refuses a trade stamped after the decision even if a caller hands one in.
    event = ds.events[0]
    trades = last_trades(ds, [10.0])
    ticker = event.ladder[0][0]
    trades[(ticker, 10.0)] = (50, event.close_time - timedelta(hours=9), 0.5)
    with pytest.raises(LookAheadError):
        inputs_at(ds, event, 10.0, trades)


def test_observations_before_decision_only(synthetic):
    root, _ = synthetic
    ds = load_dataset(root, default_registry())
    event = next(e for e in ds.events if e.city_code == "MIA")
    for hours in (20.0, 10.0, 3.0):
        inputs = inputs_at(ds, event, hours, {})
        if inputs.observed_until is not None:
            assert inputs.observed_until < inputs.decided_at
        if inputs.last_high_day is not None:
            assert inputs.last_high_day < event.climate_day
    late = inputs_at(ds, event, 3.0, {})
    assert late.observed_max_f is not None and late.observed_max_f <= event.settled


def test_cli_rejects_bad_arguments(synthetic, tmp_path):
    root, _ = synthetic
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "model", "evaluate", "--data", str(root),
                                      "--horizons", "x"], env={"MILKBOT_DATABASE_URL": ""})
    assert result.exit_code == 2 and "horizons" in result.output
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "model", "fit", "--data", str(tmp_path / "nope")],
                                env={"MILKBOT_DATABASE_URL": ""})
    assert result.exit_code == 2 and "does not exist" in result.output


def test_real_shared_data_market_reference(shared_data):
    """Reproduces the reference market Brier (0.128 at h=30, 0.013 at h=6) and scores the model on a short window."""
    ds = load_dataset(shared_data, default_registry())
    assert len(ds.events) == 889
    # A generic climatology for every city keeps the model valid on every event, so both columns share one set.
    params = default_params().model_copy(update={"climate": {c: CityClimate() for c in ("AUS", "CHI", "DEN", "MIA", "NYC")}})
    full = evaluate(ds, params, [30.0, 6.0])
    assert "model_invalid" not in full.skipped
    market = {r["hours"]: r for r in full.rows if r["city"] == "ALL"}
    assert round(market[30]["market_brier"], 3) == 0.128 and market[30]["markets"] == 4499
    assert round(market[6]["market_brier"], 3) == 0.013
    short = evaluate(ds, params, [10.0], date(2025, 2, 20), date(2025, 2, 28))
    rows = {r["city"]: r for r in short.rows}
    assert set(rows) == {"ALL", "AUS", "CHI", "DEN", "MIA", "NYC"}
    assert 0 < rows["ALL"]["model_brier"] < 0.2


def test_fit_ignores_days_outside_its_window(synthetic):
    """Scrambling every fact after --to must not change the fitted parameters (no peeking at the test days)."""
    from daemon.model.fit import FitWindow, fit_params

    root, _ = synthetic
    cut = date(2025, 1, 20)
    clean = fit_params(load_dataset(root, default_registry()), FitWindow(None, cut))
    ds = load_dataset(root, default_registry())
    for event in ds.events:
        if event.climate_day > cut:
            event.settled = (event.settled or 0) + 9
            event.results = {t: 1 - y for t, y in event.results.items()}
    for highs in ds.highs.values():
        for day in [d for d in highs if d > cut]:
            highs[day] += 9
    times, temps = ds.hourly["MIA"]
    after = times >= datetime(2025, 1, 21, 5, tzinfo=timezone.utc).timestamp()
    ds.hourly["MIA"] = (times, temps + 9 * after)
    assert fit_params(ds, FitWindow(None, cut)).hash() == clean.hash()
