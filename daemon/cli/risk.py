"""`milkbot risk show`: caps, current exposure against them, the trading state and recent risk events.

Read-only: it never writes a state row (an expired pause is shown as it will resolve, not resolved here).
All logic lives in daemon.trading (RiskEngine, exposure, state).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import typer

from daemon.cli.common import clock_for, open_db, settings_from_ctx, user_errors

app = typer.Typer(help="Risk: caps, exposure vs limits, trading state, recent risk events.", no_args_is_help=True)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def risk_snapshot(db: Any, settings: Any, clock: Any, events: int = 10) -> dict[str, Any]:
    """Everything `risk show` prints, as plain JSON data."""
    from daemon.cities import load_registry
    from daemon.trading import exposure as ex
    from daemon.trading import state as st
    from daemon.trading.risk import RiskEngine, display_amount

    policy = settings.trading
    registry = load_registry(settings.cities.file, settings.cities.extra_file)
    engine = RiskEngine(db, clock, policy, registry)
    now = clock.now()
    current = st.effective(db, now)
    report = engine.exposure_report()
    pnl = ex.pnl_events(db)
    from datetime import timedelta

    losses = {name: ex.loss_since(pnl, now - window, now) for name, window in
              (("daily", timedelta(days=1)), ("weekly", timedelta(days=7)), ("monthly", timedelta(days=30)))}
    loss_limits = {"daily": policy.daily_loss_pct, "weekly": policy.weekly_loss_pct, "monthly": policy.monthly_loss_pct}
    recent = db.query(f"SELECT * FROM ops.risk_events ORDER BY id DESC LIMIT {int(events)}")
    return {
        "as_of": now.isoformat(),
        "bankroll": str(policy.bankroll),
        "state": {"state": current.effective, "stored": current.state, "kill_switch": current.kill_switch,
                  "reason": current.reason, "set_by": current.set_by, "set_at": _plain(current.set_at),
                  "until_at": _plain(current.until_at)},
        "caps": {k: str(v) for k, v in report.limits.items()},
        "exposure": {
            "open_risk": str(display_amount(report.open_risk)),
            "by_city": {k: str(display_amount(v)) for k, v in sorted(report.by_city.items())},
            "by_cluster": {k: str(display_amount(v)) for k, v in sorted(report.by_cluster.items())},
            "by_event": {f"{c}/{d}": str(display_amount(v)) for (c, d), v in sorted(report.by_event.items())},
            "confirmed_lots": report.confirmed_lots, "pending_lots": report.pending_lots,
        },
        "losses": {k: {"loss": str(display_amount(v)), "allowed": str((loss_limits[k] * policy.bankroll).quantize(Decimal("0.01")))}
                   for k, v in losses.items()},
        "recent_events": [{k: _plain(v) for k, v in r.items()} for r in recent],
    }


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
    s = data["state"]
    kill = "  KILL SWITCH ON" if s["kill_switch"] else ""
    until = f" until {s['until_at']}" if s["until_at"] else ""
    typer.echo(f"state: {s['state']}{kill}{until}  ({s['reason']}; by {s['set_by']} at {s['set_at']})")
    caps, exp = data["caps"], data["exposure"]
    typer.echo(f"bankroll ${data['bankroll']}  per trade ≤ ${caps['per_trade']}  max contracts {caps['max_contracts']}")
    typer.echo(f"open risk      ${exp['open_risk']:>10} / ${caps['open_risk']}")
    for title, rows, cap in (("cluster", exp["by_cluster"], caps["per_cluster"]), ("city", exp["by_city"], caps["per_city"]),
                             ("event", exp["by_event"], caps["per_event"])):
        for name, value in rows.items():
            flag = "  OVER" if Decimal(value) > Decimal(cap) else ""
            typer.echo(f"{title:<8} {name:<16} ${value:>10} / ${cap}{flag}")
    typer.echo(f"lots: {exp['confirmed_lots']} confirmed, {exp['pending_lots']} pending")
    for name, v in data["losses"].items():
        typer.echo(f"{name:<8} loss ${v['loss']:>10} / ${v['allowed']}")
    typer.echo(f"recent risk events ({len(data['recent_events'])}):")
    for e in data["recent_events"]:
        typer.echo(f"  {e['occurred_at']}  {e['severity']:<8} {e['kind']:<14} {e['message']}")
