"""Pool-weight selection: the market-only pool is the default and the fallback; tuned weights only when validated."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from daemon.model.api import ModelInputs, apply_floor, price_event
from daemon.model.fit import Sample, fit_weights
from daemon.model.grid import GRID, bracket_mask, discrete_t, index_of
from daemon.model.params import FLOOR_OFF, default_params
from daemon.settlement.brackets import Bracket

LADDER = (("LOW", Bracket(None, 39)), ("B40", Bracket(40, 41)), ("B42", Bracket(42, 43)), ("HIGH", Bracket(44, None)))


def _sample(day: int, truth: int, market: np.ndarray, clim: np.ndarray) -> Sample:
    mask = bracket_mask(LADDER)
    y = np.array([float(b.contains(truth)) for _, b in LADDER])
    return Sample("3", 3, {"market": np.log(market + 1e-9), "climatology": np.log(clim + 1e-9)}, None, mask, y,
                  None, np.ones(len(LADDER)), date(2024, 9, 1) + timedelta(days=day))


def _market_pmf(masses: list[float]) -> np.ndarray:
    pmf = np.zeros(len(GRID))
    for m, (_, b) in zip(masses, LADDER):
        lo = index_of(b.lo) if b.lo is not None else index_of(30)
        hi = index_of(b.hi) if b.hi is not None else index_of(53)
        pmf[lo:hi + 1] += m / (hi - lo + 1)
    return pmf / pmf.sum()


def test_default_params_price_like_the_market_with_its_over_round_removed():
    close = datetime(2025, 1, 11, 5, tzinfo=UTC)
    quotes = (Decimal("0.10"), Decimal("0.30"), Decimal("0.40"), Decimal("0.40"))  # sums to 1.2: incoherent
    inputs = ModelInputs("NYC", date(2025, 1, 10), close - timedelta(hours=20), None, None, None, None, LADDER,
                         tuple((t, q) for (t, _), q in zip(LADDER, quotes)), lst_offset_hours=-5)
    probs = [price_event(inputs, default_params()).probabilities[t] for t, _ in LADDER]
    k = math.log(probs[0]) / math.log(0.10)  # power method: P_i = q_i ** k
    assert k > 1 and math.isclose(sum(probs), 1.0, abs_tol=1e-9)
    assert all(math.isclose(p, float(q) ** k, rel_tol=1e-6) for p, q in zip(probs, quotes))
    assert probs[0] < 0.10 / 1.2  # the long shot loses more than a proportional share


def test_untraded_brackets_share_what_the_traded_ones_leave():
    close = datetime(2025, 1, 11, 5, tzinfo=UTC)
    quotes = (None, Decimal("0.50"), None, Decimal("0.10"))  # 0.40 left for two untraded brackets
    inputs = ModelInputs("NYC", date(2025, 1, 10), close - timedelta(hours=30), None, None, None, None, LADDER,
                         tuple((t, q) for (t, _), q in zip(LADDER, quotes)), lst_offset_hours=-5)
    result = price_event(inputs, default_params())
    assert result.valid
    assert math.isclose(result.probabilities["LOW"], 0.20, abs_tol=1e-6)
    assert math.isclose(result.probabilities["B40"], 0.50, abs_tol=1e-6)


def test_floor_off_leaves_the_pmf_alone_and_a_leak_cuts_below_the_floor():
    pmf = discrete_t(50.0, 3.0, 5.0)
    assert np.array_equal(apply_floor(pmf, index_of(51), FLOOR_OFF), pmf)
    cut = apply_floor(pmf, index_of(51), 0.05)
    assert cut[: index_of(50)].sum() < 1e-3 and cut[index_of(51):].sum() > 0.9


def test_too_few_samples_fall_back_to_the_market_only_pool():
    group = [_sample(i, 42, _market_pmf([0.1, 0.2, 0.5, 0.2]), discrete_t(42, 2, 5)) for i in range(10)]
    weights, leak, note = fit_weights(group, 0.01)
    assert weights == {"climatology": 0.0, "nowcast": 0.0, "market": 1.0} and leak == FLOOR_OFF
    assert note["chosen"] == "market_only_too_few"


@pytest.mark.parametrize("informative_climate", [True, False])
def test_weather_weight_is_kept_only_when_it_wins_on_the_newest_days(informative_climate):
    rng = np.random.default_rng(3)
    group = []
    for i in range(60):
        truth = int(rng.integers(38, 46))
        centre = truth if informative_climate else int(rng.integers(30, 55))
        group.append(_sample(i, truth, _market_pmf([0.25, 0.25, 0.25, 0.25]), discrete_t(centre, 1.5, 5)))
    weights, _, note = fit_weights(group, 0.01)
    if informative_climate:
        assert note["chosen"] != "market_only" and weights["climatology"] > 0
    else:
        assert note["chosen"] == "market_only" and weights["climatology"] == 0.0
