"""`milkbot golive check`: the go/no-go report LIVE trading requires."""

from __future__ import annotations

import typer

from daemon.cli.common import clock_for, open_db, settings_from_ctx, user_errors

app = typer.Typer(help="Go-live gate: is the demo record good enough for LIVE?", no_args_is_help=True)


@app.command("check")
def check(
    ctx: typer.Context,
    include_shadow: bool = typer.Option(False, "--include-shadow", help="Count SHADOW runs too (rehearsal only)."),
    min_days: float = typer.Option(10.0, "--min-days", help="Days of DEMO runs required (the playbook's 10)."),
    min_hours: float = typer.Option(72.0, "--min-hours"),
    min_settled: int = typer.Option(20, "--min-settled"),
) -> None:
    """Print the report; exit 0 on GO, 1 on NO-GO."""
    from daemon.backtest.stored import latest_backtest
    from daemon.runtime.golive import golive_report

    settings = settings_from_ctx(ctx)
    with user_errors():
        db = open_db(settings, read_only=True)
    try:
        modes = ("demo", "shadow") if include_shadow else ("demo",)
        report = golive_report(db, clock_for(settings).now(), modes=modes, min_hours=min_hours,
                               min_settled=min_settled, min_days=min_days,
                               backtest=latest_backtest(settings.data_dir, settings.config_hash))
    finally:
        db.close()
    typer.echo("\n".join(report.lines()))
    raise typer.Exit(0 if report.passed else 1)
