"""Issue #12 item 5 at the daemon's order path: one strategy never keeps both sides of a market resting.

A scripted strategy (a real `Strategy` implementation with fixed answers) first rests a NO bid, then wants YES in
the same market: the daemon must cancel the NO order before (or as) it places the YES one, so the account never
has both sides live; `hold` keeps an order, `skip` withdraws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from _runtime_kit import live_world, settings_for, step

from daemon.strategies.base import MarketDecision, decision


@dataclass
class Scripted:
    name: str = "taker"
    uses_weather: bool = False
    plan: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # (outcome, side, price)
    target: str | None = None

    def wake_times(self, close_time):  # noqa: ANN001, ANN201
        return ()

    def decide(self, event) -> list[MarketDecision]:  # noqa: ANN001
        outcome, side, price = self.plan[0]
        out = []
        for m in event.markets:
            if m.ticker != self.target:
                out.append(decision(self.name, m, "skip", ["not_target"]))
            elif outcome == "trade":
                out.append(decision(self.name, m, "trade", ["scripted"], side=side, price=Decimal(price),
                                    size=Decimal(1), role="make"))
            else:
                out.append(decision(self.name, m, outcome, ["scripted"]))
        return out


def _live(db, ticker: str) -> list[dict]:
    return db.query("SELECT side, limit_price, state FROM ops.orders WHERE ticker = ? AND state IN"
                    " ('new', 'submitted', 'unknown', 'resting', 'partial') ORDER BY id", [ticker])


def test_wanting_the_other_side_cancels_the_resting_one_and_hold_keeps_it(db, tmp_path) -> None:
    with live_world(db, tmp_path, settings=settings_for(tmp_path)) as world:
        daemon = world.daemon
        daemon.start()
        daemon.slow_cycle()
        books = world.client.discover_events(daemon.series)
        target = next(m.ticker for evs in books.values() for e in evs for m in e.markets if m.is_open)
        script = Scripted(target=target, plan=[("trade", "no", "0.02")])
        daemon.strategies = (script,)
        daemon.fast_cycle()
        assert [(r["side"], r["state"]) for r in _live(db, target)] == [("no", "resting")]
        script.plan = [("hold", None, None)]
        step(world, 5, slow=False)
        assert [r["side"] for r in _live(db, target)] == ["no"]
        script.plan = [("trade", "yes", "0.01")]
        step(world, 5, slow=False)
        assert [r["side"] for r in _live(db, target)] == ["yes"]          # the NO bid is gone
        script.plan = [("skip", None, None)]
        step(world, 5, slow=False)
        assert _live(db, target) == []
