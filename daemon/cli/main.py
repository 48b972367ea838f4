"""The `milkbot` command: run, inspect and stop every part of Milkbot."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Optional

import typer

from daemon.cli.common import EXIT_CONFIG, settings_from_ctx, state_of, user_errors
from daemon.cli.errors import OperatorErrorsGroup
from daemon.config import ConfigError, load_settings

# The root group turns an operator error escaping any command into one line and exit 2 (daemon/cli/errors.py).
app = typer.Typer(help="Milkbot: Kalshi daily-high temperature trading.", no_args_is_help=True,
                  cls=OperatorErrorsGroup)
config_app = typer.Typer(help="Show and validate the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="The ledger database: migrations and status.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")


@app.callback()
def main(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="TOML config file (default $MILKBOT_CONFIG)."),
    database_url: Optional[str] = typer.Option(None, "--database-url", help="postgresql://… or duckdb:///file."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Data directory (default $MILKBOT_DATA_DIR)."),
) -> None:
    state = state_of(ctx)
    state.config_file, state.database_url, state.data_dir = config, database_url, data_dir


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration (secrets as ***) and its hash."""
    settings = settings_from_ctx(ctx)
    typer.echo(json.dumps(settings.canonical(), indent=2, sort_keys=True))
    typer.echo(f"config_hash: {settings.config_hash}")


@config_app.command("check")
def config_check(ctx: typer.Context, file: Optional[Path] = typer.Argument(None, help="File to check.")) -> None:
    """Validate a configuration; exit 2 naming each bad field and why."""
    state = state_of(ctx)
    try:
        import os

        settings = load_settings(file or state.config_file, os.environ)
    except ConfigError as exc:
        for path, reason in exc.problems:
            typer.echo(f"config error: {path}: {reason}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    typer.echo(f"ok: env={settings.env} mode={settings.mode} config_hash={settings.config_hash}")


@db_app.command("migrate")
def db_migrate(ctx: typer.Context) -> None:
    """Apply pending migrations (safe to run twice)."""
    from daemon.ledger.db import connect, redact_url
    from daemon.ledger.migrate import migrate

    settings = settings_from_ctx(ctx)
    with user_errors(), connect(settings.database_url) as db:
        applied = migrate(db)
    for version in applied:
        typer.echo(f"applied {version}")
    typer.echo(f"{redact_url(settings.database_url)}: {len(applied)} applied, schema up to date")


@db_app.command("status")
def db_status(ctx: typer.Context) -> None:
    """List migrations: applied (with time), pending, or changed since applied."""
    from daemon.ledger.db import connect
    from daemon.ledger.migrate import status

    settings = settings_from_ctx(ctx)
    with user_errors(), connect(settings.database_url) as db:
        rows = status(db)
    changed = False
    for s in rows:
        if s.changed:
            label, changed = "CHANGED", True
        elif s.applied_at:
            label = f"applied {s.applied_at:%Y-%m-%d %H:%M:%SZ}"
        else:
            label = "pending"
        typer.echo(f"{s.migration.version:<40} {label}")
    if changed:
        typer.echo("error: an applied migration was edited; restore it and add a new migration instead", err=True)
        raise typer.Exit(EXIT_CONFIG)


# Command groups owned by each area, registered when their module is present.
_GROUPS = {
    "sim": "daemon.cli.sim",
    "weather": "daemon.cli.weather",
    "model": "daemon.cli.model",
    "risk": "daemon.cli.risk",
    "orders": "daemon.cli.orders",
    "publish": "daemon.cli.publish",
    "bench": "daemon.cli.bench",
    "golive": "daemon.cli.golive",
}
# Top-level commands owned by the runtime: each module exposes `register(app)`.
_COMMANDS = ("daemon.cli.run", "daemon.cli.demo", "daemon.cli.replay", "daemon.cli.status", "daemon.cli.control",
             "daemon.cli.backtest")


def _register_groups() -> None:
    for name, module_name in _GROUPS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        app.add_typer(module.app, name=name)
    for module_name in _COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.register(app)


_register_groups()

if __name__ == "__main__":  # `python -m daemon.cli.main …` runs the CLI as `milkbot …` does
    app(prog_name="milkbot")
