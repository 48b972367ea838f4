"""`milkbot kill [--cancel-resting]` and `milkbot resume`: the operator's stop and go."""

from __future__ import annotations

import getpass

import typer

from daemon.cli.common import EXIT_CONFIG, clock_for, settings_from_ctx, user_errors
from daemon.cli.runtime_common import exchange_client


def _who() -> str:
    try:
        return f"operator:{getpass.getuser()}"
    except Exception:  # noqa: BLE001
        return "operator:unknown"


def kill(
    ctx: typer.Context,
    reason: str = typer.Option("operator kill switch", "--reason", help="Why (recorded)."),
    cancel_resting: bool = typer.Option(False, "--cancel-resting", help="Also cancel every resting order."),
) -> None:
    """HALT at once (kill switch; survives restarts). Optionally cancel resting orders, reporting each.

    On the embedded ledger the request is first written to the control file beside it, which a running daemon
    (holding the file, so nothing else can open it) reads before every order and at every cycle."""
    from daemon.ledger.access import duckdb_path, open_existing, require_ledger_file
    from daemon.ledger.db import DatabaseError, LedgerLockedError
    from daemon.runtime.control import ControlFiles
    from daemon.runtime.daemon import CANCEL_RESTING_MARK
    from daemon.trading import state as st

    settings = settings_from_ctx(ctx)
    clock = clock_for(settings)
    path = duckdb_path(settings.database_url)
    control = ControlFiles(path) if path is not None else None
    with user_errors():
        require_ledger_file(settings.database_url)  # an existing ledger; never created or migrated here
        if control is not None:
            try:
                control.request_kill(reason, _who(), clock.now(), cancel_resting)
            except OSError as exc:
                raise DatabaseError(f"cannot write the kill request {control.control_path}: {exc}") from None
        try:
            db = open_existing(settings.database_url)
        except LedgerLockedError:
            if control is None:
                raise
            typer.echo(f"HALTED: kill request written to {control.control_path}; the running daemon sends no"
                       " order from its next check on and records the kill switch (`milkbot resume` clears it,"
                       " once the daemon is stopped)")
            if cancel_resting:
                typer.echo("the daemon cancels its resting orders when it records the kill switch")
            return
    try:
        st.kill(db, clock, f"{reason} {CANCEL_RESTING_MARK}" if cancel_resting else reason, _who())
        if control is not None and (request := control.pending_kill()) is not None:
            control.clear(request)  # recorded in the ledger directly: no daemon needs to apply it
        typer.echo("HALTED: kill switch set (new orders refused from now; `milkbot resume` clears it)")
        if cancel_resting:
            _cancel_resting(settings, db, clock)
    finally:
        db.close()


def _cancel_resting(settings, db, clock) -> None:
    from daemon.trading.oms import OrderManager

    client = exchange_client(settings, clock)
    if client is None:
        typer.echo("no exchange reachable from here (SHADOW without a simulator URL, or no credentials): the running"
                   " daemon cancels resting orders at its next cycle when it sees the kill switch")
        return
    with client:
        oms = OrderManager(db, client, clock)
        oms.reconcile()
        results = oms.cancel_all(reason="kill_switch")
    for r in results:
        typer.echo(f"  {r.client_order_id}  {r.status}  ({r.order_state})")
    typer.echo(f"{len(results)} order(s) processed")


def resume(ctx: typer.Context, reason: str = typer.Option("operator resume", "--reason")) -> None:
    """Reconcile with the exchange, then return to ACTIVE (clears the kill switch)."""
    from daemon.trading import state as st
    from daemon.trading.oms import OrderManager

    settings = settings_from_ctx(ctx)
    clock = clock_for(settings)
    client = exchange_client(settings, clock)
    if client is None:  # resume promises a reconciliation first: without an exchange there is none
        typer.echo("error: no exchange reachable from here (SHADOW without a simulator URL, or no credentials):"
                   " cannot reconcile, so trading stays as it is", err=True)
        raise typer.Exit(EXIT_CONFIG)
    from daemon.ledger.access import duckdb_path, open_existing
    from daemon.ledger.db import LedgerLockedError
    from daemon.runtime.control import ControlFiles

    with user_errors():
        try:
            db = open_existing(settings.database_url)  # an existing ledger; never created here
        except LedgerLockedError:
            client.close()
            typer.echo("error: a running daemon holds the embedded ledger: stop it first, then `milkbot resume`"
                       " (resume reconciles through the ledger)", err=True)
            raise typer.Exit(EXIT_CONFIG) from None
    path = duckdb_path(settings.database_url)
    try:
        with client:
            report = OrderManager(db, client, clock).reconcile()
        if not report.complete or report.unexplained:
            typer.echo(f"error: reconciliation did not agree ({report.error or len(report.unexplained)}"
                       " unexplained); staying HALTED", err=True)
            raise typer.Exit(EXIT_CONFIG)
        typer.echo(f"reconciled: {report.to_dict()}")
        st.resume(db, clock, reason, _who())
        control = ControlFiles(path) if path is not None else None
        if control is not None and (request := control.pending_kill()) is not None:
            control.clear(request)  # a kill request no daemon applied: resume is the explicit go
        typer.echo("ACTIVE")
    finally:
        db.close()


def register(app: typer.Typer) -> None:
    app.command("kill")(kill)
    app.command("resume")(resume)
