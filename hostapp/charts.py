"""The price chart of a replay report, one per symbol, drawn for a trader reading it after
a run: where did the trades go in and out, which won and which lost, and when was DTMS
defending them. The DTMS states sit in a strip under the price, one lane per state, so
that with hundreds of trades the bands never hide the price. Only what is drawn gets a
legend entry, so a legend never names a state that never happened.

The charts that compare whole runs (balance, drawdown, R) are in :mod:`.result_charts`;
what all charts share is in :mod:`.chart_canvas`.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hookspecs import Action, ActionResult, Bar, DefensiveState, Timeframe

from .chart_canvas import ChartError, date_axis, date_numbers, new_figure, num, save_figure
from .outcomes import Outcome
from .report_files import chart_file_name

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

State = tuple[datetime, int, DefensiveState, DefensiveState, str]


def write_price_charts(
    directory: Path,
    series: Mapping[str, Sequence[Bar]],
    *,
    trades: Sequence[Outcome],
    states: Sequence[State],
    actions: Sequence[tuple[datetime, Action, ActionResult]],
    timeframe: Timeframe | str,
    until: datetime | None = None,
    since: datetime | None = None,
    title: str = "",
) -> list[Path]:
    """One PNG per symbol in ``directory``, named by :func:`~.report_files.chart_file_name`
    (``<SYMBOL>.png`` for a symbol that is a safe name), from the first bar opening at or
    after ``since`` (``--from``: the bars before it were history, not traded). Returns
    the files written; a :class:`~.chart_canvas.ChartError` naming those that could not
    be, after trying every symbol's (a folder in one chart's place takes no other chart
    with it)."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    failed: list[tuple[Path, str]] = []
    for symbol, bars in series.items():
        fig = _price_figure(
            symbol,
            bars,
            trades=trades,
            states=states,
            actions=actions,
            timeframe=Timeframe.parse(timeframe),
            until=until,
            since=since,
            title=title,
        )
        if fig is None:
            continue
        path = directory / chart_file_name(symbol, {p.name for p in [*written, *dict(failed)]})
        try:
            save_figure(fig, path)
        except ChartError as exc:
            failed.extend(exc.failed)
            continue
        written.append(path)
    if failed:
        raise ChartError(failed, written)
    return written


def _price_figure(
    symbol: str,
    bars: Sequence[Bar],
    *,
    trades: Sequence[Outcome],
    states: Sequence[State],
    actions: Sequence[tuple[datetime, Action, ActionResult]],
    timeframe: Timeframe,
    until: datetime | None,
    title: str,
    since: datetime | None = None,
) -> Figure | None:
    """Price with trades on top, DTMS state lanes under it; ``None`` with no bars."""
    from matplotlib.patches import Patch

    shift = timeframe.period
    if since is not None:
        bars = bars[bisect_left([b.time for b in bars], since) :]
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
    fig, axes = new_figure([5.0, 0.35 + 0.3 * len(lanes)] if lanes else [1.0])
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
            points[style].append((num(when), _price_at(times, closes, when)))
    for (label, marker, colour), pts in points.items():
        xs, ys = zip(*pts, strict=True)
        ax.scatter(xs, ys, marker=marker, s=20, color=colour, linewidths=1.0, zorder=4)
        handles.append(_key(f"{label} ({len(pts)})", marker=marker, color=colour))

    for row, state in enumerate(lanes):
        spans = [(num(a), num(b) - num(a)) for a, b in bands[state]]
        axes[1].broken_barh(spans, (row - 0.4, 0.8), facecolors=STATE_COLOURS[state], alpha=0.8)
        handles.append(Patch(color=STATE_COLOURS[state], alpha=0.8, label=f"DTMS {state.value}"))
    if lanes:
        strip = axes[1]
        strip.set_yticks(range(len(lanes)), [s.value for s in lanes], fontsize=7)
        strip.set_ylim(len(lanes) - 0.5, -0.5)
        strip.set_ylabel("DTMS state", fontsize=8)
        strip.grid(True, axis="x", alpha=0.3)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)
    ax.set_xlim(num(first), num(end))
    summary = f"{len(mine)} trades: {len(wins)} won, {len(losses)} lost"
    if len(done) < len(mine):
        summary += f", {len(mine) - len(done)} open at end"
    if wins or losses:
        net = sum(t.r or 0.0 for t in done)
        summary += f" · win rate {len(wins) / (len(wins) + len(losses)):.0%} · net {net:+.1f} R"
    ax.set_title(f"{symbol}{f' · {title}' if title else ''}\n{summary}", fontsize=10)
    ax.set_ylabel(f"{symbol} price ({timeframe} close)")
    ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("time (UTC)")
    date_axis(axes[-1])
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
        segments.append([(num(t.opened_at), t.entry_price), (num(x1), y1)])
        if closed:
            exits.append((num(x1), y1))
    style = "dotted" if label == "open at end" else "solid"
    lines = LineCollection(segments, colors=colour, linewidths=0.9, linestyles=style, zorder=2)
    ax.add_collection(lines)
    if exits:
        xs, ys = zip(*exits, strict=True)
        ax.scatter(xs, ys, s=size * 0.5, color=colour, zorder=3, linewidths=0)
    for direction, shape in (("buy", "^"), ("sell", "v")):
        side = [(num(t.opened_at), t.entry_price) for t in group if t.direction == direction]
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
    to_num = date_numbers()
    previous: datetime | None = None
    for when, close in zip(times, closes, strict=True):
        if previous is not None and when - previous > gap:
            xs.append(math.nan)
            ys.append(math.nan)
        xs.append(to_num(when))
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


def _price_at(times: Sequence[datetime], closes: Sequence[float], when: datetime) -> float:
    """The last close seen at ``when``."""
    i = bisect_right(times, when) - 1
    return closes[max(i, 0)]
