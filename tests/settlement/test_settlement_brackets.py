"""Bracket semantics: strikes, labels, cross-checks, ladder tiling and the winning market."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.settlement.brackets import (
    Bracket,
    BracketError,
    bracket_for_market,
    bracket_from_label,
    event_brackets,
    settled_int,
    validate_ladder,
    winning_ticker,
)


def market(
    ticker: str, strike_type: str | None, floor=None, cap=None, label: str | None = None, **extra
) -> dict:
    return {
        "ticker": ticker,
        "event_ticker": "-".join(ticker.split("-")[:2]),
        "strike_type": strike_type,
        "floor_strike": floor,
        "cap_strike": cap,
        "yes_sub_title": label,
        **extra,
    }


# The real Seattle ladder for 2026-09-25 (shared/reference/kalshi_api.md §8.5).
SEA = [
    market("KXHIGHTSEA-26SEP25-T57", "less", cap=57, label="56° or below"),
    market("KXHIGHTSEA-26SEP25-B57.5", "between", 57, 58, "57° to 58°"),
    market("KXHIGHTSEA-26SEP25-B59.5", "between", 59, 60, "59° to 60°"),
    market("KXHIGHTSEA-26SEP25-B61.5", "between", 61, 62, "61° to 62°"),
    market("KXHIGHTSEA-26SEP25-B63.5", "between", 63, 64, "63° to 64°"),
    market("KXHIGHTSEA-26SEP25-T64", "greater", floor=64, label="65° or above"),
]


def test_between_is_inclusive_both_ends():
    b = bracket_for_market(SEA[1])
    assert b == Bracket(57, 58)
    assert [b.contains(v) for v in (56, 57, 58, 59)] == [False, True, True, False]


def test_greater_is_strictly_above_the_floor():
    b = bracket_for_market(SEA[-1])
    assert b == Bracket(65, None)
    assert not b.contains(64) and b.contains(65) and b.contains(130)


def test_less_is_strictly_below_the_cap():
    b = bracket_for_market(SEA[0])
    assert b == Bracket(None, 56)
    assert b.contains(56) and not b.contains(57) and b.contains(-40)


@pytest.mark.parametrize("floor,cap", [(70.0, 71.0), ("70", "71"), (Decimal(70), Decimal("71.00"))])
def test_strikes_in_any_numeric_form(floor, cap):
    assert bracket_for_market(market("X-26SEP25-B70.5", "between", floor, cap)) == Bracket(70, 71)


def test_nan_strike_is_missing_and_falls_back_to_label():
    m = market("KXHIGHNY-25JAN19-B41.5", None, float("nan"), float("nan"), "41° to 42°")
    assert bracket_for_market(m) == Bracket(41, 42)


@pytest.mark.parametrize(
    "label,expected",
    [
        ("85° or above", Bracket(85, None)),
        ("84° or below", Bracket(None, 84)),
        ("80° to 81°", Bracket(80, 81)),
        ("82-83°", Bracket(82, 83)),
        ("82°-83°", Bracket(82, 83)),
        ("-1° or below", Bracket(None, -1)),
        ("-5° to -4°", Bracket(-5, -4)),
        ("-5--4°", Bracket(-5, -4)),
        ("85\u00b0F or higher", Bracket(85, None)),
        ("  66°  or  below ", Bracket(None, 66)),
        (">85°", Bracket(86, None)),
        ("<57°", Bracket(None, 56)),
        ("≥85°", Bracket(85, None)),
    ],
)
def test_label_forms(label, expected):
    assert bracket_from_label(label) == expected


@pytest.mark.parametrize("label", ["", "warm", "85°", "about 80°", "81° to 80°", "85.5° or above"])
def test_unreadable_labels_raise(label):
    with pytest.raises(BracketError):
        bracket_from_label(label)


def test_subtitle_used_when_yes_sub_title_absent():
    m = {"ticker": "KXHIGHAUS-25JAN17-T63", "subtitle": "62° or below", "yes_sub_title": None}
    assert bracket_for_market(m) == Bracket(None, 62)


def test_strike_type_without_strikes_falls_back_to_label():
    assert bracket_for_market(market("X-25JAN17-T63", "less", label="62° or below")) == Bracket(
        None, 62
    )


def test_strikes_disagreeing_with_label_raise():
    with pytest.raises(BracketError, match="disagree"):
        bracket_for_market(market("X-26SEP25-T64", "greater", floor=64, label="64° or above"))


def test_ticker_strike_disagreeing_raises():
    with pytest.raises(BracketError, match="ticker strike"):
        bracket_for_market(market("X-26SEP25-B70.5", "between", 72, 73))
    with pytest.raises(BracketError, match="ticker strike"):
        bracket_for_market(market("X-26SEP25-T64", "greater", floor=60))


def test_direction_comes_from_strike_type_not_the_T():
    assert bracket_for_market(market("X-26SEP25-T64", "less", cap=64)) == Bracket(None, 63)
    assert bracket_for_market(market("X-26SEP25-T64", "greater", floor=64)) == Bracket(65, None)


@pytest.mark.parametrize(
    "bad",
    [
        market("X-1", None),  # nothing at all
        market("X-1", "functional", 1, 2),
        market("X-1", "between", 70.5, 71),  # half-degree strike
        market("X-1", None, label="tomorrow"),
    ],
)
def test_unreadable_markets_raise(bad):
    with pytest.raises(BracketError):
        bracket_for_market(bad)


def test_validate_ladder_empty():
    with pytest.raises(BracketError):
        validate_ladder([])


def test_or_equal_strike_types():
    assert bracket_for_market(market("X-1-T65", "greater_or_equal", floor=65)) == Bracket(65, None)
    assert bracket_for_market(market("X-1", "greater_or_equal", floor=65)) == Bracket(65, None)
    assert bracket_for_market(market("X-1", "less_or_equal", cap=56)) == Bracket(None, 56)


def test_bracket_validation():
    with pytest.raises(BracketError):
        Bracket(5, 4)
    with pytest.raises(BracketError):
        Bracket(None, None)
    with pytest.raises(BracketError):
        Bracket(1.0, 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Bracket(1, 2).contains(1.5)  # type: ignore[arg-type]


def test_event_brackets_sorts_and_tiles():
    ladder = event_brackets(list(reversed(SEA)))
    assert [t for t, _ in ladder] == [m["ticker"] for m in SEA]
    assert ladder[0][1] == Bracket(None, 56) and ladder[-1][1] == Bracket(65, None)


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda ms: ms[:2] + ms[3:], "gap"),  # 59-60 missing
        (lambda ms: ms[1:], "gap"),  # no lower tail
        (lambda ms: ms[:-1], "gap"),  # no upper tail
        (lambda ms: ms + [market("KXHIGHTSEA-26SEP25-B58.5", "between", 58, 59)], "overlap"),
        (lambda ms: ms + [market("KXHIGHTSEA-26SEP25-T60", "less", cap=60)], "overlap"),
        (lambda ms: ms + [ms[0]], "duplicate"),
        (
            lambda ms: ms[:5] + [market("KXHIGHTSEA-26SEP24-T64", "greater", floor=64)],
            "several events",
        ),
        (lambda ms: [], "at least one"),
    ],
)
def test_event_brackets_rejects_bad_ladders(mutate, message):
    with pytest.raises(BracketError, match=message):
        event_brackets(mutate(list(SEA)))


def test_winning_ticker():
    ladder = event_brackets(SEA)
    assert winning_ticker(ladder, 56) == "KXHIGHTSEA-26SEP25-T57"
    assert winning_ticker(ladder, 57) == "KXHIGHTSEA-26SEP25-B57.5"
    assert winning_ticker(ladder, "64.00") == "KXHIGHTSEA-26SEP25-B63.5"
    assert winning_ticker(ladder, 65.0) == "KXHIGHTSEA-26SEP25-T64"
    with pytest.raises(BracketError):
        winning_ticker(ladder, 64.5)
    with pytest.raises(BracketError, match="0 brackets"):
        winning_ticker(ladder[1:], 10)


@pytest.mark.parametrize(
    "value", [None, True, "", "n/a", float("nan"), float("inf"), 84.5, Decimal("NaN")]
)
def test_settled_int_refuses_non_whole_degrees(value):
    with pytest.raises(BracketError):
        settled_int(value)


# -- property: any ladder built from cut points tiles; any single perturbation breaks it ------------------
cuts = st.lists(st.integers(-60, 140), min_size=1, max_size=10, unique=True).map(sorted)


def ladder_markets(points: list[int]) -> list[dict]:
    """Brackets split at cut points c: (-inf, c0-1], [c0, c1-1], …, [c_last, inf) as real-style markets."""
    ms = [market(f"E-26JAN01-L{points[0]}", "less", cap=points[0])]
    for lo, hi_next in itertools.pairwise(points):
        ms.append(market(f"E-26JAN01-R{lo}", "between", lo, hi_next - 1))
    ms.append(market(f"E-26JAN01-G{points[-1] - 1}", "greater", floor=points[-1] - 1))
    return ms


@given(points=cuts, value=st.integers(-200, 300), data=st.data())
def test_property_ladders_tile_and_have_one_winner(points, value, data):
    ms = data.draw(st.permutations(ladder_markets(points)))
    ladder = event_brackets(ms)
    assert sum(b.contains(value) for _, b in ladder) == 1
    assert dict(ladder)[winning_ticker(ladder, value)].contains(value)
    assert ladder[0][1].lo is None and ladder[-1][1].hi is None
    for (_, low), (_, high) in itertools.pairwise(ladder):
        assert high.lo == low.hi + 1


@given(points=cuts, data=st.data())
def test_property_removing_or_widening_a_market_breaks_tiling(points, data):
    ms = ladder_markets(points)
    i = data.draw(st.integers(0, len(ms) - 1))
    with pytest.raises(BracketError):
        event_brackets(ms[:i] + ms[i + 1 :])
    widened = dict(ms[i])
    if widened["strike_type"] == "between" or widened["strike_type"] == "less":
        widened["cap_strike"] += 1
    else:
        widened["floor_strike"] -= 1
    if len(ms) > 2 or widened["strike_type"] != "greater":
        with pytest.raises(BracketError, match="overlap"):
            event_brackets(ms[:i] + [widened] + ms[i + 1 :])
