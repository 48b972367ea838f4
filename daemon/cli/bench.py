"""`milkbot bench`: run the benchmarks in bench/ (each prints its own figures). Never part of the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO / "bench"

app = typer.Typer(help="Run benchmarks from bench/ and print their figures.", invoke_without_command=True)


def available() -> list[str]:
    return sorted(p.stem for p in BENCH_DIR.glob("*.py") if not p.stem.startswith("_"))


@app.callback()
def bench(
    names: list[str] = typer.Argument(None, help="Benchmarks to run (prefix match, e.g. 'sim'); 'all' or none = all."),
    list_only: bool = typer.Option(False, "--list", help="List the benchmarks and exit."),
) -> None:
    found = available()
    if list_only:
        typer.echo("\n".join(found))
        return
    wanted = found if not names or names == ["all"] else [b for b in found if any(b.startswith(n) for n in names)]
    if not wanted:
        typer.echo(f"no benchmark matches {names}; available: {', '.join(found)}", err=True)
        raise typer.Exit(2)
    failed = []
    for name in wanted:
        typer.echo(f"== bench.{name}")
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=REPO).returncode != 0:
            failed.append(name)
    if failed:
        typer.echo(f"failed: {', '.join(failed)}", err=True)
        raise typer.Exit(1)
