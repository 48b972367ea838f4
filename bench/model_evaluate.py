"""Model fit + point-in-time evaluation on the shared data: out-of-sample split and wall time.

Fits on climate days up to 2024-12-31 and scores 2025-01-01..2025-02-28 (never tuned on the scored days), then prints
the table and how long each step took. Run: `milkbot bench model_evaluate` (needs /work/shared/data or $MILKBOT_SHARED_DATA).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

from daemon.cities import load_registry
from daemon.model.data import load_dataset
from daemon.model.evaluate import evaluate, format_table
from daemon.model.fit import FitWindow, fit_params

HORIZONS = [30.0, 18.0, 14.0, 10.0, 6.0, 3.0]


def main() -> int:
    root = Path(os.environ.get("MILKBOT_SHARED_DATA", "/work/shared/data"))
    if not root.is_dir():
        print(f"skip: no data directory at {root}")
        return 0
    t0 = time.perf_counter()
    ds = load_dataset(root, load_registry())
    t1 = time.perf_counter()
    params = fit_params(ds, FitWindow(None, date(2024, 12, 31)))
    t2 = time.perf_counter()
    result = evaluate(ds, params, HORIZONS, date(2025, 1, 1), date(2025, 2, 28))
    t3 = time.perf_counter()
    print(format_table(result))
    print(f"\nload {t1 - t0:.1f}s  fit (<=2024-12-31) {t2 - t1:.1f}s  evaluate (2025-01..02, {len(HORIZONS)} horizons) "
          f"{t3 - t2:.1f}s  params hash {params.hash()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
