"""The backtest over the whole recorded data set: wall time, peak memory, cycles, and the headline figures.

Runs `run_backtest` (the real daemon over the trade tape) twice: the reference rule alone
(bench/reference_maker.toml, wake times only) and the default strategies (the shipped config, hourly cycles,
walk-forward fits cached under the run folder). Peak memory is the process's maximum resident set (ru_maxrss).
Not a test.

    python -m bench.backtest [--data ../shared/data] [--from 2024-08-16] [--to 2025-02-28] [--only reference|default]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _one(which: str, data: Path, start: date, end: date, folder: Path) -> None:
    from daemon.backtest.runner import BacktestSpec, run_backtest
    from daemon.cities import load_registry
    from daemon.config import load_settings

    logging.getLogger("daemon").setLevel(logging.WARNING)
    config = REPO / "bench" / "reference_maker.toml" if which == "reference" else None
    settings = load_settings(config, {"MILKBOT_DATA_DIR": str(folder)})
    cadence = 360 if which == "reference" else 60
    spec = BacktestSpec(data, start, end, cadence_minutes=cadence, slow_cadence_minutes=max(cadence, 120),
                        refit=which != "reference", out_dir=folder / which)
    t0 = time.perf_counter()
    result = run_backtest(settings, spec, load_registry(settings.cities.file, settings.cities.extra_file))
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{which}: {result.days} climate days, {start}…{end}: {wall:.1f} s wall, peak RSS {peak_mb:.0f} MB, "
          f"orders {result.orders}, fills {result.fills}, P&L after fees ${result.pnl_after_fees:.2f}")
    for s in result.by_strategy:
        print(f"  {s.strategy}: {s.orders} orders, fill rate {s.fill_rate}, {s.filled_contracts} contracts, "
              f"{s.pnl_per_filled_contract_cents} ¢/contract [{s.ci_low}, {s.ci_high}]")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("MILKBOT_SHARED_DATA", REPO.parent / "shared" / "data")))
    parser.add_argument("--from", dest="start", type=date.fromisoformat, default=date(2024, 8, 16))
    parser.add_argument("--to", dest="end", type=date.fromisoformat, default=date(2025, 2, 28))
    parser.add_argument("--only", choices=("reference", "default"))
    parser.add_argument("--child", choices=("reference", "default"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _one(args.child, args.data.resolve(), args.start, args.end, args.folder)
        return
    folder = Path(tempfile.mkdtemp(prefix="milkbot-bench-backtest-"))
    for which in ([args.only] if args.only else ["reference", "default"]):
        # One process each, so each peak-memory figure is that run's own.
        subprocess.run([sys.executable, "-m", "bench.backtest", "--child", which, "--data", str(args.data),
                        "--from", str(args.start), "--to", str(args.end), "--folder", str(folder)],
                       cwd=REPO, check=True)


if __name__ == "__main__":
    main()
