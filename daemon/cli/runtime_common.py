"""Shared by the runtime commands: an exchange client for the configured mode, the ledger, printing rows."""

from __future__ import annotations

from typing import Any

import typer

from daemon.config import Settings


def exchange_client(settings: Settings, clock: Any) -> Any | None:
    """The client the configured mode trades through, or None when there is none to reach from here.

    SHADOW trades only against a simulator: a configured `custom` base URL (e.g. `milkbot sim serve`), never a
    real exchange. DEMO/LIVE use the configured Kalshi environment.
    """
    from daemon.cli.common import EXIT_CONFIG
    from daemon.exchange.client import KalshiClient
    from daemon.exchange.hosts import ExchangeTargetError

    cfg = settings.exchange
    if settings.mode == "shadow" and (cfg.environment != "custom" or not cfg.base_url):
        return None
    if not cfg.key_id:
        return None
    try:  # the mode decides which hosts are allowed (SHADOW: loopback only), checked before any request
        return KalshiClient.from_config(cfg, clock, mode=settings.mode, env=settings.env)
    except ExchangeTargetError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


def echo_rows(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        typer.echo("  (none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    typer.echo("  " + "  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        typer.echo("  " + "  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))
