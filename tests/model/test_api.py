"""price_event: probabilities sum to 1, deterministic, soft floor, invalid members, refusal of bad inputs."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.model.api import ModelInputError, ModelInputs, price_event
from daemon.model.params import CityClimate, ModelParams, default_params
from daemon.settlement.brackets import Bracket

DAY = date(2025, 1, 10)
DAY_START = datetime(2025, 1, 10, 5, tzinfo=UTC)  # NYC LST midnight
CLOSE = DAY_START + timedelta(days=1)


def ladder(base: int, n_between: int = 4) -> tuple[tuple[str, Bracket], ...]:
    rungs = [("T-LOW", Bracket(None, base - 1))]
    rungs += [(f"B{base + 2 * k}", Bracket(base + 2 * k, base + 2 * k + 1)) for k in range(n_between)]
    rungs.append(("T-HIGH", Bracket(base + 2 * n_between, None)))
    return tuple(rungs)


def fitted() -> ModelParams:
    return default_params().model_copy(update={"climate": {"NYC": CityClimate(mean_coef=(40.0, 0.0, 0.0),
                                                                               var_coef=(25.0, 0.0, 0.0))}})


def inputs(**kw) -> ModelInputs:
    base = dict(city_code="NYC", climate_day=DAY, decided_at=CLOSE - timedelta(hours=10), forecast_high_f=None,
                forecast_issued_at=None, observed_max_f=None, observed_until=None, brackets=ladder(36),
                market_yes_prices=(), lst_offset_hours=-5)
    base.update(kw)
    return ModelInputs(**base)


prices = st.one_of(st.none(), st.decimals(min_value=0, max_value=1, places=2))


@settings(max_examples=60, deadline=None)
@given(base=st.integers(-20, 110), n=st.integers(1, 6), forecast=st.one_of(st.none(), st.floats(-30, 120)),
       observed=st.one_of(st.none(), st.floats(-30, 120)), hours=st.floats(0.5, 40),
       quotes=st.lists(prices, min_size=8, max_size=8))
def test_bracket_probabilities_sum_to_one(base, n, forecast, observed, hours, quotes):
    lad = ladder(base, n)
    decided = CLOSE - timedelta(hours=hours)
    obs_until = decided - timedelta(minutes=5) if observed is not None and decided > DAY_START else None
    inp = inputs(brackets=lad, decided_at=decided, forecast_high_f=forecast,
                 forecast_issued_at=decided - timedelta(hours=3) if forecast is not None else None,
                 observed_max_f=observed if obs_until else None, observed_until=obs_until,
                 market_yes_prices=tuple((t, q) for (t, _), q in zip(lad, quotes)))
    result = price_event(inp, fitted())
    assert result.valid
    assert set(result.probabilities) == {t for t, _ in lad}
    assert math.isclose(sum(result.probabilities.values()), 1.0, abs_tol=1e-9)
    assert all(0.0 <= p <= 1.0 for p in result.probabilities.values())
    assert math.isclose(sum(result.pmf.values()), 1.0, abs_tol=1e-6)


def test_deterministic_for_same_inputs():
    inp = inputs(forecast_high_f=41.0, forecast_issued_at=CLOSE - timedelta(hours=20),
                 market_yes_prices=(("B36", Decimal("0.2")), ("B38", Decimal("0.4")), ("B40", Decimal("0.3"))))
    first, second = price_event(inp, fitted()), price_event(inp, fitted())
    assert first == second


def test_observed_max_is_a_soft_floor():
    decided = CLOSE - timedelta(hours=4)
    without = price_event(inputs(decided_at=decided), fitted())
    with_obs = price_event(inputs(decided_at=decided, observed_max_f=42.0, observed_until=decided - timedelta(minutes=7)),
                           fitted())
    below = sum(p for x, p in with_obs.pmf.items() if x < 41)
    at_minus_one = with_obs.pmf.get(41, 0.0)
    assert below < 1e-3                       # far below the observed max: essentially impossible
    assert 0 < at_minus_one < 0.05            # one degree under: the under-read leak, small but not zero
    assert with_obs.probabilities["B42"] + with_obs.probabilities["T-HIGH"] > 0.95
    assert without.probabilities["T-LOW"] > with_obs.probabilities["T-LOW"]


def test_floor_tightens_as_the_day_goes_on():
    params = fitted().model_copy(update={"nowcast": {"*": tuple(
        tuple([0.0, 0.02, 0.08] + [0.9 * (0.5 if h < 15 else 0.05) ** k for k in range(31)]) for h in range(24))}})
    early = CLOSE - timedelta(hours=20)
    late = CLOSE - timedelta(hours=3)
    sd = []
    for decided in (early, late):
        result = price_event(inputs(decided_at=decided, observed_max_f=38.0,
                                    observed_until=decided - timedelta(minutes=5)), params)
        nowcast = next(m for m in result.members if m.strategy == "nowcast")
        assert nowcast.valid
        sd.append(nowcast.uncertainty)
    assert sd[1] < sd[0]


def test_invalid_members_contribute_nothing_and_no_member_means_invalid():
    result = price_event(inputs(), default_params())  # no climatology fitted, no forecast, no prices, no obs
    assert not result.valid and result.probabilities == {}
    assert "no_valid_member" in result.reasons
    assert any("no_forecast" in r for r in result.reasons)
    market_only = price_event(inputs(market_yes_prices=(("B36", Decimal("0.5")), ("B38", Decimal("0.5")),
                                                        ("B40", Decimal("0.1")), ("B42", None), ("T-LOW", None),
                                                        ("T-HIGH", None))), default_params())
    assert market_only.valid
    assert [m.strategy for m in market_only.members if m.valid] == ["market"]
    assert market_only.probabilities["B36"] == pytest.approx(market_only.probabilities["B38"])


def test_look_ahead_inputs_are_not_used():
    decided = CLOSE - timedelta(hours=8)
    future = price_event(inputs(decided_at=decided, forecast_high_f=60.0, forecast_issued_at=decided + timedelta(hours=1),
                                observed_max_f=60.0, observed_until=decided + timedelta(minutes=1)), fitted())
    reasons = {m.strategy: m.reasons for m in future.members}
    assert reasons["forecast"] == ("forecast_issued_after_decision",)
    assert reasons["nowcast"] == ("observations_after_decision",)
    blind = price_event(inputs(decided_at=decided), fitted())
    assert future.probabilities == blind.probabilities   # the 60°F peek did not leak into the distribution


@pytest.mark.parametrize("bad", [dict(observed_max_f=float("nan"), observed_until=DAY_START),
                                 dict(forecast_high_f=float("inf"), forecast_issued_at=DAY_START),
                                 dict(decided_at=datetime(2025, 1, 10, 12)),
                                 dict(brackets=()),
                                 dict(market_yes_prices=(("B36", Decimal("1.5")),))])
def test_bad_inputs_are_refused(bad):
    with pytest.raises(ModelInputError):
        inputs(**bad)
