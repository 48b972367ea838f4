"""Rolling-origin validation inside the data up to 2024-12-31 (the model's development protocol).

Fold A: fit on climate days <= 2024-08-31, score 2024-09-01..10-31. Fold B: fit <= 2024-10-31, score 11-01..12-31.
Prints model − market Brier per fold, horizon and city. Never scores 2025. Run: `milkbot bench model_folds`.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

from daemon.cities import load_registry
from daemon.model.data import load_dataset
from daemon.model.evaluate import evaluate
from daemon.model.fit import FitWindow, fit_params

HORIZONS = [30.0, 18.0, 14.0, 10.0, 6.0, 3.0]
FOLDS = ((date(2024, 8, 31), date(2024, 9, 1), date(2024, 10, 31)),
         (date(2024, 10, 31), date(2024, 11, 1), date(2024, 12, 31)))


def main() -> int:
    root = Path(os.environ.get("MILKBOT_SHARED_DATA", "/work/shared/data"))
    if not root.is_dir():
        print(f"skip: no data directory at {root}")
        return 0
    t0 = time.perf_counter()
    ds = load_dataset(root, load_registry())
    for fit_to, start, end in FOLDS:
        result = evaluate(ds, fit_params(ds, FitWindow(None, fit_to)), HORIZONS, start, end)
        print(f"fold fit<={fit_to} scored {start}..{end}: Δ = model − market Brier (markets)")
        for city in ("ALL", "AUS", "CHI", "DEN", "MIA", "NYC"):
            cells = [f"h{r['hours']}:{r['model_brier'] - r['market_brier']:+.4f}({r['markets']})"
                     for r in result.rows if r["city"] == city and r["markets"]]
            if cells:
                print(f"  {city:<4} " + " ".join(cells))
    print(f"\ntotal {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
