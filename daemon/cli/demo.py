"""`milkbot demo`: the embedded end-to-end run (simulator + DuckDB + daemon in SHADOW + local site).

By default it replays real recorded days (the sample shipped in daemon/data/replay, or `--replay-data DIR`);
`--synthetic` runs the seeded synthetic world instead."""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import asdict
from datetime import date, datetime
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
    days: int = typer.Option(10, "--days", min=1, max=60, help="Climate days to run (replayed or simulated)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Where the ledger, sim journal and site go (default ./milkbot-data)."),  # noqa: B008
    seed: int = typer.Option(7, "--seed", help="Seed of the synthetic world (replay: of its synthetic forecasts)."),
    synthetic: bool = typer.Option(False, "--synthetic", help="Run the seeded synthetic world instead of recorded days."),
    replay_data: Path | None = typer.Option(None, "--replay-data", help="A recorded data directory to replay (the layout of shared/data; default: the shipped sample)."),  # noqa: B008
    fill: str = typer.Option("strict", "--fill", help="Replay: fill rule of our resting orders (strict | touch | volume:N)."),
    recorded_weather_only: bool = typer.Option(False, "--recorded-weather-only", help="Replay: no synthetic forecasts where the record has none (the backtest's weather)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    no_publish: bool = typer.Option(False, "--no-publish", help="Skip building the site at the end."),
    start: str | None = typer.Option(None, "--start", help="Synthetic: simulated start (ISO 8601 UTC; default 2026-01-05T06:00Z). Replay: first climate day (default: the first recorded)."),
    fast_minutes: int = typer.Option(60, "--fast-minutes", min=5, help="Simulated minutes between fast cycles (each costs a full decision cycle)."),
) -> None:
    """Run the daemon in SHADOW against the in-process simulator for N climate days; resumable.

    By default the simulator replays recorded days (the shipped sample, or --replay-data DIR): the recorded trades
    are the background flow, the recorded results settle. --synthetic runs the seeded synthetic world."""
    from daemon.backtest.fills import FillRuleError, parse_fill_rule
    from daemon.clock import ensure_utc
    from daemon.simulation.demo import DEFAULT_START, Demo, DemoOptions, DemoStateError
    from daemon.simulation.replay import SAMPLE_DIR, ReplayError

    state = state_of(ctx)
    folder = (data_dir or state.data_dir or Path("milkbot-data")).resolve()
    state.data_dir = folder
    state.database_url = f"duckdb:///{folder / 'milkbot.duckdb'}"
    settings = settings_from_ctx(ctx)
    if settings.mode != "shadow":
        settings = settings.model_copy(update={"mode": "shadow"})
    if synthetic and replay_data is not None:
        typer.echo("error: --synthetic and --replay-data exclude each other", err=True)
        raise typer.Exit(EXIT_CONFIG)
    replay = None if synthetic else (replay_data or SAMPLE_DIR).resolve()
    first_day = None
    try:
        parse_fill_rule(fill)
        if replay is None:
            origin = ensure_utc(datetime.fromisoformat(start)) if start else DEFAULT_START
        else:
            origin, first_day = DEFAULT_START, date.fromisoformat(start) if start else None
    except (ValueError, FillRuleError) as exc:
        typer.echo(f"error: {'--fill' if isinstance(exc, FillRuleError) else '--start'}: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    options = DemoOptions(data_dir=folder, days=days, seed=seed, start=origin, fast_minutes=fast_minutes,
                          slow_minutes=fast_minutes * max(1, 60 // fast_minutes), publish=not no_publish,
                          replay=replay, replay_from=first_day, fill=fill,
                          synthetic_forecasts=not recorded_weather_only)
    try:
        runner = Demo(settings, options, progress=_bar)
    except (DemoStateError, ReplayError) as exc:
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
    if s.recorded_days:
        world = [f"  world: {s.source}: climate days {', '.join(s.recorded_days)}, fills {s.fill_rule}",
                 f"  cities replayed from the record: {', '.join(s.recorded_cities) or 'none'}"
                 + (f"; left out (no recorded markets): {', '.join(s.left_out_cities)}" if s.left_out_cities else ""),
                 f"  weather: {s.weather}"]
    else:
        world = [f"  world: {s.source}; cities with synthetic flow: {', '.join(s.synthetic_cities)}"]
    lines = [
        f"milkbot demo: {s.days} climate day(s), {s.sim_start} → {s.sim_end}" + (" (resumed)" if s.resumed else ""),
        *world,
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
