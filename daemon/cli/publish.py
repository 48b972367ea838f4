"""`milkbot publish`: build the delayed public site and send it to a local folder, R2 or Pages.

Thin: settings and the ledger URL come from the daemon's configuration; the work is `publisher.publish`.
`--as-of` publishes as if it were that time (the cut-off is then as-of − delay) for audits and rebuilds.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from daemon.cli.common import settings_from_ctx
from publisher.cli import DATABASE_URL_ENV, OPERATOR_ERRORS, fail, parse_at, report
from publisher.publish import publish

app = typer.Typer(help="Publish the delayed public site (local folder, R2 or Pages).", invoke_without_command=True)


@app.callback()
def publish_command(
    ctx: typer.Context,
    target: str | None = typer.Option(None, "--target", help="local | r2 | pages (default from config)."),
    out: Path | None = typer.Option(None, "--out", help="Output folder for the local target."),
    as_of: str | None = typer.Option(None, "--as-of", "--at", help="Publish as if it were this ISO time."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List every uploaded and deleted file."),
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_from_ctx(ctx)
    config = settings.publisher
    url = os.environ.get(DATABASE_URL_ENV) or (
        config.database_url.get_secret_value() if config.database_url else settings.database_url)
    out_dir = out or config.output_dir or settings.data_dir / "site"
    try:
        result = publish(url, config, parse_at(as_of), target=target, out_dir=out_dir)
    except OPERATOR_ERRORS as exc:  # one line, no traceback (e.g. --as-of ahead of the Postgres clock)
        raise fail(exc) from None
    report(result, verbose)


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    directory: Path | None = typer.Option(None, "--dir", help="Built site folder (default: the local output)."),
    port: int = typer.Option(8000, "--port"),
) -> None:
    """Preview a built site on http://127.0.0.1:PORT with its _headers (CSP) applied. Loopback only."""
    from publisher import preview

    settings = settings_from_ctx(ctx)
    root = directory or settings.publisher.output_dir or settings.data_dir / "site"
    if not (root / "index.html").exists():
        typer.echo(f"{root} has no index.html: run `milkbot publish` first", err=True)
        raise typer.Exit(1)
    server = preview.make_server(root, port=port)
    typer.echo(f"serving {root} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
