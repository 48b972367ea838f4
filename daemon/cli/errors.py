"""The last line of defence for bad input: an error the operator can fix, from any command, is one line on stderr
and exit code 2, never a traceback.

Operator errors are: an invalid configuration, a database that cannot be opened or read (including a corrupt
DuckDB ledger), a migration problem, and a filesystem error on a named path (a `--data-dir` or `--out` under a
regular file, a read-only or full disk). Anything else is a bug and keeps its traceback. Commands still handle
their own errors first; this only catches what escapes them. Nothing here deletes or rewrites a file.
"""

from __future__ import annotations

import re
from typing import Any

import typer
from typer.core import TyperGroup

EXIT_BAD_INPUT = 2


def operator_error_lines(exc: BaseException) -> list[str] | None:
    """What to print for `exc`, or None when it is not an operator error."""
    from daemon.config import ConfigError
    from daemon.ledger.db import DatabaseError
    from daemon.ledger.migrate import MigrationError

    if isinstance(exc, ConfigError):
        return [f"config error: {path}: {reason}" for path, reason in exc.problems]
    if isinstance(exc, (DatabaseError, MigrationError)):
        text = str(exc).strip()
        return [f"error: {text.splitlines()[0] if text else type(exc).__name__}"]
    if isinstance(exc, OSError) and exc.filename is not None:
        path = re.sub(r"^/+", "/", str(exc.filename))
        return [f"error: cannot use {path}: {exc.strerror or type(exc).__name__}"]
    return None


class OperatorErrorsGroup(TyperGroup):
    """The root command group: wraps every subcommand's invocation with `operator_error_lines`."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            lines = operator_error_lines(exc)
            if lines is None:
                raise
            for line in lines:
                typer.echo(line, err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
