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
    from daemon.exchange.client import KalshiClient

    cfg = settings.exchange
    if settings.mode == "shadow":
        if cfg.environment != "custom" or not cfg.base_url:
            return None
        host = (cfg.base_url.split("//", 1)[-1].split("/", 1)[0]).split(":")[0]
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise typer.BadParameter("SHADOW mode trades only against a loopback simulator")
    if not cfg.key_id:
        return None
    return KalshiClient.from_config(cfg, clock)


def echo_rows(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        typer.echo("  (none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    typer.echo("  " + "  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        typer.echo("  " + "  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))
