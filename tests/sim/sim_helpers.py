"""Small builders shared by the simulator tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from daemon.exchange.sim import SimConfig, SimExchange
from daemon.exchange.sim.config import AgentConfig

START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
DAY = date(2026, 1, 15)
QUIET = SimConfig(seed=11, agents=AgentConfig(enabled=False))


def body(ticker: str, side: str, price: str, count: str | int, *, tif: str = "good_till_canceled",
         stp: str = "taker_at_cross", cid: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"ticker": ticker, "side": side, "price": price, "count": str(count),
                           "time_in_force": tif, "self_trade_prevention_type": stp}
    if cid:
        out["client_order_id"] = cid
    out.update(extra)
    return out


def bracket(exchange: SimExchange, index: int = 2, city: str = "NYC") -> str:
    return exchange.list_markets_for(city, DAY)[index].ticker


def cash(exchange: SimExchange, who: str) -> Decimal:
    return exchange.accounts[who].cash
