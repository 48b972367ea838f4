"""Command line for the publisher on its own (`python -m publisher`): no daemon import, no trading secret.

The daemon's `milkbot publish` offers the same options with the daemon's settings file.
Settings here: `MILKBOT_PUBLISHER__<FIELD>` environment variables; the database URL from
`--database-url` or `MILKBOT_PUBLISHER_DATABASE_URL`.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import typer

from publisher._resources import ResourceError
from publisher.clock import Clock, SystemClock, ensure_utc
from publisher.config import PublisherConfig
from publisher.db import PublisherDBError
from publisher.publish import PublishResult, publish
from publisher.queries import EmbargoError, FutureCutoffError
from publisher.targets.local import OutputDirError
from publisher.targets.pages import PagesError
from publisher.targets.r2 import R2Error

ENV_PREFIX = "MILKBOT_PUBLISHER__"
DATABASE_URL_ENV = "MILKBOT_PUBLISHER_DATABASE_URL"

app = typer.Typer(help="Build and publish the delayed public site.", add_completion=False)

class AheadOfClockError(EmbargoError):
    """`--as-of` later than the clock: the cut-off would be under an hour old, or not yet reached.

    Postgres would clamp it (FutureCutoffError); DuckDB has no clamp and would publish fills a
    minute old. Refused on both engines, before the database is opened.
    """


# What an operator can act on: printed as one line, no traceback. The previous release stays in place.
OPERATOR_ERRORS = (PublisherDBError, EmbargoError, R2Error, PagesError, ResourceError, FileExistsError,
                   OutputDirError)
BAD_INPUT = (FutureCutoffError, AheadOfClockError, OutputDirError)
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def fail(exc: BaseException) -> typer.Exit:
    """Print `publish failed: …` on one line; a publish time ahead of the database clock or an output folder
    that cannot be written is bad input (2)."""
    typer.echo(f"publish failed: {' '.join(str(exc).split())}", err=True)
    return typer.Exit(EXIT_BAD_INPUT if isinstance(exc, BAD_INPUT) else EXIT_FAILED)


def config_from_env(env: dict[str, str]) -> PublisherConfig:
    fields = {k[len(ENV_PREFIX):].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX)}
    return PublisherConfig(**fields)


def parse_at(value: str | None, clock: Clock | None = None) -> datetime:
    now = (clock or SystemClock()).now()
    if value is None:
        return now
    try:
        at = ensure_utc(datetime.fromisoformat(value))
    except ValueError as exc:
        raise typer.BadParameter(f"--at: {exc}") from None
    if at > now:
        raise AheadOfClockError(
            f"publish time {at:%Y-%m-%dT%H:%M:%SZ} is ahead of the clock"
            f" ({now:%Y-%m-%dT%H:%M:%SZ}): it would publish trades younger than the delay; use --as-of {now:%Y-%m-%dT%H:%MZ}"
            " or earlier")
    return at


def report(result: PublishResult, verbose: bool = False) -> None:
    b, s = result.build, result.sync
    typer.echo(f"built {b.files} files ({b.bytes:,} bytes, {b.trades} trades) as of {b.cutoff:%Y-%m-%d %H:%MZ} "
               f"(published {b.published_at:%Y-%m-%d %H:%MZ})")
    if verbose:
        for label, paths in (("uploaded", s.uploaded), ("deleted", s.deleted)):
            for path in paths:
                typer.echo(f"  {label} {path}")
    typer.echo(s.summary())


@app.command()
def main(
    target: str | None = typer.Option(None, "--target", help="local | r2 | pages"),
    out: Path | None = typer.Option(None, "--out", help="Output folder for the local target."),
    at: str | None = typer.Option(None, "--at", "--as-of", help="Publish as if it were this ISO time."),
    database_url: str | None = typer.Option(None, "--database-url", help="postgresql://… or duckdb:///file"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
) -> None:
    config = config_from_env(dict(os.environ))
    url = database_url or os.environ.get(DATABASE_URL_ENV) or (
        config.database_url.get_secret_value() if config.database_url else None)
    if not url:
        raise typer.BadParameter(f"no database: pass --database-url or set {DATABASE_URL_ENV}")
    try:
        result = publish(url, config, parse_at(at), target=target, out_dir=out)
    except OPERATOR_ERRORS as exc:
        raise fail(exc) from None
    report(result, verbose)
