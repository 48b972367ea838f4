"""The integer support of every distribution and the map from a pmf to bracket probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import t as student_t

from daemon.settlement.brackets import Bracket

GRID_LO, GRID_HI = -60, 150
GRID = np.arange(GRID_LO, GRID_HI + 1)


def index_of(value: int) -> int:
    return int(min(max(value, GRID_LO), GRID_HI) - GRID_LO)


def discrete_t(mean: float, sd: float, dof: float) -> np.ndarray:
    """Student-t (scaled so its sd is `sd`) integrated over each integer's ±0.5 cell, normalised on the grid."""
    scale = sd * np.sqrt((dof - 2.0) / dof)
    edges = (np.append(GRID, GRID_HI + 1) - 0.5 - mean) / scale
    pmf = np.diff(student_t.cdf(edges, dof))
    return pmf / pmf.sum()


def bracket_mask(ladder: Sequence[tuple[str, Bracket]]) -> np.ndarray:
    """Row i is 1 on the grid integers bracket i contains."""
    mask = np.zeros((len(ladder), len(GRID)))
    for i, (_, b) in enumerate(ladder):
        lo = 0 if b.lo is None else index_of(b.lo)
        hi = len(GRID) - 1 if b.hi is None else index_of(b.hi)
        mask[i, lo:hi + 1] = 1.0
    return mask


def bracket_probabilities(pmf: np.ndarray, ladder: Sequence[tuple[str, Bracket]]) -> dict[str, float]:
    """P(YES) per ticker; normalised so a tiling ladder's probabilities sum to exactly 1 up to float rounding."""
    probs = bracket_mask(ladder) @ pmf
    total = probs.sum()
    if total > 0:
        probs = probs / total
    return {ticker: float(p) for (ticker, _), p in zip(ladder, probs)}
