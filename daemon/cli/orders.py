"""`milkbot orders`: list and inspect the ledger's orders, reconcile them with the exchange, cancel them.

Thin: all logic lives in `daemon.trading` (OrderStore, OrderManager/Reconciler).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from daemon.cli.common import EXIT_CONFIG, clock_for, open_db, settings_from_ctx, user_errors
from daemon.runtime.risk_view import plain_json as _plain

app = typer.Typer(help="Orders: list, show one with its events and fills, reconcile with the exchange, cancel.",
                  no_args_is_help=True)

_COLUMNS = ("id", "client_order_id", "state", "ticker", "side", "action", "count", "limit_price",
            "filled_count", "updated_at")




def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in row.items()}


@app.command("list")
def list_orders(
    ctx: typer.Context,
    state: str | None = typer.Option(None, "--state", help="Only this state (e.g. resting, unknown)."),
    open_only: bool = typer.Option(False, "--open", help="Only orders that may still hold exposure."),
    limit: int = typer.Option(50, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Newest orders first."""
    from daemon.trading.order_state import OPEN_STATES
    from daemon.trading.order_store import OrderStore

    settings = settings_from_ctx(ctx)
    with user_errors(), open_db(settings, read_only=True) as db:
        rows = OrderStore(db, clock_for(settings)).all_orders()
    rows = [r for r in rows if (state is None or r["state"] == state) and (not open_only or r["state"] in OPEN_STATES)]
    rows = rows[:limit]
    if as_json:
        typer.echo(json.dumps([_row(r) for r in rows], indent=2))
        return
    if not rows:
        typer.echo("no orders")
        return
    for r in rows:
        typer.echo("  ".join(str(_plain(r[c])) for c in _COLUMNS))


@app.command("show")
def show_order(
    ctx: typer.Context,
    client_order_id: str = typer.Argument(..., help="The client order id."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """One order with its intent, every state transition and its fills."""
    from daemon.trading.order_store import OrderStore, fills_for_order

    settings = settings_from_ctx(ctx)
    with user_errors(), open_db(settings, read_only=True) as db:
        store = OrderStore(db, clock_for(settings))
        order = store.order(client_order_id)
        if order is None:
            typer.echo(f"no order {client_order_id}", err=True)
            raise typer.Exit(1)
        intent = db.query_one("SELECT * FROM ops.intents WHERE client_order_id = ?", (client_order_id,))
        data = {"order": _row(order), "intent": _row(intent) if intent else None,
                "events": [_row(e) for e in store.events(client_order_id)],
                "fills": [_row(f) for f in fills_for_order(db, client_order_id)]}
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    for key, value in data["order"].items():
        typer.echo(f"{key:>18}: {value}")
    typer.echo("events:")
    for e in data["events"]:
        typer.echo(f"  {e['occurred_at']}  {e['from_state'] or '-':>9} → {e['to_state']:<9} {e['cause']:<10} "
                   f"{json.dumps(e['detail'], sort_keys=True)}")
    typer.echo(f"fills: {len(data['fills'])}")
    for f in data["fills"]:
        typer.echo(f"  {f['filled_at']}  {f['count']} @ {f['price']}  fee {f['fee']}  {f['exchange_fill_id']}")


@contextmanager
def _order_manager(settings: Any) -> Iterator[Any]:
    """The ledger, a signed client for the configured exchange, and an OrderManager over both.
    Exchange failures become one line and exit 2 (an operator can fix the URL, key or network)."""
    from daemon.cities import CityRegistryError
    from daemon.exchange.client import KalshiClient
    from daemon.exchange.errors import ExchangeError
    from daemon.simulation.demo import registry_for
    from daemon.trading.oms import OmsPolicy, OrderManager

    clock = clock_for(settings)
    try:
        registry = registry_for(settings)  # the configured registry, as the daemon uses it
    except CityRegistryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    try:
        with open_db(settings) as db, KalshiClient.from_config(settings.exchange, clock, mode=settings.mode,
                                                                   env=settings.env) as client:
            yield OrderManager(db, client, clock, registry=registry,
                               policy=OmsPolicy.from_config(getattr(settings, "trading", None)))
    except ExchangeError as exc:
        typer.echo(f"exchange error: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


@app.command("reconcile")
def reconcile_orders(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Compare and report; write nothing, halt nothing."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Compare ledger with exchange (orders, fills, settlements, positions); exit 1 on unexplained differences."""
    settings = settings_from_ctx(ctx)
    with user_errors(), _order_manager(settings) as oms:
        report = oms.reconcile(dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, default=_plain))
    else:
        typer.echo(f"reconcile{' (dry run)' if dry_run else ''}: complete={report.complete} ok={report.ok} "
                   f"orders={report.orders_checked} changed={report.orders_changed} "
                   f"orphans={report.orphans_adopted} fills+={report.fills_ingested} "
                   f"settlements+={report.settlements_ingested} positions={report.positions_checked}")
        for d in report.discrepancies:
            typer.echo(f"  [{d.severity}] {d.kind}: {d.message}")
        if report.error:
            typer.echo(f"  error: {report.error}", err=True)
        if report.halted:
            typer.echo("  trading HALTED", err=True)
    if not report.ok:
        raise typer.Exit(1)


@app.command("cancel")
def cancel_orders(
    ctx: typer.Context,
    client_order_id: str | None = typer.Argument(None, help="The client order id to cancel."),
    all_open: bool = typer.Option(False, "--all", help="Cancel every open order the ledger knows."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Reconcile, then cancel one order (or all open ones); the final state is read back from the exchange.
    Exit 1 when an order could not be confirmed off the book."""
    if (client_order_id is None) == (not all_open):
        typer.echo("give a client order id or --all (not both)", err=True)
        raise typer.Exit(EXIT_CONFIG)
    settings = settings_from_ctx(ctx)
    with user_errors(), _order_manager(settings) as oms:
        report = oms.reconcile()
        if not report.complete:
            typer.echo(f"reconciliation incomplete, nothing cancelled: {report.error}", err=True)
            raise typer.Exit(1)
        if all_open:
            results = oms.cancel_all(reason="operator")
        else:
            if oms.store.order(client_order_id) is None:
                typer.echo(f"no order {client_order_id}", err=True)
                raise typer.Exit(1)
            results = [oms.cancel(client_order_id, reason="operator")]
    if as_json:
        typer.echo(json.dumps([{"client_order_id": r.client_order_id, "status": r.status,
                                "state": r.order_state, "reasons": r.reasons} for r in results], indent=2))
    else:
        if not results:
            typer.echo("no open orders")
        for r in results:
            typer.echo(f"{r.client_order_id}  {r.status}  state={r.order_state}"
                       + (f"  ({'; '.join(r.reasons)})" if r.reasons else ""))
    if any(r.order_state in ("new", "submitted", "unknown", "resting", "partial") for r in results):
        raise typer.Exit(1)
