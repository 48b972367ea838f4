"""Trade table rows as HTML, formatted once per trade in Python (a Jinja loop over 100k+ rows was the
build's hot spot). Every text value is escaped; the result is Markup for the templates."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from html import escape

from markupsafe import Markup

from publisher import fmt
from publisher.models import STRATEGY_LABELS, Trade


def _tone(pnl: str | None) -> str:
    """From the exact money string ('-1.5000', '0.0000', '2.2500'): no Decimal needed."""
    if pnl is None or not pnl.strip("-0."):
        return "neutral"
    return "negative" if pnl.startswith("-") else "positive"


def trade_row(t: Trade) -> str:
    p = "—" if t.model_probability is None else f"{t.model_probability:.2f}"
    pnl = "—" if t.pnl is None else fmt.dollars(Decimal(t.pnl))
    strategy = "—" if t.strategy is None else STRATEGY_LABELS[t.strategy]
    return (f'<tr><td>{t.seq}</td><td><time datetime="{t.trade_time}">{t.trade_time[:10]} {t.trade_time[11:16]}'
            f'</time></td><td>{escape(t.city)}</td><td>{escape(t.ticker)}</td><td>{strategy}</td>'
            f'<td>{t.action} {t.side.upper()}</td><td>{t.count}</td><td>{t.price}</td><td>{t.fee}</td><td>{p}</td>'
            f'<td>{t.status}</td>'
            f'<td class="{_tone(t.pnl)}">{pnl}</td></tr>\n')


def table_rows(trades: Iterable[Trade]) -> Markup:
    return Markup("".join(trade_row(t) for t in trades))
