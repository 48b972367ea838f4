"""`--report DIR`: an HTML page with matplotlib charts of a backtest, and the same JSON beside it.

Charts: equity and drawdown by climate day; P&L by city, by horizon (hours before close when the order was
placed) and by price bucket; fill rate and time to fill; realized vs predicted edge per strategy; the
reliability of the filled markets (how often the side we bought won, against the price we paid).
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from daemon.backtest.results import BacktestResult, FillOutcome


def write_report(result: BacktestResult, folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "backtest.json").write_text(json.dumps(result.to_json(), sort_keys=True, indent=2))
    charts = []
    settled = [f for f in result.fill_outcomes if f.pnl is not None]

    def save(fig: Any, name: str, title: str) -> None:
        fig.tight_layout()
        fig.savefig(folder / name, dpi=100, metadata={"Software": None})
        plt.close(fig)
        charts.append((name, title))

    days = [d["day"] for d in result.daily]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    ax1.plot(days, [float(d["equity"]) for d in result.daily], color="#2a7")
    ax1.set_ylabel("P&L after fees ($)")
    ax2.fill_between(days, [-float(d["drawdown"]) for d in result.daily], color="#c44")
    ax2.set_ylabel("drawdown ($)")
    ax2.set_xticks(days[:: max(1, len(days) // 8)])
    save(fig, "equity.png", "Equity and drawdown by climate day")

    for key, name, title in ((lambda f: f.city_code, "by_city.png", "P&L by city"),
                             (_horizon_bucket, "by_horizon.png", "P&L by hours before close at order time"),
                             (_price_bucket, "by_price.png", "P&L by price paid (¢)")):
        groups = _sum_by(settled, key)
        fig, ax = plt.subplots(figsize=(7, 3))
        labels = sorted(groups)
        ax.bar(labels, [float(groups[k]) for k in labels], color="#47a")
        ax.axhline(0, color="#888", linewidth=0.8)
        ax.set_ylabel("$")
        save(fig, name, title)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3))
    names = [s.strategy for s in result.by_strategy]
    ax1.bar(names, [float(s.fill_rate or 0) for s in result.by_strategy], color="#a74")
    ax1.set_ylabel("fill rate (orders with a fill)")
    hours = [(f.filled_at - f.order_created_at).total_seconds() / 3600 for f in result.fill_outcomes
             if f.order_created_at is not None]
    ax2.hist(hours or [0], bins=24, color="#777")
    ax2.set_xlabel("hours from order to fill")
    save(fig, "fills.png", "Fill rate and time to fill")

    fig, ax = plt.subplots(figsize=(7, 3))
    realized, predicted = [], []
    for s in names:
        mine = [f for f in settled if f.strategy == s]
        n = sum((f.count for f in mine), Decimal(0))
        realized.append(float(sum((f.pnl for f in mine), Decimal(0)) / n * 100) if n else 0.0)
        with_pred = [f for f in mine if f.predicted_edge is not None]
        m = sum((f.count for f in with_pred), Decimal(0))
        predicted.append(float(sum((f.predicted_edge * f.count for f in with_pred), Decimal(0)) / m * 100)
                         if m else 0.0)
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], predicted, width=0.4, label="predicted", color="#999")
    ax.bar([i + 0.2 for i in x], realized, width=0.4, label="realized", color="#2a7")
    ax.set_xticks(list(x), names)
    ax.set_ylabel("¢ per filled contract")
    ax.legend()
    save(fig, "edge.png", "Realized vs predicted edge per strategy")

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    bins: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for f in settled:
        b = min(int(f.price * 10), 9)
        bins[b][0] += float(f.count)
        bins[b][1] += float(f.count) if f.won else 0.0
        bins[b][2] += float(f.price * f.count)
    xs = [bins[b][2] / bins[b][0] for b in sorted(bins)]
    ys = [bins[b][1] / bins[b][0] for b in sorted(bins)]
    sizes = [20 + 200 * bins[b][0] / max(v[0] for v in bins.values()) for b in sorted(bins)] if bins else []
    ax.plot([0, 1], [0, 1], color="#888", linewidth=0.8)
    ax.scatter(xs, ys, s=sizes, color="#47a")
    ax.set_xlabel("price paid")
    ax.set_ylabel("share won")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    save(fig, "reliability.png", "Reliability of the filled markets (marker size = contracts)")

    page = folder / "index.html"
    page.write_text(_html(result, charts), encoding="utf-8")
    return page


def _sum_by(fills: list[FillOutcome], key: Any) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for f in fills:
        out[key(f)] += f.pnl
    return out


def _horizon_bucket(f: FillOutcome) -> str:
    if f.order_created_at is None or f.close_time is None:
        return "?"
    hours = (f.close_time - f.order_created_at).total_seconds() / 3600
    for edge in (3, 6, 10, 18, 30):
        if hours <= edge:
            return f"≤{edge}h"
    return ">30h"


def _price_bucket(f: FillOutcome) -> str:
    low = min(int(f.price * 10), 9) * 10
    return f"{low:02d}-{low + 9:02d}"


def _html(result: BacktestResult, charts: list[tuple[str, str]]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(s.strategy)}</td><td>{s.orders}</td><td>{s.fills}</td>"
        f"<td>{s.filled_contracts:.0f}</td><td>{s.pnl_after_fees}</td><td>{s.fees}</td>"
        f"<td>{s.pnl_per_filled_contract_cents if s.pnl_per_filled_contract_cents is not None else '—'}</td>"
        f"<td>{'—' if s.ci_low is None else f'[{s.ci_low}, {s.ci_high}]'}</td></tr>"
        for s in result.by_strategy)
    figures = "".join(f"<figure><img src='{n}' alt='{html.escape(t)}'><figcaption>{html.escape(t)}</figcaption>"
                      "</figure>" for n, t in charts)
    return (
        "<!doctype html><html lang='en'><meta charset='utf-8'><title>Milkbot backtest</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}"
        "td:first-child,th:first-child{text-align:left}img{max-width:100%}</style>"
        f"<h1>Backtest {result.start} … {result.end}</h1>"
        f"<p>{result.days} climate days · fill rule <b>{html.escape(result.fill_rule)}</b> · inputs hash "
        f"<code>{result.inputs_hash}</code> · P&amp;L after fees <b>${result.pnl_after_fees}</b> · fees "
        f"${result.fees} · max drawdown ${result.max_drawdown}</p>"
        "<table><tr><th>strategy</th><th>orders</th><th>fills</th><th>contracts</th><th>P&amp;L ($)</th>"
        f"<th>fees ($)</th><th>¢/contract</th><th>95 % CI</th></tr>{rows}</table>{figures}"
        "<p>Intervals: bootstrap over climate days. Money after Kalshi's exact per-order fees.</p></html>")
