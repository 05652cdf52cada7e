"""The charts of a replay report that compare whole runs: how the balance of each run
moved and how deep it fell below its best (:func:`write_equity_chart`), and how the
per-trade results of each run were spread, in R (:func:`write_r_histogram`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .chart_canvas import RUN_COLOURS, date_axis, new_figure, num, save_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def write_equity_chart(
    path: Path,
    curves: Mapping[str, Sequence[tuple[datetime, float]]],
    *,
    start_balance: float,
    start: datetime,
    until: datetime | None = None,
    stopped: Mapping[str, datetime] | None = None,
) -> Path:
    """Balance curves of several runs overlaid (top) and their drawdown curves (bottom),
    from ``start`` to the last change or ``until`` (where the replay got to); a run in
    ``stopped`` (interrupted) ends where it got, not flat to the others' end."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = equity_figure(
        curves, start_balance=start_balance, start=start, until=until, stopped=stopped or {}
    )
    save_figure(figure, path)
    return path


def write_r_histogram(path: Path, rs: Mapping[str, Sequence[float]]) -> Path:
    """Per-trade R of several runs, overlaid."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(r_figure(rs), path)
    return path


def equity_figure(
    curves: Mapping[str, Sequence[tuple[datetime, float]]],
    *,
    start_balance: float,
    start: datetime,
    until: datetime | None = None,
    stopped: Mapping[str, datetime] | None = None,
) -> Figure:
    """Balance steps per run (top) and money below each run's running peak (bottom)."""
    fig, (top, bottom) = new_figure([3.0, 1.6])
    top.xaxis_date()
    full = {label: [(start, start_balance), *sorted(points)] for label, points in curves.items()}
    last = max([p[-1][0] for p in full.values()] + [until or start])
    stopped = stopped or {}
    for i, (label, points) in enumerate(full.items()):
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        end = max(stopped.get(label, last), points[-1][0])
        times = [num(t) for t, _ in points] + [num(end)]
        balance = [b for _, b in points] + [points[-1][1]]
        peaks: list[float] = []
        drawdown: list[float] = []
        for b in balance:
            peaks.append(max(b, peaks[-1]) if peaks else b)
            drawdown.append(b - peaks[-1])
        worst = min(drawdown)
        at = drawdown.index(worst)
        pct = -worst / peaks[at] * 100 if peaks[at] > 0 else 0.0
        text = f"{label}: end {balance[-1]:,.2f} ({balance[-1] - start_balance:+,.2f}), "
        text += f"max drawdown {-worst:,.2f} ({pct:.1f}%)"
        if label in stopped:
            text += f", stopped at {end:%Y-%m-%d %H:%M}"
        top.plot(times, balance, drawstyle="steps-post", color=colour, linewidth=1.3, label=text)
        bottom.plot(times, drawdown, drawstyle="steps-post", color=colour, linewidth=1.0)
    top.axhline(start_balance, color="#999999", linewidth=0.7, linestyle="--")
    top.set_title(f"Balance of each run from {start_balance:,.2f} and its drawdown", fontsize=10)
    top.set_ylabel("balance")
    bottom.set_ylabel("drawdown\n(money below peak)")
    bottom.set_xlabel("time (UTC)")
    top.legend(loc="upper left", fontsize=8)
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    if last > start:  # a run without a trade has no span to show (and matplotlib warns)
        bottom.set_xlim(num(start), num(last))
    date_axis(bottom)
    return fig


def r_figure(rs: Mapping[str, Sequence[float]]) -> Figure:
    """Overlaid outlines on shared bins: the runs stay comparable bar for bar."""
    fig, (ax,) = new_figure([1.0])
    runs = {k: [r for r in v if math.isfinite(r)] for k, v in rs.items()}
    every = [r for v in runs.values() for r in v]
    edges = [-0.25, 0.25]
    if every:
        low, high = math.floor(min(every) * 2) / 2, math.ceil(max(every) * 2) / 2
        width = max(0.25, (high - low) / 60)
        count = max(1, math.ceil((high - low) / width - 1e-9))
        edges = [low + k * width for k in range(count + 1)]
        if high == low:
            edges = [low - 0.25, low + 0.25]
    for i, (label, values) in enumerate(runs.items()):
        if not values:
            continue
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        mean = sum(values) / len(values)
        text = f"{label}: {len(values)} trades, mean {mean:+.2f} R"
        ax.hist(values, bins=edges, histtype="stepfilled", color=colour, alpha=0.15)
        ax.hist(values, bins=edges, histtype="step", color=colour, linewidth=1.4, label=text)
        ax.axvline(mean, color=colour, linestyle="--", linewidth=1.0)
    ax.axvline(0.0, color="#000000", linewidth=1.0)
    if not every:
        ax.text(0.5, 0.5, "no closed trades", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(loc="upper right", fontsize=8, title="dashed: mean R", title_fontsize=8)
    ax.set_title("Per-trade result in R (risk at entry), runs overlaid on shared bins", fontsize=10)
    ax.set_xlabel("R per trade (0 = break-even; left of the line: losses)")
    ax.set_ylabel("trades")
    ax.grid(True, alpha=0.3)
    return fig
