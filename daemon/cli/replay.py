"""`milkbot replay <decision-id>`: recompute a decision from the ledger alone; exit 0 when identical."""

from __future__ import annotations

import typer

from daemon.cli.common import EXIT_CONFIG, open_db, settings_from_ctx, user_errors


def replay(ctx: typer.Context, decision_id: int = typer.Argument(..., help="ops.decisions id")) -> None:
    """Recompute one decision from its stored inputs and print original vs recomputed side by side."""
    from daemon.runtime.replay import FIELDS, ReplayError, replay_decision

    settings = settings_from_ctx(ctx)
    with user_errors():
        db = open_db(settings, read_only=True)
    try:
        result = replay_decision(db, decision_id)
    except ReplayError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    finally:
        db.close()
    typer.echo(f"decision {decision_id}")
    typer.echo(f"  {'field':<18}{'original':<28}{'recomputed':<28}")
    for name in FIELDS:
        a, b = result.original.get(name), result.recomputed.get(name)
        mark = "" if a == b else "  <-- differs"
        typer.echo(f"  {name:<18}{a!s:<28}{b!s:<28}{mark}")
    for note in result.notes:
        typer.echo(f"  note: {note}")
    typer.echo("identical" if result.identical else f"DIFFERENT: {', '.join(result.differences())}")
    raise typer.Exit(0 if result.identical else 1)


def register(app: typer.Typer) -> None:
    app.command("replay")(replay)
