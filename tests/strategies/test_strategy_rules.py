"""The strategies on hand-made event views: each rule's entry, hold, withdrawal and guard."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from daemon.settlement.brackets import Bracket
from daemon.strategies import build_strategies
from daemon.strategies.base import EventView, MarketView, OwnState
from daemon.strategies.config import StrategiesConfig
from daemon.strategies.fixed_offset_maker import FixedOffsetMaker, FixedOffsetMakerConfig
from daemon.strategies.model_maker import ModelMaker, ModelMakerConfig
from daemon.strategies.taker import EXIT, OPPOSITE_SIDE, RESTING_EDGE_GONE, TakerStrategy
from daemon.trading.config import TradingConfig

CLOSE = datetime(2025, 1, 10, 4, 59, tzinfo=UTC)
D = Decimal


def market(ticker: str = "KXHIGHNY-25JAN09-B40.5", *, hours_to_close: float = 18, last: str | None = "0.20",
           bid: str | None = "0.18", ask: str | None = "0.21", p_yes: float | None = 0.2, decided=None,
           position: str = "0", own: OwnState | None = None, lo: int | None = 40, hi: int | None = 41) -> MarketView:
    return MarketView(
        ticker=ticker, snapshot_id=1, status="active", bracket=Bracket(lo, hi), close_time=CLOSE,
        minutes_to_close=hours_to_close * 60, yes_bid=None if bid is None else D(bid),
        yes_ask=None if ask is None else D(ask), yes_bid_size=D(50), yes_ask_size=D(50),
        last_price=None if last is None else D(last), p_yes=p_yes, decided=decided, market_position=D(position),
        own=own or OwnState())


def event(*markets: MarketView, blocked=(), weather_blocked=()) -> EventView:
    return EventView("NYC", CLOSE.date(), CLOSE - timedelta(hours=18), tuple(markets), D(5000), D(1),
                     tuple(blocked), tuple(weather_blocked))


# -- fixed_offset_maker --------------------------------------------------------------------------------------
REF = FixedOffsetMaker(FixedOffsetMakerConfig(hours_before_close=18, max_last_yes=D("0.50"), ask_offset=D("0.20"),
                                              order_size=D(10)))


def test_reference_maker_rests_a_yes_ask_at_last_plus_offset_at_the_entry_time() -> None:
    [d] = REF.decide(event(market(last="0.31")))
    assert (d.outcome, d.side, d.price, d.size, d.role) == ("trade", "no", D("0.49"), D(10), "make")
    assert d.features["yes_ask"] == "0.51"


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"hours_to_close": 18.01}, "before_entry_time"),
    ({"last": "0.51"}, "last_above_max"),
    ({"last": None}, "no_last_trade"),
    ({"hours_to_close": 18 - 1 / 60}, "after_entry_time"),   # the rule decides once, at its entry instant
])
def test_reference_maker_skips_outside_its_rule(kwargs, reason) -> None:
    [d] = REF.decide(event(market(**kwargs)))
    assert d.outcome == "skip" and reason in d.reasons


def test_reference_maker_holds_once_placed_and_ignores_the_weather() -> None:
    [d] = REF.decide(event(market(own=OwnState(placed=True), last="0.45")))
    assert d.outcome == "hold"
    [d] = REF.decide(event(market(), weather_blocked=["weather_missing"]))
    assert d.outcome == "trade"          # needs no weather
    [d] = REF.decide(event(market(), blocked=["trading_state:HALTED"]))
    assert d.outcome == "blocked"


def test_wake_time_is_close_minus_hours() -> None:
    assert REF.wake_times(CLOSE) == (CLOSE - timedelta(hours=18),)


# -- model_maker -------------------------------------------------------------------------------------------
MM = ModelMaker(ModelMakerConfig(max_p_yes=D("0.35"), min_margin=D("0.10"), ask_spread=D("0.20"),
                                 max_event_contracts=D(20), order_size=D(10)))


def test_model_maker_asks_the_higher_of_last_plus_spread_and_fair_plus_margin() -> None:
    [d] = MM.decide(event(market(last="0.05", p_yes=0.30)))
    assert (d.outcome, d.side, d.price) == ("trade", "no", D("0.60"))   # ask 0.40 = fair 0.30 + 0.10
    [d] = MM.decide(event(market(last="0.25", p_yes=0.10)))
    assert d.price == D("0.55")                                          # ask 0.45 = last 0.25 + 0.20


def test_model_maker_withdraws_when_the_bracket_may_win() -> None:
    resting = OwnState(resting=(("no", D("0.55"), D(10)),), placed=True)
    [d] = MM.decide(event(market(p_yes=0.40, own=resting)))
    assert d.outcome == "skip" and "fair_above_max" in d.reasons
    [d] = MM.decide(event(market(p_yes=0.05, decided="won", own=resting)))
    assert d.outcome == "skip" and "nowcast_won" in d.reasons


def test_model_maker_does_not_requote_after_a_fill_and_caps_event_inventory() -> None:
    [d] = MM.decide(event(market(own=OwnState(position=D(-10), placed=True))))
    assert d.outcome == "hold"
    full = OwnState(resting=(("no", D("0.55"), D(10)),), placed=True)
    other = market("KXHIGHNY-25JAN09-B42.5", own=replace(full), lo=42, hi=43)
    decisions = MM.decide(event(market(last="0.05", p_yes=0.1, own=OwnState(position=D(-10), placed=True),
                                       lo=38, hi=39), other, market("KXHIGHNY-25JAN09-B44.5", lo=44, hi=45)))
    assert decisions[2].outcome == "skip" and "event_inventory_full" in decisions[2].reasons


def test_model_maker_keeps_an_order_within_refresh_tolerance_and_reprices_beyond() -> None:
    own = OwnState(resting=(("no", D("0.55"), D(10)),), placed=True)   # ask 0.45
    [d] = MM.decide(event(market(last="0.26", p_yes=0.1, own=own)))     # wants 0.46
    assert d.outcome == "hold"
    [d] = MM.decide(event(market(last="0.30", p_yes=0.1, own=own)))     # wants 0.50
    assert (d.outcome, d.price) == ("trade", D("0.50"))


def test_model_maker_quotes_decided_lost_brackets_at_the_floor_ask() -> None:
    [d] = MM.decide(event(market(decided="lost", p_yes=None, last="0.01")))
    assert (d.outcome, d.price) == ("trade", D("0.98"))


# -- taker ------------------------------------------------------------------------------------------------
POLICY = TradingConfig(min_edge=D("0.03"), max_spread=D("0.05"))
TAKER = TakerStrategy(POLICY)


def test_taker_buys_the_side_with_edge() -> None:
    [d] = TAKER.decide(event(market(p_yes=0.40, bid="0.18", ask="0.21")))
    assert (d.outcome, d.side, d.price, d.role) == ("trade", "yes", D("0.21"), "take")


def test_taker_buying_against_a_position_is_an_exit_capped_at_the_held_size() -> None:
    [d] = TAKER.decide(event(market(p_yes=0.05, bid="0.18", ask="0.21", position="3")))
    assert (d.outcome, d.side, d.size) == ("trade", "no", D(3)) and EXIT in d.reasons


def test_taker_never_rests_both_sides_of_one_market() -> None:
    own = OwnState(resting=(("yes", D("0.20"), D(5)),), placed=True)
    [d] = TAKER.decide(event(market(p_yes=0.05, bid="0.18", ask="0.21", own=own)))
    assert d.outcome == "skip" and OPPOSITE_SIDE in d.reasons


def test_taker_withdraws_a_resting_order_whose_own_price_no_longer_clears_the_edge() -> None:
    """Fair value moved against a resting YES bid at 0.20: the decision is skip (the daemon cancels it)."""
    own = OwnState(resting=(("yes", D("0.20"), D(5)),), placed=True)
    [d] = TAKER.decide(event(market(p_yes=0.21, bid="0.18", ask="0.21", own=own)))
    assert d.outcome == "skip" and RESTING_EDGE_GONE in d.reasons
    [kept] = TAKER.decide(event(market(p_yes=0.30, bid="0.18", ask="0.30", own=own)))
    assert RESTING_EDGE_GONE not in kept.reasons


def test_taker_is_blocked_by_stale_weather() -> None:
    [d] = TAKER.decide(event(market(p_yes=0.40), weather_blocked=["weather_stale"]))
    assert d.outcome == "blocked" and "weather_stale" in d.reasons


# -- config ------------------------------------------------------------------------------------------
def test_config_selects_strategies_by_name_and_refuses_unknown_ones() -> None:
    config = StrategiesConfig(enabled=("fixed_offset_maker", "taker"))
    assert [s.name for s in build_strategies(config, POLICY)] == ["fixed_offset_maker", "taker"]
    with pytest.raises(ValueError, match="unknown strategies"):
        StrategiesConfig(enabled=("martingale",))
    with pytest.raises(ValueError, match="budget"):
        StrategiesConfig(budgets={"taker": D("1.5")})
