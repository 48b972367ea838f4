"""Helpers shared by the CLI command groups: settings from the global options, the ledger, the clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer

from daemon.clock import Clock, SystemClock
from daemon.config import ConfigError, Settings, load_settings
from daemon.ledger.db import Database, DatabaseError, connect

EXIT_CONFIG = 2


@dataclass
class CliState:
    config_file: Path | None = None
    database_url: str | None = None
    data_dir: Path | None = None
    _settings: Settings | None = None


def state_of(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = CliState()
    return root.obj


def settings_from_ctx(ctx: typer.Context) -> Settings:
    """The validated settings; exits 2 with every field path and reason when they are invalid."""
    state = state_of(ctx)
    if state._settings is None:
        try:
            state._settings = _load(state)
        except ConfigError as exc:
            for path, reason in exc.problems:
                typer.echo(f"config error: {path}: {reason}", err=True)
            raise typer.Exit(EXIT_CONFIG) from None
    return state._settings


def _load(state: CliState) -> Settings:
    import os

    env = dict(os.environ)
    if state.data_dir is not None:
        env["MILKBOT_DATA_DIR"] = str(state.data_dir)
    if state.database_url is not None:
        env["MILKBOT_DATABASE_URL"] = state.database_url
    return load_settings(state.config_file, env)


def open_db(settings: Settings, *, migrate_first: bool = True, read_only: bool = False) -> Database:
    """Open the ledger; by default bring its schema up to date first. `read_only=True` (the commands that
    only look) opens an existing ledger so nothing can be written, never creating or migrating one."""
    if read_only:
        from daemon.ledger.access import open_read_only

        return open_read_only(settings.database_url)
    db = connect(settings.database_url)
    if migrate_first:
        from daemon.ledger.migrate import migrate

        migrate(db)
    return db


def clock_for(settings: Settings) -> Clock:
    return SystemClock()


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors an operator can fix (config, database, migrations) into one line and exit code 2."""
    from daemon.ledger.migrate import MigrationError

    try:
        yield
    except ConfigError as exc:
        for path, reason in exc.problems:
            typer.echo(f"config error: {path}: {reason}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    except (DatabaseError, MigrationError) as exc:
        typer.echo(f"error: {str(exc).splitlines()[0]}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
