"""`milkbot risk show`: caps, current exposure against them, the trading state and recent risk events.

Read-only: it never writes a state row (an expired pause is shown as it will resolve, not resolved here).
All logic lives in daemon.trading (RiskEngine, exposure, state).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import typer

from daemon.cli.common import clock_for, open_db, settings_from_ctx, user_errors

app = typer.Typer(help="Risk: caps, exposure vs limits, trading state, recent risk events.", no_args_is_help=True)


def risk_snapshot(db: Any, settings: Any, clock: Any, events: int = 10) -> dict[str, Any]:
    """Everything `risk show` prints, as plain JSON data (daemon/runtime/risk_view.py)."""
    from daemon.runtime.risk_view import risk_snapshot as snapshot

    return snapshot(db, settings, clock, events)


@app.command("show")
def show(
    ctx: typer.Context,
    events: int = typer.Option(10, "--events", min=0, help="How many recent risk events to list."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Caps, exposure vs limits (worst-case loss, confirmed + pending), trading state, recent risk events."""
    settings = settings_from_ctx(ctx)
    with user_errors(), open_db(settings, read_only=True) as db:
        data = risk_snapshot(db, settings, clock_for(settings), events)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    from daemon.runtime.risk_view import summary_lines

    caps, exp = data["caps"], data["exposure"]
    for line in summary_lines(data):
        typer.echo(line)
    typer.echo(f"policy: {data['policy']}")
    typer.echo(f"caps on the {data['caps_basis']}: per trade ${caps['per_trade']}, per event ${caps['per_event']},"
               f" per city ${caps['per_city']}, per cluster ${caps['per_cluster']}, open risk ${caps['open_risk']},"
               f" max contracts per order {caps['max_contracts']}")
    typer.echo("worst-case loss by scope (positions and pending orders) / its cap:")
    for title, rows, cap in (("cluster", exp["by_cluster"], caps["per_cluster"]), ("city", exp["by_city"], caps["per_city"]),
                             ("event", exp["by_event"], caps["per_event"])):
        for name, value in rows.items():
            flag = "  OVER" if Decimal(value) > Decimal(cap) else ""
            typer.echo(f"  {title:<8} {name:<16} ${value:>10} / ${cap}{flag}")
    typer.echo(f"lots: {exp['confirmed_lots']} filled, {exp['pending_lots']} pending orders")
    typer.echo("loss limits (realized + settled loss over the window / allowed → action):")
    for name, v in data["losses"].items():
        typer.echo(f"  {name:<8} over {v['window']:<5} ${v['loss']:>10} / ${v['allowed']} → {v['action']}"
                   f" for {v['pause']}")
    typer.echo(f"recent risk events ({len(data['recent_events'])}):")
    for e in data["recent_events"]:
        at = datetime.fromisoformat(e["occurred_at"]).astimezone(UTC)
        typer.echo(f"  {at:%Y-%m-%d %H:%MZ}  {e['severity']:<8} {e['kind']:<14} {e['message']}")
