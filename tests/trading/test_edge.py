"""Edge after fees and the execution gates (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from daemon.economics.fees import taker_fee_per_contract
from daemon.trading.config import TradingConfig
from daemon.trading.edge import (
    DEPTH_BELOW_MIN,
    EDGE_BELOW_MIN,
    EDGE_OK,
    INVALID_PROBABILITY,
    INVALID_QUOTE,
    NO_MARKET,
    NO_YES_BID,
    SPREAD_TOO_WIDE,
    TOO_CLOSE_TO_CLOSE,
    Quote,
    evaluate_edge,
    max_price_for,
)

D = Decimal
POLICY = TradingConfig()  # min edge 0.03, max spread 0.03, min depth 10, no trade in the last 30 min


def q(bid: str | None, ask: str | None, size: str = "100") -> Quote:
    return Quote(D(bid) if bid else None, D(ask) if ask else None, D(size) if bid else None, D(size) if ask else None)


def test_buy_yes_edge_is_probability_minus_ask_minus_exact_fee() -> None:
    decision = evaluate_edge(0.60, q("0.50", "0.52"), POLICY, minutes_to_close=300)
    # fee(0.52) for one contract = ceil_cent(0.07 * 0.52 * 0.48 = 0.017472) = 0.02
    assert decision.side == "yes" and decision.price == D("0.52")
    assert decision.fee_per_contract == D("0.02")
    assert decision.edge == D("0.0600")
    assert decision.reasons == (EDGE_OK,)


def test_buy_no_uses_one_minus_yes_bid() -> None:
    decision = evaluate_edge(0.30, q("0.45", "0.47"), POLICY, minutes_to_close=300)
    # NO costs 1 - 0.45 = 0.55; edge = 0.70 - 0.55 - 0.02
    assert decision.side == "no" and decision.price == D("0.55")
    assert decision.edge == D("0.1300")


def test_edge_exactly_zero_after_fee_is_refused() -> None:
    decision = evaluate_edge(0.54, q("0.51", "0.52"), POLICY, minutes_to_close=300)
    assert decision.side is None and decision.edge == D("0.0000")
    assert EDGE_BELOW_MIN in decision.reasons


def test_edge_gate_is_inclusive_at_min_edge() -> None:
    decision = evaluate_edge(0.57, q("0.51", "0.52"), POLICY, minutes_to_close=300)
    assert decision.edge == D("0.0300") and decision.side == "yes"


def test_wide_spread_refused_even_with_edge() -> None:
    decision = evaluate_edge(0.90, q("0.40", "0.50"), POLICY, minutes_to_close=300)
    assert decision.side is None and SPREAD_TOO_WIDE in decision.reasons
    assert decision.edge is not None and decision.edge > POLICY.min_edge  # reported, not traded


def test_empty_side_is_no_market_never_a_zero_price() -> None:
    decision = evaluate_edge(0.99, q(None, "0.10"), POLICY, minutes_to_close=300)
    assert decision.side is None
    assert NO_MARKET in decision.reasons and NO_YES_BID in decision.reasons
    both_empty = evaluate_edge(0.5, Quote(None, None), POLICY, minutes_to_close=300)
    assert both_empty.side is None and both_empty.edge is None and NO_MARKET in both_empty.reasons


def test_no_trade_window_before_close() -> None:
    decision = evaluate_edge(0.60, q("0.50", "0.52"), POLICY, minutes_to_close=29.9)
    assert decision.side is None and decision.reasons == (TOO_CLOSE_TO_CLOSE,)
    assert evaluate_edge(0.60, q("0.50", "0.52"), POLICY, minutes_to_close=30).side == "yes"


def test_thin_book_refused() -> None:
    decision = evaluate_edge(0.60, q("0.50", "0.52", size="9"), POLICY, minutes_to_close=300)
    assert decision.side is None and decision.reasons == (DEPTH_BELOW_MIN,)


@pytest.mark.parametrize("p", [float("nan"), float("inf"), -0.01, 1.01, None, "0.5", True])
def test_bad_probability_refused(p: object) -> None:
    decision = evaluate_edge(p, q("0.50", "0.52"), POLICY, minutes_to_close=300)  # type: ignore[arg-type]
    assert decision.side is None and decision.reasons == (INVALID_PROBABILITY,)


@pytest.mark.parametrize("quote", [q("0.55", "0.52"), q("0", "0.52"), q("0.50", "1.00"),
                                   Quote(D("0.5"), D("0.52"), D("-1"), D("5")), Quote(D("NaN"), D("0.5"))])
def test_bad_quote_refused(quote: Quote) -> None:
    assert evaluate_edge(0.5, quote, POLICY, minutes_to_close=300).reasons == (INVALID_QUOTE,)


def test_policy_thresholds_are_config() -> None:
    loose = TradingConfig(min_edge=D("0"), max_spread=D("0.10"), min_depth=D("0"), no_trade_minutes_before_close=0)
    assert evaluate_edge(0.90, q("0.40", "0.50", size="1"), loose, minutes_to_close=1).side == "yes"


def test_max_price_for_is_the_last_cent_meeting_min_edge() -> None:
    price = max_price_for("yes", 0.60, D("0.03"))
    assert price is not None
    assert D("0.60") - price - taker_fee_per_contract(price) >= D("0.03")
    above = price + D("0.01")
    assert D("0.60") - above - taker_fee_per_contract(above) < D("0.03")
    assert max_price_for("yes", 0.01, D("0.03")) is None


cents = hs.integers(1, 99).map(lambda c: D(c) / 100)


@settings(max_examples=150, deadline=None)
@given(p=hs.floats(0, 1), bid=cents, spread=hs.integers(0, 5), size=hs.integers(0, 500),
       minutes=hs.floats(0, 2000))
def test_any_trade_is_priced_no_worse_than_fair_value_minus_min_edge(
    p: float, bid: Decimal, spread: int, size: int, minutes: float,
) -> None:
    ask = bid + D(spread) / 100
    if ask >= 1:
        return
    decision = evaluate_edge(p, Quote(bid, ask, D(size), D(size)), POLICY, minutes_to_close=minutes)
    if decision.side is None:
        assert decision.reasons and decision.price is None
        return
    p_win = D(repr(p)) if decision.side == "yes" else 1 - D(repr(p))
    assert decision.price == (ask if decision.side == "yes" else 1 - bid)
    assert decision.price + decision.fee_per_contract + POLICY.min_edge <= p_win
    assert decision.edge >= POLICY.min_edge and isinstance(decision.edge, Decimal)
