"""Hypothesis: random order flow never creates or destroys money or contracts, never fills worse than a
limit, keeps positions equal to the sum of fills and fees equal to Kalshi's formula."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sim_helpers import DAY, QUIET, START, body

from daemon.cities import CityRegistry, default_registry
from daemon.clock import SimulatedClock
from daemon.economics.fees import TAKER_RATE
from daemon.exchange.sim import SimError, SimExchange
from daemon.money import ONE, ZERO, ceil_cent
from daemon.simulation.truth import SyntheticTruth

ACCOUNTS = ("alice", "bob", "carol")
TIFS = ("good_till_canceled", "immediate_or_cancel", "fill_or_kill")
_REGISTRY: CityRegistry = default_registry()
_NYC_ONLY = CityRegistry([_REGISTRY.get("NYC")])


class ExchangeMachine(RuleBasedStateMachine):
    @initialize()
    def boot(self) -> None:
        self.clock = SimulatedClock(START)
        self.exchange = SimExchange(_NYC_ONLY, SyntheticTruth(2, _NYC_ONLY), self.clock, QUIET)
        for index, name in enumerate(ACCOUNTS):
            self.exchange.register_account(name, None, 5_000 + 10_000 * index)   # small: exercise refusals
        self.exchange.step()
        self.tickers = [m.ticker for m in self.exchange.list_markets_for("NYC", DAY)[1:3]]
        self.settled = False

    @rule(who=st.sampled_from(ACCOUNTS), market=st.integers(0, 1), side=st.sampled_from(("bid", "ask")),
          price=st.integers(40, 60), count=st.one_of(st.integers(1, 40), st.decimals("0.01", "5", places=2)),
          tif=st.sampled_from(TIFS), stp=st.sampled_from(("taker_at_cross", "maker")))
    def place(self, who: str, market: int, side: str, price: int, count: object, tif: str, stp: str) -> None:
        request = body(self.tickers[market], side, f"0.{price:02d}", str(count), tif=tif, stp=stp)
        try:
            self.exchange.create_order(who, request)
        except SimError as exc:
            assert exc.status in (400, 409), exc

    def _open(self) -> list[str]:
        return [o.order_id for o in self.exchange.orders.values() if o.is_open]

    @precondition(lambda self: bool(self._open()))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        order = self.exchange.orders[data.draw(st.sampled_from(self._open()))]
        self.exchange.cancel_order(order.account, order.order_id)

    @precondition(lambda self: bool(self._open()))
    @rule(data=st.data(), price=st.integers(1, 99), extra=st.integers(-3, 5))
    def amend(self, data: st.DataObject, price: int, extra: int) -> None:
        order = self.exchange.orders[data.draw(st.sampled_from(self._open()))]
        total = order.fill_count + order.remaining_count + extra
        try:
            self.exchange.amend_order(order.account, order.order_id, {
                "ticker": order.ticker, "side": order.book_side, "price": f"0.{price:02d}", "count": str(total)})
        except SimError as exc:
            assert exc.status == 400, exc

    @precondition(lambda self: bool(self._open()))
    @rule(data=st.data())
    def decrease(self, data: st.DataObject) -> None:
        order = self.exchange.orders[data.draw(st.sampled_from(self._open()))]
        self.exchange.decrease_order(order.account, order.order_id, {"reduce_by": "1"})

    @rule(minutes=st.integers(1, 30))
    def wait(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self.exchange.step()

    @precondition(lambda self: not self.settled and len(self.exchange.orders) >= 10)
    @rule()
    def settle(self) -> None:
        self.clock.set(max(self.clock.now(), datetime(2026, 1, 16, 12, tzinfo=UTC)))
        self.exchange.step()
        self.settled = True

    @invariant()
    def money_and_contracts_conserved(self) -> None:
        self.exchange.check_invariants()          # Σcash + fees + open interest = deposits; longs = shorts
        fills = sum(len(a.fills) for a in self.exchange.accounts.values())
        event("fills: none" if fills == 0 else "fills: 1-9" if fills < 10 else "fills: 10+")

    @invariant()
    def fills_respect_limits_positions_and_fees(self) -> None:
        net: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
        exact_fee: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for account in self.exchange.accounts.values():
            for fill in account.fills:
                order = self.exchange.orders[fill.order_id]
                if fill.book_side == "bid":
                    assert fill.yes_price <= fill.limit_price
                else:
                    assert fill.yes_price >= fill.limit_price
                net[(account.key_id, fill.ticker)] += fill.count if fill.book_side == "bid" else -fill.count
                if fill.is_taker:
                    exact_fee[fill.order_id] += TAKER_RATE * fill.count * fill.yes_price * (ONE - fill.yes_price)
                else:
                    assert fill.fee == ZERO
            for ticker, position in account.positions.items():
                if not position.settled:
                    assert position.position == net[(account.key_id, ticker)]
            assert account.cash >= ZERO and account.available >= ZERO
        for order in self.exchange.orders.values():
            assert order.taker_fees == ceil_cent(exact_fee[order.order_id])
            assert order.fill_count + order.remaining_count <= order.initial_count


ExchangeMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=50, deadline=None,
                                             suppress_health_check=[HealthCheck.too_slow])
TestExchangeProperties = ExchangeMachine.TestCase
