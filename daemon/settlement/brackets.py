"""Market brackets: which integer settled highs make a daily-high market resolve YES.

A Kalshi daily-high event is a ladder of binary markets over the whole-°F settled maximum:
- `between` floor A, cap B  → YES iff A <= high <= B (both ends inclusive; `B84.5` = {84, 85});
- `greater` floor A         → YES iff high > A, i.e. [A+1, ∞) (label "A+1° or above");
- `less`    cap B           → YES iff high < B, i.e. (-∞, B-1] (label "B-1° or below").

Evidence (kxhigh_markets.parquet, 5,334 markets 2024-08-16..2025-02-28, and the September 2026 captures): every
`greater` market with floor A is labelled "A+1° or above", every `less` market with cap B "B-1° or below", and
every settled value falls in exactly one bracket whose market resolved `yes` (see tests/settlement/test_real_data.py).
`T` in a ticker does not tell the direction; `strike_type` does. 125 markets (2025-01-16..2025-02-09) have no strike
fields: their bracket is read from `yes_sub_title`/`subtitle`. When both strikes and a label are present they must
agree, and the ticker's own strike (`B84.5`, `T64`) must agree too; any disagreement is a BracketError, never a guess.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = [
    "Bracket",
    "BracketError",
    "bracket_for_market",
    "bracket_from_label",
    "event_brackets",
    "settled_int",
    "validate_ladder",
    "winning_ticker",
]


class BracketError(ValueError):
    """A market's bracket is missing, malformed or inconsistent, or a ladder does not tile the integers."""


@dataclass(frozen=True, order=True)
class Bracket:
    """Inclusive integer interval of the settled high (°F); None = unbounded on that side.

    Note: ordering compares fields, so comparing a bracket with a None bound against one with an int bound raises
    TypeError; sort with `Bracket.sort_key` (event_brackets does).
    """

    lo: int | None
    hi: int | None

    def __post_init__(self) -> None:
        for name, bound in (("lo", self.lo), ("hi", self.hi)):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
                raise BracketError(f"bracket {name} must be an int or None, got {bound!r}")
        if self.lo is None and self.hi is None:
            raise BracketError("a bracket unbounded on both sides is not a market")
        if self.lo is not None and self.hi is not None and self.lo > self.hi:
            raise BracketError(f"empty bracket: lo {self.lo} > hi {self.hi}")

    def contains(self, value: int) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"settled highs are whole degrees; got {value!r} (use settled_int)")
        return (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)

    @property
    def sort_key(self) -> tuple[float, float]:
        return (-math.inf if self.lo is None else self.lo, math.inf if self.hi is None else self.hi)

    @property
    def label(self) -> str:
        if self.lo is None:
            return f"{self.hi}° or below"
        if self.hi is None:
            return f"{self.lo}° or above"
        return f"{self.lo}° to {self.hi}°"

    def __str__(self) -> str:
        return self.label


def settled_int(value: object) -> int:
    """A recorded settled value (int, integral float/Decimal, or numeric string like "99.00") as a whole °F."""
    if isinstance(value, bool) or value is None:
        raise BracketError(f"not a settled temperature: {value!r}")
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise BracketError(f"not a settled temperature: {value!r}") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise BracketError(f"settled temperature must be a whole degree: {value!r}")
    return int(number)


# -- labels -----------------------------------------------------------------------------------------------
_NUM = r"(-?\d+)"
_LABEL_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^{_NUM}\s*(?:to|-|–|—)\s*{_NUM}$"), "range"),  # "80° to 81°", "82-83°"
    (re.compile(rf"^{_NUM}\s*or\s*(?:above|higher|more|greater)$"), "at_least"),  # "85° or above"
    (
        re.compile(rf"^{_NUM}\s*or\s*(?:below|lower|less|fewer)$"),
        "at_most",
    ),  # "84° or below", "-1° or below"
    (re.compile(rf"^(?:>=|≥)\s*{_NUM}$"), "at_least"),
    (re.compile(rf"^(?:<=|≤)\s*{_NUM}$"), "at_most"),
    (re.compile(rf"^>\s*{_NUM}$"), "above"),  # strict
    (re.compile(rf"^<\s*{_NUM}$"), "below"),  # strict
)


def _normalise_label(label: str) -> str:
    text = label.strip().lower().replace("\u00ba", "°")
    text = re.sub(r"°\s*f\b", "", text)  # "85°F" → "85"
    text = text.replace("°", "").replace("\u2212", "-")  # degree signs; unicode minus
    return re.sub(r"\s+", " ", text).strip()


def bracket_from_label(label: str) -> Bracket:
    """Parse a market label ("85° or above", "84° or below", "80° to 81°", "82-83°"); BracketError if unknown."""
    text = _normalise_label(label)
    for pattern, form in _LABEL_FORMS:
        match = pattern.match(text)
        if not match:
            continue
        first = int(match.group(1))
        if form == "range":
            return Bracket(first, int(match.group(2)))
        if form == "at_least":
            return Bracket(first, None)
        if form == "at_most":
            return Bracket(None, first)
        if form == "above":
            return Bracket(first + 1, None)
        return Bracket(None, first - 1)
    raise BracketError(f"unrecognised bracket label {label!r}")


# -- markets ----------------------------------------------------------------------------------------------
def _strike(market: Mapping, key: str) -> int | None:
    """An integral strike (JSON number, float from parquet, Decimal, numeric string) or None when absent."""
    raw = market.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, float) and math.isnan(raw):  # parquet/pandas missing value
        return None
    try:
        return settled_int(raw)
    except BracketError:
        raise BracketError(
            f"{market.get('ticker', '?')}: {key} {raw!r} is not a whole degree"
        ) from None


def _from_strikes(market: Mapping) -> Bracket | None:
    kind = (market.get("strike_type") or "").strip().lower()
    floor, cap = _strike(market, "floor_strike"), _strike(market, "cap_strike")
    if not kind:
        return None
    needs = {
        "between": (floor, cap),
        "greater": (floor,),
        "greater_or_equal": (floor,),
        "less": (cap,),
        "less_or_equal": (cap,),
    }
    if kind not in needs:
        raise BracketError(f"{market.get('ticker', '?')}: unsupported strike_type {kind!r}")
    if any(v is None for v in needs[kind]):
        return None  # strike fields missing: fall back to the label
    if kind == "between":
        return Bracket(floor, cap)
    if kind == "greater":
        return Bracket(floor + 1, None)  # strictly greater than the floor
    if kind == "greater_or_equal":
        return Bracket(floor, None)
    if kind == "less":
        return Bracket(None, cap - 1)  # strictly less than the cap
    return Bracket(None, cap)


def _labels(market: Mapping) -> list[str]:
    return [
        s
        for key in ("yes_sub_title", "subtitle")
        if isinstance(s := market.get(key), str) and s.strip()
    ]


_TICKER_STRIKE = re.compile(r"-(?P<kind>[BT])(?P<strike>-?\d+(?:\.\d+)?)$")


def _check_ticker(market: Mapping, bracket: Bracket) -> None:
    """The ticker's own strike must match: `B84.5` ↔ {84, 85}; `T64` ↔ greater-than-64 or less-than-64."""
    ticker = market.get("ticker")
    match = _TICKER_STRIKE.search(ticker) if isinstance(ticker, str) else None
    if match is None:
        return  # no strike suffix to check (e.g. a mapping built by hand)
    strike = Decimal(match.group("strike"))
    if match.group("kind") == "B":
        ok = (
            bracket.lo is not None
            and bracket.hi is not None
            and bracket.lo + bracket.hi == 2 * strike
        )
    else:
        step = 0 if str(market.get("strike_type") or "").endswith("_or_equal") else 1
        ok = (bracket.hi is None and bracket.lo == strike + step) or (
            bracket.lo is None and bracket.hi == strike - step
        )
    if not ok:
        raise BracketError(f"{ticker}: ticker strike disagrees with bracket {bracket}")


def bracket_for_market(market: Mapping) -> Bracket:
    """The bracket of one market mapping (raw Kalshi fields); BracketError when it cannot be read unambiguously."""
    ticker = market.get("ticker", "?")
    from_strikes = _from_strikes(market)
    from_labels = []
    for label in _labels(market):
        try:
            from_labels.append(bracket_from_label(label))
        except BracketError:
            if from_strikes is None:
                raise BracketError(
                    f"{ticker}: no strike fields and unrecognised label {label!r}"
                ) from None
    for other in from_labels:
        reference = from_strikes or from_labels[0]
        if other != reference:
            raise BracketError(f"{ticker}: strikes/labels disagree ({reference} vs {other})")
    bracket = from_strikes or (from_labels[0] if from_labels else None)
    if bracket is None:
        raise BracketError(f"{ticker}: no strike fields and no bracket label")
    _check_ticker(market, bracket)
    return bracket


def event_brackets(markets: Sequence[Mapping]) -> list[tuple[str, Bracket]]:
    """(ticker, bracket) pairs sorted low to high; BracketError unless they tile the integers exactly."""
    if not markets:
        raise BracketError("an event needs at least one market")
    events = {m.get("event_ticker") for m in markets if m.get("event_ticker")}
    if len(events) > 1:
        raise BracketError(f"markets from several events: {sorted(events)}")
    pairs = []
    for market in markets:
        ticker = market.get("ticker")
        if not isinstance(ticker, str) or not ticker:
            raise BracketError(f"market without a ticker: {dict(market)!r:.200}")
        pairs.append((ticker, bracket_for_market(market)))
    tickers = [t for t, _ in pairs]
    if len(set(tickers)) != len(tickers):
        raise BracketError(
            f"duplicate tickers in event: {sorted(t for t in set(tickers) if tickers.count(t) > 1)}"
        )
    pairs.sort(key=lambda pair: pair[1].sort_key)
    validate_ladder(pairs)
    return pairs


def validate_ladder(ladder: Sequence[tuple[str, Bracket]]) -> None:
    """Raise BracketError unless the ladder, sorted by Bracket.sort_key, covers every integer exactly once."""
    if not ladder:
        raise BracketError("empty ladder")
    first, last = ladder[0], ladder[-1]
    if first[1].lo is not None:
        raise BracketError(
            f"gap: nothing covers highs below {first[1].lo} (lowest market {first[0]})"
        )
    if last[1].hi is not None:
        raise BracketError(
            f"gap: nothing covers highs above {last[1].hi} (highest market {last[0]})"
        )
    for (low_ticker, low), (high_ticker, high) in itertools.pairwise(ladder):
        if low.hi is None or high.lo is None or high.lo <= low.hi:
            raise BracketError(f"overlap: {low_ticker} {low} and {high_ticker} {high}")
        if high.lo > low.hi + 1:
            raise BracketError(
                f"gap: {low.hi + 1}..{high.lo - 1} between {low_ticker} and {high_ticker}"
            )


def winning_ticker(ladder: Sequence[tuple[str, Bracket]], settled_value: object) -> str:
    """The one ticker whose bracket contains the settled high; BracketError if none or several do."""
    value = settled_int(settled_value)
    winners = [ticker for ticker, bracket in ladder if bracket.contains(value)]
    if len(winners) != 1:
        raise BracketError(
            f"settled value {value} is in {len(winners)} brackets ({winners}); expected exactly one"
        )
    return winners[0]
