"""Fractional Kelly sizing after fees (pure), with property tests."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from daemon.trading.config import TradingConfig
from daemon.trading.sizing import SizingError, kelly_count, kelly_fraction_of_bankroll

D = Decimal
POLICY = TradingConfig()  # quarter Kelly, 95 contracts max


def test_quarter_kelly_example() -> None:
    # cost 0.52 + 0.02 = 0.54; full Kelly f* = (0.60 - 0.54) / 0.46 = 0.1304..; quarter of $500 = $16.30 → 30
    assert kelly_count(0.60, D("0.52"), D("0.02"), D("500"), POLICY) == D(30)


def test_clipped_by_max_contracts() -> None:
    assert kelly_count(0.60, D("0.52"), D("0.02"), D("5000"), POLICY) == D(95)
    small = TradingConfig(max_contracts=D("7"))
    assert kelly_count(0.60, D("0.52"), D("0.02"), D("5000"), small) == D(7)


def test_zero_without_edge_after_fees() -> None:
    assert kelly_count(0.54, D("0.52"), D("0.02"), D("5000"), POLICY) == 0  # p == price + fee
    assert kelly_count(0.53, D("0.52"), D("0.00"), D("5000"), POLICY) > 0  # same price, no fee: an edge
    assert kelly_count(0.10, D("0.52"), D("0.02"), D("5000"), POLICY) == 0


def test_half_size_multiplier() -> None:
    full = kelly_count(0.60, D("0.52"), D("0.02"), D("500"), POLICY)
    half = kelly_count(0.60, D("0.52"), D("0.02"), D("500"), POLICY, multiplier=D("0.5"))
    assert half == D(15) and half <= full / 2


@pytest.mark.parametrize("p", [float("nan"), float("inf"), -0.1, 1.1])
def test_bad_probability_raises(p: float) -> None:
    with pytest.raises(SizingError):
        kelly_count(p, D("0.5"), D("0.02"), D("100"), POLICY)


@pytest.mark.parametrize("price", [D("0"), D("1"), D("NaN")])
def test_bad_price_raises(price: Decimal) -> None:
    with pytest.raises(SizingError):
        kelly_count(0.5, price, D("0.02"), D("100"), POLICY)


def test_float_price_refused() -> None:
    with pytest.raises(SizingError):
        kelly_count(0.5, 0.4, D("0.02"), D("100"), POLICY)  # type: ignore[arg-type]


prices = hs.integers(1, 99).map(lambda c: D(c) / 100)
fees = hs.integers(0, 2).map(lambda c: D(c) / 100)
bankrolls = hs.integers(0, 100_000).map(D)


@settings(max_examples=150, deadline=None)
@given(p=hs.floats(0, 1), price=prices, fee=fees, bankroll=bankrolls)
def test_never_negative_whole_and_bounded(p: float, price: Decimal, fee: Decimal, bankroll: Decimal) -> None:
    n = kelly_count(p, price, fee, bankroll, POLICY)
    assert 0 <= n <= POLICY.max_contracts and n == n.to_integral_value()
    assert n * (price + fee) <= bankroll * POLICY.kelly_fraction  # never stakes more than the Kelly share


@settings(max_examples=150, deadline=None)
@given(p=hs.floats(0, 1), price=prices, fee=fees, bankroll=bankrolls)
def test_zero_when_edge_not_positive(p: float, price: Decimal, fee: Decimal, bankroll: Decimal) -> None:
    if D(repr(p)) - price - fee <= 0:
        assert kelly_count(p, price, fee, bankroll, POLICY) == 0
        assert kelly_fraction_of_bankroll(p, price + fee) == 0


@settings(max_examples=150, deadline=None)
@given(p1=hs.floats(0, 1), p2=hs.floats(0, 1), price=prices, fee=fees, bankroll=bankrolls)
def test_monotone_in_edge(p1: float, p2: float, price: Decimal, fee: Decimal, bankroll: Decimal) -> None:
    lo, hi = sorted((p1, p2))
    assert kelly_count(lo, price, fee, bankroll, POLICY) <= kelly_count(hi, price, fee, bankroll, POLICY)
