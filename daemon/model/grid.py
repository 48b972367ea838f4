"""The integer support of every distribution and the map from a pmf to bracket probabilities.

Hot path (every event of every decision cycle): no scipy.stats objects (`scipy.special.stdtr` is the
very function `scipy.stats.t.cdf` evaluates, without its argument checks), one mask per ladder.
Results are bit-for-bit those of the straightforward code (tests/model/test_decision_pins.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy.special import stdtr

from daemon.settlement.brackets import Bracket

GRID_LO, GRID_HI = -60, 150
GRID = np.arange(GRID_LO, GRID_HI + 1)
GRID_F = GRID.astype(float)
_CELL_EDGES = np.append(GRID, GRID_HI + 1) - 0.5   # lower edge of every cell, then the top edge


def index_of(value: int) -> int:
    return int(min(max(value, GRID_LO), GRID_HI) - GRID_LO)


def discrete_t(mean: float, sd: float, dof: float) -> np.ndarray:
    """Student-t (scaled so its sd is `sd`) integrated over each integer's ±0.5 cell, normalised on the grid."""
    scale = sd * np.sqrt((dof - 2.0) / dof)
    cdf = stdtr(dof, (_CELL_EDGES - mean) / scale)
    pmf = cdf[1:] - cdf[:-1]
    return pmf / pmf.sum()


def bracket_mask(ladder: Sequence[tuple[str, Bracket]]) -> np.ndarray:
    """Row i is 1 on the grid integers bracket i contains."""
    mask = np.zeros((len(ladder), len(GRID)))
    for i, (_, b) in enumerate(ladder):
        lo = 0 if b.lo is None else index_of(b.lo)
        hi = len(GRID) - 1 if b.hi is None else index_of(b.hi)
        mask[i, lo:hi + 1] = 1.0
    return mask


@lru_cache(maxsize=1024)
def ladder_mask(ladder: tuple[tuple[str, Bracket], ...]) -> np.ndarray:
    """`bracket_mask` of a ladder, once per distinct ladder (read-only: shared; ~10 KB a ladder)."""
    mask = bracket_mask(ladder)
    mask.flags.writeable = False
    return mask


def bracket_probabilities(pmf: np.ndarray, ladder: Sequence[tuple[str, Bracket]]) -> dict[str, float]:
    """P(YES) per ticker; normalised so a tiling ladder's probabilities sum to exactly 1 up to float rounding."""
    mask = ladder_mask(ladder) if isinstance(ladder, tuple) else bracket_mask(ladder)
    return masked_probabilities(pmf, mask, ladder)


def masked_probabilities(pmf: np.ndarray, mask: np.ndarray,
                         ladder: Sequence[tuple[str, Bracket]]) -> dict[str, float]:
    """`bracket_probabilities` with the ladder's mask already at hand."""
    probs = mask @ pmf
    total = probs.sum()
    if total > 0:
        probs = probs / total
    return dict(zip([ticker for ticker, _ in ladder], probs.tolist()))
