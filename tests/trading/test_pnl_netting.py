"""`milkbot pnl` adds up and equals the exchange's cash, with YES/NO pairs netted in one market.

A real ledger: orders through the OMS against the simulator over loopback, fills and settlements
ingested by the reconciler. Market A buys YES then NO (pairs net out for $1, a YES remainder
settles), market B goes flat by netting, market C (a later day) stays open. The printed components
must sum to the printed totals, and the totals must equal the simulator's cash movement, realized
P&L and position cost.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from daemon.cities import default_registry
from daemon.ledger.db import connect
from daemon.trading.intents import Intent, climate_day_from_ticker, make_intent_key
from daemon.trading.oms import OrderManager

sys.path.insert(0, str(Path(__file__).parent))
from _oms_kit import KEY_ID, active_tickers

LINE = re.compile(
    r"^(?P<op>[=+-]?)\s+(?P<label>[a-zA-Z&P ]+?)\s+(?P<amount>-?\$[\d,]+\.\d+)(?:\s{3}.*)?$"
)


def _buy(ticker: str, side: str, count: str, n: int) -> Intent:
    day = climate_day_from_ticker(ticker)
    city = default_registry().for_ticker(ticker)
    return Intent(
        intent_key=make_intent_key(ticker, side, "buy", day, f"pnl{n}"),
        ticker=ticker,
        city_code=city.code,
        climate_day=day,
        side=side,
        action="buy",
        count=Decimal(count),
        limit_price=Decimal("0.99"),
    )


def _parse(output: str) -> dict[str, tuple[str, Decimal]]:
    rows = {}
    for line in output.splitlines():
        match = LINE.match(line)
        if match:
            amount = Decimal(match["amount"].replace("$", "").replace(",", ""))
            rows[match["label"]] = (match["op"], amount)
    return rows


def _add_up(rows: dict[str, tuple[str, Decimal]], labels: list[str]) -> Decimal:
    total = Decimal(0)
    for label in labels:
        op, amount = rows[label]
        total += -amount if op == "-" else amount
    return total


def test_pnl_components_add_up_to_the_exchange_cash(db_url, sim, clock):
    db = connect(db_url)
    client = sim.client(clock)
    oms = OrderManager(db, client, clock, registry=default_registry())
    assert oms.reconcile().ok
    a, b = active_tickers(sim, clock)[:2]
    for n, (ticker, side, count) in enumerate(
        [(a, "yes", "5"), (a, "no", "3"), (b, "no", "2"), (b, "yes", "2")]
    ):
        oms.submit(_buy(ticker, side, count, n))
        assert oms.reconcile().ok
    account = sim.exchange.accounts[KEY_ID]
    assert (
        account.position(a).position == 2 and account.position(b).position == 0
    )  # the exchange netted
    for _ in range(4):  # through close, determination and payout
        clock.advance(timedelta(hours=18))
        sim.exchange.step(clock.now())
    assert oms.reconcile().ok
    assert db.scalar("SELECT COUNT(*) FROM ops.settlements WHERE ticker = ?", [a]) == 1
    c = active_tickers(sim, clock)[0]  # a later day's market: stays open
    oms.submit(_buy(c, "yes", "2", 10))
    oms.submit(_buy(c, "no", "1", 11))
    assert oms.reconcile().ok
    client.close()
    db.close()

    from daemon.cli.main import app

    result = CliRunner().invoke(app, ["--database-url", db_url, "pnl"])
    assert result.exit_code == 0, result.output
    rows = _parse(result.output)
    realized = ["settlement revenue", "netting revenue", "cost of closed contracts", "fees"]
    assert _add_up(rows, realized) == rows["realized P&L after fees"][1], result.output
    assert (
        rows["realized P&L after fees"][1] - rows["open cost"][1] == rows["cash P&L after fees"][1]
    )
    assert rows["netting revenue"][1] == Decimal(3 + 2 + 1)  # every YES+NO pair, one dollar each

    # The exchange's own books: cash moved, realized P&L and cost still held.
    assert rows["cash P&L after fees"][1] == account.cash - account.deposits, result.output
    positions = list(account.positions.values())
    assert rows["realized P&L after fees"][1] == sum(
        (p.realized_pnl for p in positions), Decimal(0)
    )
    assert rows["open cost"][1] == sum((p.cost for p in positions), Decimal(0)) > 0
    assert rows["fees"][1] == sum((p.fees_paid for p in positions), Decimal(0))
    # `status`, the demo summary and the go-live report read the same definition.
    from daemon.runtime.reports import pnl_summary

    with connect(db_url) as ledger:
        summary = pnl_summary(ledger)
    assert summary["realized_after_fees"] == rows["realized P&L after fees"][1]
    assert summary["open_cost"] == rows["open cost"][1]
