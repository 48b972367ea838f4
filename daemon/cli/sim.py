"""`milkbot sim …`: run the local Kalshi-compatible exchange simulator."""

from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path

import typer

from daemon.cli.common import EXIT_CONFIG, settings_from_ctx

app = typer.Typer(help="The local exchange simulator (Kalshi REST v2 on loopback).", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_CONFIG)


@app.command("serve")
def serve(
    ctx: typer.Context,
    port: int = typer.Option(8765, "--port", help="TCP port on 127.0.0.1 (0 = any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Bind address (keep it loopback)."),
    api_key_id: list[str] = typer.Option([], "--api-key-id", help="Account key id (repeat, paired with a PEM)."),  # noqa: B008
    public_key_file: list[Path] = typer.Option([], "--public-key-file", help="Public key PEM for that key id."),  # noqa: B008
    balance_cents: int | None = typer.Option(None, "--balance-cents", help="Starting balance per account."),
    seed: int | None = typer.Option(None, "--seed", help="World seed (default: config sim.seed)."),
    state: Path | None = typer.Option(None, "--state", help="Journal file: state survives restarts."),  # noqa: B008
    truth: str = typer.Option("synthetic", "--truth", help="synthetic | recorded"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Shared-data directory for --truth recorded."),  # noqa: B008
    speed: float = typer.Option(1.0, "--speed", help="Simulated seconds per wall second (demo acceleration)."),
    start: str | None = typer.Option(None, "--start", help="Simulated start instant (ISO 8601, UTC)."),
    no_agents: bool = typer.Option(False, "--no-agents", help="No background liquidity."),
) -> None:
    """Serve `/trade-api/v2` until interrupted; prints the base URL to point a client at."""
    from daemon.cities import CityRegistryError
    from daemon.clock import AcceleratedClock, Clock, SystemClock, ensure_utc
    from daemon.exchange.signing import KeyFileError, load_public_key_pem
    from daemon.exchange.sim import SimExchange
    from daemon.exchange.sim.journal import SimStateError
    from daemon.exchange.sim.server import SimServer
    from daemon.simulation.truth import RecordedTruth, SyntheticTruth, TruthError, TruthSource

    settings = settings_from_ctx(ctx)
    config = settings.sim
    updates: dict[str, object] = {}
    if seed is not None:
        updates["seed"] = seed
    if no_agents:
        updates["agents"] = config.agents.model_copy(update={"enabled": False})
    config = config.model_copy(update=updates)
    if len(api_key_id) != len(public_key_file):
        raise _fail("--api-key-id and --public-key-file must be given in pairs")
    keys: list[tuple[str, str]] = []
    for key_id, pem_path in zip(api_key_id, public_key_file):
        try:
            pem = pem_path.read_text()
            load_public_key_pem(pem)
        except (OSError, KeyFileError) as exc:
            raise _fail(f"{pem_path}: not a readable PEM public key ({exc})") from None
        keys.append((key_id, pem))
    from daemon.simulation.demo import registry_for

    try:
        registry = registry_for(settings)  # the cities the daemon trades, [cities] extra_file included
    except CityRegistryError as exc:
        raise _fail(str(exc)) from None
    try:
        world: TruthSource
        if truth == "synthetic":
            world = SyntheticTruth(config.seed, registry)
        elif truth == "recorded":
            if data_dir is None:
                raise _fail("--truth recorded needs --data-dir (the shared-data layout)")
            world = RecordedTruth(data_dir, registry, seed=config.seed)
        else:
            raise _fail(f"--truth must be synthetic or recorded, not {truth!r}")
    except TruthError as exc:
        raise _fail(str(exc)) from None
    clock: Clock = SystemClock()
    if start is not None or speed != 1.0:
        try:
            origin = ensure_utc(datetime.fromisoformat(start)) if start else SystemClock().now()
        except ValueError as exc:
            raise _fail(f"--start: {exc}") from None
        clock = AcceleratedClock(origin, speed)
    try:
        exchange = SimExchange(registry, world, clock, config, state)
    except SimStateError as exc:
        raise _fail(str(exc)) from None
    for key_id, pem in keys:
        exchange.register_account(key_id, pem, balance_cents)
    exchange.step()
    server = SimServer(exchange, host=host, port=port, auth_clock=SystemClock(), step_interval_s=1.0)
    server.start()
    typer.echo(f"simulator serving {server.url} (seed {config.seed}, truth {truth}, {len(keys)} account(s))")
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    try:
        while not server.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        exchange.close()
