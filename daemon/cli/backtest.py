"""`milkbot backtest`: the recorded markets through the daemon's own decision path; a table, JSON, a report."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path

import typer

from daemon.cli.common import EXIT_CONFIG, settings_from_ctx, user_errors


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.echo(f"error: {name} must be YYYY-MM-DD, got {value!r}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


def _bar(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} cycles")
    sys.stderr.flush()


def backtest(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="Recorded data directory (the layout of shared/data)."),
    date_from: str = typer.Option(..., "--from", help="First climate day (YYYY-MM-DD)."),
    date_to: str = typer.Option(..., "--to", help="Last climate day (YYYY-MM-DD)."),
    fill: str = typer.Option("strict", "--fill", help="Resting-order fill rule: strict | touch | volume:N."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the table."),
    report: Path | None = typer.Option(None, "--report", help="Write an HTML report with charts here."),
    cadence: int = typer.Option(60, "--cadence-minutes", min=5, max=720, help="Minutes between fast cycles."),
    no_refit: bool = typer.Option(False, "--no-refit", help="Use the built-in model parameters, no walk-forward fits."),
    out: Path | None = typer.Option(None, "--out", help="Folder for the run's ledger (default <data-dir>/backtests/…)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Replay recorded days through the daemon (strategies, risk, order manager) against the trade tape."""
    from daemon.backtest.fills import FillRuleError
    from daemon.backtest.runner import BacktestError, BacktestSpec, run_backtest
    from daemon.cities import load_registry

    settings = settings_from_ctx(ctx)
    if not data.is_dir():
        typer.echo(f"error: --data {data} is not a directory", err=True)
        raise typer.Exit(EXIT_CONFIG)
    spec = BacktestSpec(data_dir=data.resolve(), start=_day(date_from, "--from"), end=_day(date_to, "--to"),
                        fill=fill, cadence_minutes=cadence, slow_cadence_minutes=max(cadence, 60),
                        out_dir=out, refit=not no_refit)
    registry = load_registry(settings.cities.file, settings.cities.extra_file)
    logging.getLogger("daemon").setLevel(logging.WARNING)
    try:
        with user_errors():
            result = run_backtest(settings, spec, registry, progress=None if quiet or as_json else _bar)
    except (BacktestError, FillRuleError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    if not (quiet or as_json):
        sys.stderr.write("\n")
    if result.ledger_path:  # kept beside the ledger: `golive check` reads the latest window's
        from daemon.backtest.stored import store_result

        store_result(result.to_json(), Path(result.ledger_path).parent, settings.config_hash)
    if report is not None:
        from daemon.backtest.report import write_report

        write_report(result, report)
    if as_json:
        typer.echo(json.dumps(result.to_json(), sort_keys=True))
    else:
        print_table(result)
        if report is not None:
            typer.echo(f"report: {report / 'index.html'}")


def print_table(result) -> None:  # noqa: ANN001 - a BacktestResult
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"backtest {result.start} … {result.end}  ({result.days} climate days, fill {result.fill_rule})")
    for col in ("strategy", "orders", "fill rate", "fills", "contracts", "P&L after fees", "fees",
                "¢ / filled contract", "95 % CI (¢)"):
        table.add_column(col, justify="left" if col == "strategy" else "right")
    for s in result.by_strategy:
        cents = s.pnl_per_filled_contract_cents
        ci = "—" if s.ci_low is None else f"[{s.ci_low:+}, {s.ci_high:+}]"
        table.add_row(s.strategy, str(s.orders), "—" if s.fill_rate is None else f"{s.fill_rate:.1%}",
                      str(s.fills), f"{s.filled_contracts:.0f}", _money(s.pnl_after_fees), _money(s.fees),
                      "—" if cents is None else f"{cents:+}", ci)
    console = Console(width=None if sys.stdout.isatty() else 150)  # a pipe or file gets every column whole
    console.print(table)
    console.print(f"total P&L after fees {_money(result.pnl_after_fees)}   fees {_money(result.fees)}   "
                  f"max drawdown {_money(result.max_drawdown)}   orders {result.orders}   fills {result.fills}")
    checks = result.checks
    console.print(f"ledger = exchange cash: {'yes' if checks.get('cash_matches') else 'NO'} "
                  f"(settled {checks.get('ledger_settled_pnl')}, open cost {checks.get('open_cost')}, "
                  f"exchange cash change {checks.get('exchange_cash_change')})")
    console.print(f"inputs hash {result.inputs_hash}   ledger {result.ledger_path}")


def _money(value) -> str:  # noqa: ANN001
    sign = "−" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def register(app: typer.Typer) -> None:
    app.command("backtest")(backtest)
