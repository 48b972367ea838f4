"""The vectorised hot path is the straightforward computation, bit for bit, beyond the pins."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import t as student_t

from daemon.model import members
from daemon.model.api import combine
from daemon.model.grid import GRID, GRID_HI, discrete_t
from daemon.settlement.brackets import Bracket


def _ladder(
    rng: random.Random, lo: int, n_inner: int, width: int
) -> tuple[tuple[str, Bracket], ...]:
    rungs = [("T-LOW", Bracket(None, lo - 1))]
    for k in range(n_inner):
        rungs.append((f"B{k}", Bracket(lo + width * k, lo + width * k + width - 1)))
    rungs.append(("T-HIGH", Bracket(lo + width * n_inner, None)))
    return tuple(rungs)


@pytest.mark.parametrize("seed", range(40))
def test_power_root_is_brentq(seed: int) -> None:
    rng = np.random.default_rng(seed)
    prices = rng.uniform(0.005, 0.6, size=int(rng.integers(2, 12)))
    prices *= rng.uniform(1.01, 1.6) / prices.sum()  # an over-round ladder

    def excess(k: float) -> float:
        return float(np.sum(prices**k) - 1.0)

    if excess(0.2) < 0 or excess(5.0) > 0:   # no root in range: proportional normalisation instead
        assert np.array_equal(members.power_normalise(prices), prices / prices.sum())
        return
    k = brentq(excess, 0.2, 5.0, xtol=1e-10)
    assert members.power_root(excess, 0.2, 5.0) == k
    assert np.array_equal(members.power_normalise(prices), prices**k / np.sum(prices**k))


def _old_discrete_t(mean: float, sd: float, dof: float) -> np.ndarray:
    scale = sd * np.sqrt((dof - 2.0) / dof)
    edges = (np.append(GRID, GRID_HI + 1) - 0.5 - mean) / scale
    pmf = np.diff(student_t.cdf(edges, dof))
    return pmf / pmf.sum()


@pytest.mark.parametrize(
    "mean,sd,dof",
    [
        (41.3, 3.2, 5.0),
        (-70.0, 9.0, 3.5),
        (88.125, 0.7, 30.0),
        (160.0, 4.0, 5.0),
        (12.0, 25.0, 2.2),
    ],
)
def test_discrete_t_is_scipy_stats_t(mean: float, sd: float, dof: float) -> None:
    assert np.array_equal(discrete_t(mean, sd, dof), _old_discrete_t(mean, sd, dof))


@pytest.mark.parametrize("seed", range(30))
def test_market_spread_layout_is_the_loop(seed: int) -> None:
    rng = random.Random(seed)
    ladder = _ladder(rng, rng.randint(-70, 150), rng.randint(0, 8), rng.choice((1, 2, 3)))
    mass = np.random.default_rng(seed).dirichlet(np.ones(len(ladder)))
    decay = rng.uniform(0.1, 0.95)
    layout = members._spread_layout(ladder, decay)
    loop = members._spread(mass, ladder, decay)
    if layout is None:  # brackets clamped onto shared grid cells: the loop itself is used
        return
    index, numer, denom = layout
    assert np.array_equal(mass[index] * numer / denom, loop)


def test_clamped_ladder_falls_back_to_the_loop() -> None:
    ladder = (("LOW", Bracket(None, 170)), ("MID", Bracket(171, 172)), ("HIGH", Bracket(173, None)))
    assert members._spread_layout(ladder, 0.55) is None


def test_zero_weight_members_change_nothing() -> None:
    rng = np.random.default_rng(3)
    pmfs = [p / p.sum() for p in rng.uniform(0, 1, size=(3, len(GRID)))]
    pmfs[1][:40] = 0.0
    full = combine(pmfs, [0.7, 0.0, 1.3])
    assert np.array_equal(full, combine([pmfs[0], pmfs[2]], [0.7, 1.3]))
    assert np.array_equal(combine(pmfs, [0.0, 0.0, 0.0]), combine(pmfs, [1.0, 1.0, 1.0]))
