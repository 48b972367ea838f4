"""`milkbot model fit|evaluate`: fit versioned parameters from a data directory; replay and score point-in-time."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import typer

from daemon.cli.common import EXIT_CONFIG, clock_for, open_db, settings_from_ctx, user_errors

app = typer.Typer(help="The probability model: fit parameters, evaluate on recorded data.", no_args_is_help=True)


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.echo(f"error: {name} must be YYYY-MM-DD, got {value!r}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


def _horizons(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        values = []
    if not values or any(not (0 < v < 24 * 7) for v in values):
        typer.echo(f"error: --horizons must be hours before close, e.g. 30,18,6; got {text!r}", err=True)
        raise typer.Exit(EXIT_CONFIG)
    return values


def _dataset(data: Path, settings: Any):
    from daemon.cities import CityRegistryError, load_registry
    from daemon.model.data import load_dataset

    try:
        return load_dataset(data, load_registry(settings.cities.file, settings.cities.extra_file))
    except (FileNotFoundError, CityRegistryError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


@app.command("fit")
def fit_command(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="Data directory in the shared layout (kalshi/, weather/)."),
    date_from: str | None = typer.Option(None, "--from", help="First climate day to fit on (YYYY-MM-DD)."),
    date_to: str | None = typer.Option(None, "--to", help="Last climate day to fit on (YYYY-MM-DD)."),
) -> None:
    """Fit parameters on the days in [--from, --to], store them in ops.model_params and print the version."""
    from daemon.model.fit import FitWindow, fit_params
    from daemon.model.params import save_params

    window = FitWindow(_day(date_from, "--from"), _day(date_to, "--to"))
    settings = settings_from_ctx(ctx)
    ds = _dataset(data, settings)
    params = fit_params(ds, window)
    with user_errors(), open_db(settings) as db:
        params_id = save_params(db, params, clock_for(settings), window.start, window.end)
    notes = params.fit_notes
    typer.echo(f"cities with climatology: {', '.join(sorted(params.climate)) or 'none'}; nowcast tables: "
               f"{', '.join(sorted(params.nowcast)) or 'none'}; training samples: {notes.get('training_samples', 0)}")
    typer.echo(f"model params id={params_id} version={params.version} hash={params.hash()}")


@app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="Data directory in the shared layout."),
    horizons: str = typer.Option("30,18,14,10,6,3", "--horizons", help="Hours before close, comma-separated."),
    date_from: str | None = typer.Option(None, "--from", help="First climate day to score."),
    date_to: str | None = typer.Option(None, "--to", help="Last climate day to score."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object {\"rows\": [...]}."),
    params_id: int | None = typer.Option(None, "--params-id", help="ops.model_params id (default: newest)."),
    default: bool = typer.Option(False, "--default-params", help="Use the built-in defaults, not stored params."),
) -> None:
    """Point-in-time replay at each horizon; model vs the market's own last-trade Brier score."""
    from daemon.model.evaluate import evaluate, format_table
    from daemon.model.params import ParamsError, default_params, load_by_id, load_latest

    hours = _horizons(horizons)
    start, end = _day(date_from, "--from"), _day(date_to, "--to")
    label = "default"
    params = default_params()
    if not default:
        settings = settings_from_ctx(ctx)
        with user_errors(), open_db(settings) as db:
            try:
                if params_id is not None:
                    params, label = load_by_id(db, params_id), f"id={params_id}"
                elif (latest := load_latest(db)) is not None:
                    params, label = latest[1], f"id={latest[0]}"
            except ParamsError as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(EXIT_CONFIG) from None
        if label == "default":
            typer.echo("warning: no fitted parameters stored; using defaults (run `milkbot model fit`)", err=True)
    result = evaluate(_dataset(data, settings_from_ctx(ctx)), params, hours, start, end)
    if as_json:
        typer.echo(json.dumps({"rows": result.rows}))
        return
    window = params.fit_notes.get("window")
    typer.echo(f"params {label} hash={params.hash()} fitted on {window}; scored days {start or 'all'}..{end or 'all'}")
    typer.echo(format_table(result))
