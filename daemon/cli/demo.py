"""`milkbot demo`: the embedded end-to-end run (simulator + DuckDB + daemon in SHADOW + local site)."""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import typer

from daemon.cli.common import EXIT_CONFIG, settings_from_ctx, state_of, user_errors


def _bar(fraction: float, label: str) -> None:
    width = 30
    filled = int(width * min(max(fraction, 0.0), 1.0))
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction:6.1%}  sim {label}")
    sys.stderr.flush()


def demo(
    ctx: typer.Context,
    days: int = typer.Option(10, "--days", min=1, max=60, help="Simulated climate days to run."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Where the ledger, sim journal and site go (default ./milkbot-data)."),  # noqa: B008
    seed: int = typer.Option(7, "--seed", help="Seed of the synthetic weather world."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    no_publish: bool = typer.Option(False, "--no-publish", help="Skip building the site at the end."),
    start: str | None = typer.Option(None, "--start", help="Simulated start (ISO 8601 UTC; default 2026-01-05T06:00Z)."),
    fast_minutes: int = typer.Option(60, "--fast-minutes", min=5, help="Simulated minutes between fast cycles (each costs a full decision cycle)."),
) -> None:
    """Run the daemon in SHADOW against the in-process simulator for N simulated days; resumable."""
    from daemon.clock import ensure_utc
    from daemon.simulation.demo import DEFAULT_START, Demo, DemoOptions, DemoStateError

    state = state_of(ctx)
    folder = (data_dir or state.data_dir or Path("milkbot-data")).resolve()
    state.data_dir = folder
    state.database_url = f"duckdb:///{folder / 'milkbot.duckdb'}"
    settings = settings_from_ctx(ctx)
    if settings.mode != "shadow":
        settings = settings.model_copy(update={"mode": "shadow"})
    try:
        origin = ensure_utc(datetime.fromisoformat(start)) if start else DEFAULT_START
    except ValueError as exc:
        typer.echo(f"error: --start: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    options = DemoOptions(data_dir=folder, days=days, seed=seed, start=origin, fast_minutes=fast_minutes,
                          slow_minutes=fast_minutes * max(1, 60 // fast_minutes), publish=not no_publish)
    try:
        runner = Demo(settings, options, progress=_bar)
    except DemoStateError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None

    def _stop(*_: object) -> None:
        runner.stop_requested = True  # finish the current cycle, save state, exit; a rerun resumes

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with user_errors():
        summary = runner.run()
    sys.stderr.write("\n")
    if as_json:
        typer.echo(json.dumps(asdict(summary), sort_keys=True))
    else:
        _print_summary(summary)
    if runner.stop_requested:
        raise typer.Exit(130)


def _print_summary(s) -> None:
    lines = [
        f"milkbot demo: {s.days} simulated day(s), seed {s.seed}, {s.sim_start} → {s.sim_end}"
        + (" (resumed)" if s.resumed else ""),
        f"  cycles {s.cycles}   decisions {s.decisions} ({s.trade_decisions} to trade)",
        f"  orders {s.orders}   fills {s.fills} ({s.contracts_filled} contracts)   fees ${s.fees}",
        f"  settled markets traded {s.settled_markets}   realized P&L after fees ${s.realized_pnl_after_fees}",
        f"  still at stake in unsettled markets ${s.open_cost}",
        f"  cash P&L after fees ${s.pnl_after_fees} (= exchange cash change ${s.exchange_cash_change})",
        (f"  limits fired: {', '.join(f'{k}={v}' for k, v in s.limits_fired.items()) or 'none'}"
         f"   trading state {s.trading_state}"),
        f"  ledger {s.database}",
        f"  site {s.site or '(not published)'}" + (f"  → open {s.site}/index.html" if s.site else ""),
        f"  wall time {s.wall_seconds}s",
    ]
    if s.errors:
        lines.append(f"  errors ({len(s.errors)} shown): " + "; ".join(s.errors[:5]))
    typer.echo("\n".join(lines))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
