"""Charts as SVG with matplotlib, byte-identical for the same data.

Determinism: no pyplot global state (a Figure per chart), a fixed `svg.hashsalt` so element ids do not vary,
text kept as text (`svg.fonttype = none`, no embedded glyphs, small files), and no metadata date/creator.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from publisher.models import CalibrationBin, EquityPoint

BACKGROUND = "#1A1D29"
TEXT = "#FFFFFF"
MUTED = "#A0AEC0"
POSITIVE = "#3B82F6"
NEGATIVE = "#EF4444"
NEUTRAL = "#6B7280"
BORDER = "#2D3748"

_RC = {
    "svg.hashsalt": "milkbot",
    "svg.fonttype": "none",
    "svg.image_inline": True,
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.edgecolor": BORDER,
    "axes.labelcolor": MUTED,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "text.color": TEXT,
    "path.simplify": True,
}
_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None, "Title": None}


def _figure(width: float, height: float) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), dpi=100, facecolor=BACKGROUND)
    ax = fig.add_subplot(1, 1, 1, facecolor=BACKGROUND)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    ax.grid(True, color=BORDER, linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _svg(fig: Figure, title: str) -> bytes:
    buffer = io.StringIO()
    FigureCanvasSVG(fig)
    fig.savefig(buffer, format="svg", metadata={**_METADATA, "Title": title}, facecolor=BACKGROUND)
    return buffer.getvalue().encode("utf-8")


def _empty(ax: object, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", color=MUTED, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _date_label(value: str) -> str:
    return date.fromisoformat(value).strftime("%b %d")


def equity_chart(points: Sequence[EquityPoint], title: str) -> bytes:
    """Cumulative realised P&L per day: an area above/below zero."""
    with matplotlib.rc_context(_RC):
        fig, ax = _figure(9.6, 3.0)
        if not points:
            _empty(ax, "No settled trades yet")
        else:
            xs = list(range(len(points)))
            ys = [float(p.cumulative_pnl) for p in points]
            ax.plot(xs, ys, color=POSITIVE if ys[-1] >= 0 else NEGATIVE, linewidth=1.8)
            ax.fill_between(xs, ys, 0, where=[y >= 0 for y in ys], color=POSITIVE, alpha=0.25, interpolate=True)
            ax.fill_between(xs, ys, 0, where=[y < 0 for y in ys], color=NEGATIVE, alpha=0.25, interpolate=True)
            ax.axhline(0, color=NEUTRAL, linewidth=0.8)
            step = max(1, len(points) // 6)
            ticks = xs[::step]
            ax.set_xticks(ticks, [_date_label(points[i].date) for i in ticks])
            ax.set_ylabel("Cumulative P&L ($)")
            ax.set_xlim(-0.5, max(len(points) - 0.5, 0.5))
        fig.subplots_adjust(left=0.08, right=0.98, top=0.95, bottom=0.12)
        return _svg(fig, title)


def calibration_chart(bins: Sequence[CalibrationBin], title: str) -> bytes:
    """Reliability diagram: predicted probability vs realised frequency; hollow points have too few trades."""
    with matplotlib.rc_context(_RC):
        fig, ax = _figure(5.0, 5.0)
        ax.plot([0, 1], [0, 1], color=NEUTRAL, linewidth=1, linestyle="--", label="perfect calibration")
        shown = [b for b in bins if b.trades and b.mean_predicted is not None and b.realised_rate is not None]
        if not shown:
            ax.text(0.5, 0.55, "No settled trades yet", ha="center", color=MUTED)
        for enough in (True, False):
            group = [b for b in shown if b.enough_data is enough]
            if group:
                ax.scatter([b.mean_predicted for b in group], [b.realised_rate for b in group],
                           s=[30 + min(b.trades, 400) / 2 for b in group],
                           facecolors=POSITIVE if enough else "none", edgecolors=POSITIVE,
                           label="bin" if enough else "bin (too few settled trades)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("Predicted probability")
        ax.set_ylabel("Realised frequency")
        ax.legend(loc="upper left", frameon=False, labelcolor=MUTED, fontsize=8)
        fig.subplots_adjust(left=0.14, right=0.97, top=0.97, bottom=0.12)
        return _svg(fig, title)
