"""`milkbot status | positions | pnl`: one-screen summaries from the ledger."""

from __future__ import annotations

import typer

from daemon.cli.common import clock_for, open_db, settings_from_ctx, user_errors
from daemon.cli.runtime_common import echo_rows


def status(ctx: typer.Context) -> None:
    """Trading state, last run and heartbeat, open orders, exposure, recent risk events, P&L."""
    from daemon.runtime.reports import status as build
    from daemon.runtime.risk_view import risk_snapshot, summary_lines

    settings = settings_from_ctx(ctx)
    with user_errors():
        s, risk = _status_or_snapshot(settings, build, risk_snapshot)
    typer.echo(f"mode {settings.mode}  env {settings.env}  config {settings.config_hash[:12]}")
    if risk is not None:
        for line in summary_lines(risk):
            typer.echo(line)
    else:  # the running daemon's snapshot: its state line as it wrote it
        ts = s["trading_state"]
        typer.echo(f"trading state {ts['state']}{'  KILL SWITCH ON' if ts.get('kill_switch') else ''}"
                   f"  ({ts.get('reason') or 'no reason recorded'}, by {ts.get('set_by') or 'system'})")
    run = s["last_run"]
    if run:
        typer.echo(f"last run #{run['run_id']} {run['component']} {run['mode']} started {run['started_at']:%Y-%m-%d %H:%MZ}"
                   f"  {'running' if run['stopped_at'] is None else 'stopped: ' + str(run['exit_reason'] or 'no reason recorded')}")
    for b in s["heartbeats"]:
        typer.echo(f"heartbeat {b['component']}: {b['status']} at {b['beat_at']:%Y-%m-%d %H:%M:%SZ}"
                   f" cycle {b['detail'].get('cycle_id', '-')}")
    orders = ", ".join(f"{state} {n}" for state, n in s["open_orders"].items()) or "none"
    typer.echo(f"open orders: {orders}   positions {s['positions']} (paid for them, fees excluded:"
               f" ${s['exposure_cost']:.2f})   decisions {s['decisions']}")
    p = s["pnl"]
    typer.echo(f"P&L after fees: realized ${p['realized_after_fees']:.2f}  (fills {p['fills']}, fees ${p['fees']:.2f},"
               f" open cost ${p['open_cost']:.2f})")
    typer.echo("recent risk events:")
    echo_rows([{**r, "occurred_at": f"{r['occurred_at']:%m-%d %H:%M}", "message": r["message"][:70],
                "city_code": r["city_code"] or "-"}
               for r in s["recent_risk_events"]], ["occurred_at", "kind", "severity", "city_code", "message"])


def _status_or_snapshot(settings, build, risk_snapshot) -> tuple[dict, object | None]:
    """The ledger's status and risk view; while a running daemon holds the embedded ledger, its last snapshot,
    labelled (and no risk view: that needs the ledger)."""
    from daemon.ledger.access import duckdb_path
    from daemon.ledger.db import DatabaseError, LedgerLockedError
    from daemon.runtime.control import ControlFiles

    now = clock_for(settings).now()
    try:
        db = open_db(settings, read_only=True)
    except LedgerLockedError:
        path = duckdb_path(settings.database_url)
        snapshot = ControlFiles(path).read_status() if path is not None else None
        if snapshot is None:
            raise DatabaseError(f"a running daemon holds {path} and has written no status snapshot yet;"
                                " try again in a minute") from None
        written_at, pid, s = snapshot
        age = int((now - written_at).total_seconds())
        ago = f" ({age}s ago)" if age >= 0 else " (the daemon's clock)"
        typer.echo(f"ledger locked by the running daemon (pid {pid}): its LAST SNAPSHOT, written"
                   f" {written_at:%Y-%m-%d %H:%M:%SZ}{ago}")
        request = ControlFiles(path).pending_kill()
        if request is not None:
            typer.echo(f"KILL REQUESTED {request.requested_at} by {request.set_by}: not yet recorded by the daemon")
        return s, None
    path = duckdb_path(settings.database_url)
    request = ControlFiles(path).pending_kill() if path is not None else None
    if request is not None:
        typer.echo(f"KILL REQUESTED {request.requested_at} by {request.set_by}: not yet recorded (a daemon records"
                   " it before anything else; `milkbot resume` clears it)")
    try:
        return build(db, now), risk_snapshot(db, settings, clock_for(settings), events=0)
    finally:
        db.close()


def positions(ctx: typer.Context) -> None:
    """Open positions (signed YES contracts; NO held is negative)."""
    from daemon.runtime.reports import positions as rows

    settings = settings_from_ctx(ctx)
    with user_errors():
        db = open_db(settings, read_only=True)
    try:
        echo_rows(rows(db), ["ticker", "city_code", "climate_day", "position", "cost_basis", "fees_paid"])
    finally:
        db.close()


def pnl(ctx: typer.Context) -> None:
    """P&L as the exchange books it: settlements, netted YES+NO pairs, fees, open cost."""
    from daemon.runtime.reports import pnl_summary

    settings = settings_from_ctx(ctx)
    with user_errors():
        db = open_db(settings, read_only=True)
    try:
        p = pnl_summary(db)
        by_city = db.query(
            "SELECT s.city_code, COUNT(DISTINCT s.ticker) AS markets, SUM(s.revenue) AS revenue"
            " FROM ops.settlements s WHERE s.ticker IN (SELECT ticker FROM ops.fills) GROUP BY s.city_code"
            " ORDER BY s.city_code")
    finally:
        db.close()
    for line in pnl_lines(p):
        typer.echo(line)
    typer.echo("settled revenue by city:")
    echo_rows(by_city, ["city_code", "markets", "revenue"])


def pnl_lines(p: dict) -> list[str]:
    """The P&L as an addition the reader can check, each figure exact and labelled (pnl_summary)."""
    from daemon.runtime.reports import money

    def markets(n: int, kind: str) -> str:
        return f"{n} {kind} market{'' if n == 1 else 's'}"

    pairs = f"{p['netted'].normalize():f}"
    rows = [
        ("", "settlement revenue", p["revenue"],
         f"paid on contracts held at settlement ({markets(p['settled_markets'], 'settled')})"),
        ("+", "netting revenue", p["netted"],
         f"{pairs} YES+NO pairs held in one market, closed out at $1 each"),
        ("-", "cost of closed contracts", p["closed_cost"],
         f"cost of all fills {money(p['cost'])} less open cost {money(p['open_cost'])}"),
        ("-", "fees", p["fees"], f"on {p['fills']} fills ({p['contracts']} contracts)"),
        ("=", "realized P&L after fees", p["realized_after_fees"], ""),
        ("-", "open cost", p["open_cost"],
         f"cost still held in {markets(p['open_markets'], 'unsettled')}"),
        ("=", "cash P&L after fees", p["pnl_after_fees"], "the change in exchange cash"),
    ]
    width = max(len(money(v)) for _, _, v, _ in rows)
    return [f"{op:1} {label:<25} {money(v):>{width}}" + (f"   {why}" if why else "")
            for op, label, v, why in rows]


def register(app: typer.Typer) -> None:
    app.command("status")(status)
    app.command("positions")(positions)
    app.command("pnl")(pnl)
