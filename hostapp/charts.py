"""The charts of a replay report, drawn for a trader reading them after a run.

Three pictures answer three questions. Per symbol (:func:`write_price_charts`): where did
the trades go in and out, which won and which lost, and when was DTMS defending them. The
DTMS states sit in a strip under the price, one lane per state, so that with hundreds of
trades the bands never hide the price. Per report (:func:`write_equity_chart`): how did
the balance of each run move, and how deep did it fall below its best. And
(:func:`write_r_histogram`) how were the per-trade results of each run spread, in R.

Only what is drawn gets a legend entry, so a legend never names a state that never
happened. Figures are built with :class:`matplotlib.figure.Figure`, not pyplot, so no
global figure is left behind, and the Agg backend is chosen only when a chart is drawn.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hookspecs import Action, ActionResult, Bar, DefensiveState

from .outcomes import Outcome
from .report import chart_file_name

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: band colour of each DTMS state worth showing (HEALTHY and CLOSED are not bands)
STATE_COLOURS = {
    DefensiveState.WARNING_L1: "#f2c744",
    DefensiveState.WARNING_L2: "#f08a24",
    DefensiveState.HEDGED: "#d62728",
    DefensiveState.RECOVERING: "#1f77b4",
}
#: the seven action kinds drawn as five kinds of marker: label, marker, colour
ACTION_MARKERS = {
    "tighten_sl": ("stop moved", "_", "#1f3b73"),
    "move_sl_breakeven": ("stop moved", "_", "#1f3b73"),
    "partial_close": ("closed by DTMS (part or all)", "x", "#000000"),
    "close": ("closed by DTMS (part or all)", "x", "#000000"),
    "hedge": ("hedge opened", "D", "#8c1d18"),
    "close_hedge": ("hedge closed", "d", "#6a3d9a"),
    "re_add": ("re-added", "P", "#17becf"),
}
WIN, LOSS, OPEN = "#1a9641", "#d7191c", "#8c8c8c"
PRICE = "#3a3a3a"
RUN_COLOURS = ("#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")
SIZE = (14.0, 6.0)
DPI = 100

State = tuple[datetime, int, DefensiveState, DefensiveState, str]


def write_price_charts(
    directory: Path,
    series: Mapping[str, Sequence[Bar]],
    *,
    trades: Sequence[Outcome],
    states: Sequence[State],
    actions: Sequence[tuple[datetime, Action, ActionResult]],
    base_seconds: int,
    until: datetime | None = None,
    title: str = "",
) -> list[Path]:
    """One PNG per symbol in ``directory``, named by :func:`~.report.chart_file_name`
    (``<SYMBOL>.png`` for a symbol that is a safe name). Returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for symbol, bars in series.items():
        fig = _price_figure(
            symbol,
            bars,
            trades=trades,
            states=states,
            actions=actions,
            base_seconds=base_seconds,
            until=until,
            title=title,
        )
        if fig is None:
            continue
        path = directory / chart_file_name(symbol, {p.name for p in written})
        fig.savefig(path)
        written.append(path)
    return written


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
    figure = _equity_figure(
        curves, start_balance=start_balance, start=start, until=until, stopped=stopped or {}
    )
    figure.savefig(path)
    return path


def write_r_histogram(path: Path, rs: Mapping[str, Sequence[float]]) -> Path:
    """Per-trade R of several runs, overlaid."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _r_figure(rs).savefig(path)
    return path


def _legend_labels(fig: Figure) -> list[str]:
    """Every label in the figure's legends, in order: what a reader is told is drawn."""
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    return [t.get_text() for lg in legends if lg is not None for t in lg.get_texts()]


def _new_figure(rows: Sequence[float]) -> tuple[Figure, list[Axes]]:
    """A figure of the report's size with stacked panels sharing the time axis."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    axes = fig.subplots(len(rows), 1, sharex=True, height_ratios=list(rows), squeeze=False)
    return fig, [a for (a,) in axes]


def _date_axis(ax: Axes) -> None:
    """Concise dates: they adapt from minutes to years and never overlap."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _timeframe(seconds: int) -> str:
    names = {60: "M1", 300: "M5", 900: "M15", 1800: "M30", 3600: "H1", 14400: "H4"}
    names |= {86400: "D1", 604800: "W1"}
    return names.get(seconds, f"{seconds}s")


def _price_figure(
    symbol: str,
    bars: Sequence[Bar],
    *,
    trades: Sequence[Outcome],
    states: Sequence[State],
    actions: Sequence[tuple[datetime, Action, ActionResult]],
    base_seconds: int,
    until: datetime | None,
    title: str,
) -> Figure | None:
    """Price with trades on top, DTMS state lanes under it; ``None`` with no bars."""
    from matplotlib.patches import Patch

    shift = timedelta(seconds=base_seconds)
    times = [b.time + shift for b in bars]  # a bar's close: when events saw its price
    if until is not None:
        times = times[: bisect_right(times, until)]
    if not times:
        return None
    closes = [b.close for b in bars[: len(times)]]
    first, end = times[0] - shift, times[-1]
    mine = [t for t in trades if t.symbol == symbol and first <= t.opened_at <= end]
    bands = _state_bands(mine, states, end)
    lanes = [s for s in STATE_COLOURS if bands.get(s)]
    fig, axes = _new_figure([5.0, 0.35 + 0.3 * len(lanes)] if lanes else [1.0])
    ax = axes[0]
    ax.xaxis_date()
    ax.plot(*_broken_at_gaps(times, closes, shift * 3), color=PRICE, linewidth=0.6, zorder=1)
    handles: list[Artist] = [_key("close", color=PRICE, linewidth=1)]

    done = [t for t in mine if _ended(t, end)]
    wins = [t for t in done if (t.r or 0.0) > 0]
    losses = [t for t in done if (t.r or 0.0) < 0]
    groups = [("win", WIN, wins), ("loss", LOSS, losses)]
    groups += [("flat (0 R)", OPEN, [t for t in done if not t.r])]
    groups += [("open at end", OPEN, [t for t in mine if not _ended(t, end)])]
    size = 22.0 if len(mine) <= 60 else 12.0
    for label, colour, group in groups:
        if group:
            handles.append(_draw_trades(ax, group, colour, label, times, closes, end, size))
    for direction, shape in (("buy", "^"), ("sell", "v")):
        if any(t.direction == direction for t in mine):
            handles.append(_key(f"{direction} entry", marker=shape, color="#555555"))
    if done:
        handles.append(_key("exit", marker="o", markersize=3, color="#555555"))

    tickets = {t.ticket for t in mine}
    points: dict[tuple[str, str, str], list[tuple[float, float]]] = defaultdict(list)
    for when, action, result in actions:
        if result.ok and action.ticket in tickets and first <= when <= end:
            style = ACTION_MARKERS.get(action.kind.value, (action.kind.value, "*", "#000000"))
            points[style].append((_num(when), _price_at(times, closes, when)))
    for (label, marker, colour), pts in points.items():
        xs, ys = zip(*pts, strict=True)
        ax.scatter(xs, ys, marker=marker, s=20, color=colour, linewidths=1.0, zorder=4)
        handles.append(_key(f"{label} ({len(pts)})", marker=marker, color=colour))

    for row, state in enumerate(lanes):
        spans = [(_num(a), _num(b) - _num(a)) for a, b in bands[state]]
        axes[1].broken_barh(spans, (row - 0.4, 0.8), facecolors=STATE_COLOURS[state], alpha=0.8)
        handles.append(Patch(color=STATE_COLOURS[state], alpha=0.8, label=f"DTMS {state.value}"))
    if lanes:
        strip = axes[1]
        strip.set_yticks(range(len(lanes)), [s.value for s in lanes], fontsize=7)
        strip.set_ylim(len(lanes) - 0.5, -0.5)
        strip.set_ylabel("DTMS state", fontsize=8)
        strip.grid(True, axis="x", alpha=0.3)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)
    ax.set_xlim(_num(first), _num(end))
    summary = f"{len(mine)} trades: {len(wins)} won, {len(losses)} lost"
    if len(done) < len(mine):
        summary += f", {len(mine) - len(done)} open at end"
    if wins or losses:
        net = sum(t.r or 0.0 for t in done)
        summary += f" · win rate {len(wins) / (len(wins) + len(losses)):.0%} · net {net:+.1f} R"
    ax.set_title(f"{symbol}{f' · {title}' if title else ''}\n{summary}", fontsize=10)
    ax.set_ylabel(f"{symbol} price ({_timeframe(base_seconds)} close)")
    ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("time (UTC)")
    _date_axis(axes[-1])
    return fig


def _draw_trades(
    ax: Axes,
    group: Sequence[Outcome],
    colour: str,
    label: str,
    times: Sequence[datetime],
    closes: Sequence[float],
    end: datetime,
    size: float,
) -> Artist:
    """Entries, exits and the thin line joining them for trades of one outcome; returns
    the legend key. A trade still open is joined to the last close, dotted."""
    from matplotlib.collections import LineCollection

    segments, exits = [], []
    for t in group:
        closed = _ended(t, end) and t.closed_at is not None
        x1 = t.closed_at if closed and t.closed_at else end
        y1 = t.exit_price if closed and t.exit_price else _price_at(times, closes, x1)
        segments.append([(_num(t.opened_at), t.entry_price), (_num(x1), y1)])
        if closed:
            exits.append((_num(x1), y1))
    style = "dotted" if label == "open at end" else "solid"
    lines = LineCollection(segments, colors=colour, linewidths=0.9, linestyles=style, zorder=2)
    ax.add_collection(lines)
    if exits:
        xs, ys = zip(*exits, strict=True)
        ax.scatter(xs, ys, s=size * 0.5, color=colour, zorder=3, linewidths=0)
    for direction, shape in (("buy", "^"), ("sell", "v")):
        side = [(_num(t.opened_at), t.entry_price) for t in group if t.direction == direction]
        if side:
            xs, ys = zip(*side, strict=True)
            ax.scatter(xs, ys, marker=shape, s=size, color=colour, zorder=3, linewidths=0)
    return _key(f"{label} ({len(group)})", color=colour, linewidth=0.9, linestyle=style)


def _key(label: str, **style: Any) -> Artist:
    """A legend key for something drawn: a line, or a marker alone when a marker is given."""
    from matplotlib.lines import Line2D

    if "marker" in style:
        style.setdefault("linestyle", "none")
    return Line2D([], [], label=label, **style)


def _broken_at_gaps(
    times: Sequence[datetime], closes: Sequence[float], gap: timedelta
) -> tuple[list[float], list[float]]:
    """The close line as date numbers, lifted where the market was shut (a weekend), so a
    closed market is not drawn as a straight move."""
    xs: list[float] = []
    ys: list[float] = []
    num = _date_numbers()
    previous: datetime | None = None
    for when, close in zip(times, closes, strict=True):
        if previous is not None and when - previous > gap:
            xs.append(math.nan)
            ys.append(math.nan)
        xs.append(num(when))
        ys.append(close)
        previous = when
    return xs, ys


def _ended(trade: Outcome, end: datetime) -> bool:
    """Closed within the chart: a trade closing after an interrupted run's end was open."""
    return trade.closed_at is not None and trade.r is not None and trade.closed_at <= end


def _state_bands(
    trades: Sequence[Outcome], states: Sequence[State], end: datetime
) -> dict[DefensiveState, list[tuple[datetime, datetime]]]:
    """Time spans of each drawn state over the given trades: a state lasts until the
    ticket's next transition, its close, or the end of the chart."""
    closed = {t.ticket: min(t.closed_at, end) if t.closed_at else end for t in trades}
    changes: dict[int, list[tuple[datetime, DefensiveState]]] = defaultdict(list)
    for when, ticket, _, new, _ in sorted(states, key=lambda s: s[0]):
        if ticket in closed and when <= end:
            changes[ticket].append((when, new))
    bands: dict[DefensiveState, list[tuple[datetime, datetime]]] = defaultdict(list)
    for ticket, steps in changes.items():
        for i, (since, state) in enumerate(steps):
            stop = steps[i + 1][0] if i + 1 < len(steps) else closed[ticket]
            if state in STATE_COLOURS and stop > since:
                bands[state].append((since, stop))
    return bands


def _num(when: datetime) -> float:
    """Matplotlib's date number, for artists built from raw coordinates."""
    return _date_numbers()(when)


@cache
def _date_numbers() -> Callable[[datetime], float]:
    """A converter to matplotlib's date numbers (days since its epoch): the time since one
    date :func:`matplotlib.dates.date2num` converted, in days. ``date2num`` itself costs
    about 20 µs a call, and a price chart converts every bar (100,000 of them: 2 s)."""
    import matplotlib.dates as mdates

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    base = float(mdates.date2num(epoch))

    def num(when: datetime) -> float:
        return base + (when - epoch) / _DAY

    return num


_DAY = timedelta(days=1)


def _price_at(times: Sequence[datetime], closes: Sequence[float], when: datetime) -> float:
    """The last close seen at ``when``."""
    i = bisect_right(times, when) - 1
    return closes[max(i, 0)]


def _equity_figure(
    curves: Mapping[str, Sequence[tuple[datetime, float]]],
    *,
    start_balance: float,
    start: datetime,
    until: datetime | None = None,
    stopped: Mapping[str, datetime] | None = None,
) -> Figure:
    """Balance steps per run (top) and money below each run's running peak (bottom)."""
    fig, (top, bottom) = _new_figure([3.0, 1.6])
    top.xaxis_date()
    full = {label: [(start, start_balance), *sorted(points)] for label, points in curves.items()}
    last = max([p[-1][0] for p in full.values()] + [until or start])
    stopped = stopped or {}
    for i, (label, points) in enumerate(full.items()):
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        end = max(stopped.get(label, last), points[-1][0])
        times = [_num(t) for t, _ in points] + [_num(end)]
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
        bottom.set_xlim(_num(start), _num(last))
    _date_axis(bottom)
    return fig


def _r_figure(rs: Mapping[str, Sequence[float]]) -> Figure:
    """Overlaid outlines on shared bins: the runs stay comparable bar for bar."""
    fig, (ax,) = _new_figure([1.0])
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
