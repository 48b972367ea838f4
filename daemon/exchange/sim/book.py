"""One market's YES order book: resting bids and asks in price-time priority.

A NO bid at q is a YES ask at 1 − q, so a single YES book holds everything. Levels are keyed by
integer cents (weather markets trade on the 1¢ grid) and each level is a FIFO queue, which gives
queue position for free: an order that joins a level fills only after the size ahead of it traded.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterator
from decimal import Decimal

from daemon.exchange.sim.state import BookSide, SimOrder
from daemon.money import ZERO


def cents(price: Decimal) -> int:
    return int(price * 100)


class Book:
    def __init__(self) -> None:
        self._levels: dict[BookSide, dict[int, deque[SimOrder]]] = {"bid": {}, "ask": {}}
        self._prices: dict[BookSide, list[int]] = {"bid": [], "ask": []}     # ascending

    def add(self, order: SimOrder) -> None:
        level = self._levels[order.book_side].get(cents(order.price))
        if level is None:
            level = self._levels[order.book_side][cents(order.price)] = deque()
            bisect.insort(self._prices[order.book_side], cents(order.price))
        level.append(order)

    def remove(self, order: SimOrder) -> None:
        key = cents(order.price)
        level = self._levels[order.book_side].get(key)
        if level is None:
            return
        try:
            level.remove(order)
        except ValueError:
            return
        if not level:
            self._drop_level(order.book_side, key)

    def _drop_level(self, side: BookSide, key: int) -> None:
        del self._levels[side][key]
        prices = self._prices[side]
        del prices[bisect.bisect_left(prices, key)]

    def best(self, side: BookSide) -> int | None:
        prices = self._prices[side]
        if not prices:
            return None
        return prices[-1] if side == "bid" else prices[0]

    def crossing(self, incoming: BookSide, limit_cents: int) -> Iterator[SimOrder]:
        """Resting orders an incoming order at `limit_cents` may trade with, best first, FIFO per level.
        Tolerates removal of yielded orders (the caller fills or cancels them) between yields."""
        opposite: BookSide = "ask" if incoming == "bid" else "bid"
        while True:
            best = self.best(opposite)
            if best is None or (best > limit_cents if incoming == "bid" else best < limit_cents):
                return
            level = self._levels[opposite][best]
            head = level[0]
            yield head
            if level and level[0] is head:
                return       # caller neither filled nor removed the head: stop rather than spin

    def pop_if_done(self, order: SimOrder) -> None:
        if order.remaining_count <= ZERO or not order.is_open:
            self.remove(order)

    def queue_ahead(self, order: SimOrder) -> Decimal:
        level = self._levels[order.book_side].get(cents(order.price), ())
        ahead = ZERO
        for other in level:
            if other is order:
                return ahead
            ahead += other.remaining_count
        return ZERO

    def depth(self, side: BookSide) -> list[tuple[int, Decimal]]:
        """(price cents, total size) per level, ascending by price."""
        return [(p, sum((o.remaining_count for o in self._levels[side][p]), ZERO)) for p in self._prices[side]]

    def orders(self) -> Iterator[SimOrder]:
        for side in ("bid", "ask"):
            for price in list(self._prices[side]):  # type: ignore[index]
                yield from list(self._levels[side][price])  # type: ignore[index]
