"""When a resting order of ours is filled by the recorded tape: the fill rule as a small object.

The shape is NautilusTrader's FillModel: the exchange hands every later recorded trade to the rule and the rule
answers how much of our order it fills; the engine has no branch per rule. Rules, for our YES ask at a (a NO bid
at 1 − a) — symmetric for a YES bid at b with prices below b:
- `Strict`: a trade printed through our price (yes_price > a): the level was traded through, so our place in
  the queue does not matter.
- `Touch`: a trade at our price counts too (yes_price ≥ a): optimistic, we may have been behind the queue.
- `Volume(n)`: strict, and only once at least n contracts have printed through since our order was placed.
Size: by default our filled size is capped by what printed through (cumulative since the order, and a print
fills our orders in one market at most once in total). `cap_to_printed=False` fills the whole remaining order
at the first qualifying print — the edge study's convention (its 10-lot fills are not capped), kept so its
figures can be reproduced exactly; never use it to judge a strategy.
Only trades with created_time ≥ the order's creation time are ever offered (the exchange guarantees it).
Pure and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from daemon.money import ZERO

BookSide = Literal["bid", "ask"]


class FillRuleError(ValueError):
    """A fill rule string that is not strict | touch | volume:N (optionally ':nocap')."""


@dataclass
class RestingFillState:
    """What the rule remembers about one resting order."""

    printed: Decimal = ZERO      # contracts printed through our price since the order was placed
    unused: Decimal = ZERO       # of those, not yet used to fill us (or our other orders in the market)


@dataclass(frozen=True)
class FillRule:
    min_volume: int = 1
    inclusive: bool = False          # True: a print AT our price counts (touch)
    cap_to_printed: bool = True

    @property
    def name(self) -> str:
        base = "touch" if self.inclusive else ("strict" if self.min_volume <= 1 else f"volume:{self.min_volume}")
        return base if self.cap_to_printed else f"{base}:nocap"

    def crosses(self, book_side: BookSide, limit_cents: int, trade_cents: int) -> bool:
        """Did a trade at `trade_cents` (YES) print through our `limit_cents` (YES) resting on `book_side`?"""
        if book_side == "ask":
            return trade_cents > limit_cents or (self.inclusive and trade_cents == limit_cents)
        return trade_cents < limit_cents or (self.inclusive and trade_cents == limit_cents)

    def on_print(self, state: RestingFillState, remaining: Decimal, printed: Decimal, available: Decimal) -> Decimal:
        """A trade of `printed` contracts crossed our order; `available` of them are not yet used by our orders
        ahead of this one. Returns how many of our `remaining` contracts fill now."""
        state.printed += printed
        state.unused += available
        if state.printed < self.min_volume:
            return ZERO
        quantity = min(remaining, state.unused) if self.cap_to_printed else remaining
        state.unused -= min(quantity, state.unused)
        return quantity


class Strict(FillRule):
    """A later trade printed through our price."""

    def __init__(self, cap_to_printed: bool = True) -> None:
        super().__init__(1, False, cap_to_printed)


class Touch(FillRule):
    """A later trade at our price counts."""

    def __init__(self, cap_to_printed: bool = True) -> None:
        super().__init__(1, True, cap_to_printed)


class Volume(FillRule):
    """At least `n` contracts printed through our price since the order was placed."""

    def __init__(self, n: int, cap_to_printed: bool = True) -> None:
        if n < 1:
            raise FillRuleError(f"volume:{n}: N must be a positive number of contracts")
        super().__init__(n, False, cap_to_printed)


def parse_fill_rule(text: str) -> FillRule:
    """`strict` | `touch` | `volume:N`, each optionally followed by `:nocap` (the study's uncapped size)."""
    raw = text.strip().lower()
    parts = raw.split(":")
    cap = True
    if len(parts) > 1 and parts[-1] == "nocap":
        cap, parts = False, parts[:-1]
    if parts == ["strict"]:
        return Strict(cap)
    if parts == ["touch"]:
        return Touch(cap)
    if len(parts) == 2 and parts[0] == "volume" and parts[1].isdigit():
        return Volume(int(parts[1]), cap)
    raise FillRuleError(f"unknown fill rule {text!r}: use strict, touch or volume:N (N contracts)")
