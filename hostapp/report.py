"""What a run did: the figures of ``summary.json`` and the table printed after a run (the
charts are :mod:`hostapp.charts`).

The figures come from four places, each the authority for its part: the trading loop's
statistics (entries, and closes with their reasons), a small recorder plugin that hears
``on_state_change`` and ``on_action`` (states reached, actions by kind, with the replay
time they happened at), the broker (closed trades with their realised profit, the
balance), and the plugins' own run reports (how often a position manager held back on a
defended trade, per ticket: ``held_defensive``, summed as ``exits_held_defensive``; those
of the holds not for the trade's own state: ``held_not_own_state``, summed as
``exits_held_not_own_state``).
Per-trade results are measured in R, the risk taken at entry (|entry − initial stop| ×
volume), so XAUUSD and EURUSD trades can be averaged together.
A hedge or re-add opened for a trade counts towards the trade it defends
(:mod:`hostapp.outcomes`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hookspecs import (
    Action,
    ActionResult,
    DefensiveState,
    HostView,
    Trade,
    hookimpl,
)

from .close_times import balance_after_each_close_time
from .loop import (
    LoopStats,
    Recent,
    RecentCloses,
    RecentStates,
    appended,
    counted,
    reached_by_state,
)
from .outcomes import Outcome, metrics, of_no_trade, outcomes, parent_ticket
from .ran_dry import dry_words
from .report_notes import failed_actions_note, open_positions_note

RECORDER_NAME = "run_report"
#: the hook of the plugins that manage open positions (move stops, trail, close parts):
#: a run's summary names them as ``position_managers``
POSITION_HOOK = "manage_positions"

#: ``actions_by_source``'s name for the actions no plugin's hook executed (a web route's
#: handler, a test's direct call) that name no source themselves.
OUTSIDE_HOOKS = "outside any plugin hook"


#: Positions opened by actions the recorder remembers (a live run's newest).
OPENED_KEPT = 10_000


@dataclass
class RunRecorder:
    """An internal plugin the runner registers: it only listens. Besides the states and
    actions it keeps the positions actions opened, each with the trade it was opened for
    (a hedge's, a re-add's): with the loop's entries, what the summary says of the
    positions open at the end. It listens to no per-trade hook: a second implementer of
    ``on_trade_executed``/``on_trade_closed`` costs every trade of a replay the host's
    concurrent dispatch (7 % of a 100,000-bar replay without DTMS)."""

    states: list[tuple[datetime, int, DefensiveState, DefensiveState, str]] = field(
        default_factory=list
    )
    actions: list[tuple[datetime, Action, ActionResult]] = field(default_factory=list)
    opened: dict[int, int | None] = field(default_factory=dict)

    def bound(self, window: int) -> None:
        """Keep only the newest ``window`` state changes and actions (a live run); the
        actions are still counted in full."""
        self.states = RecentStates(self.states, window)  # type: ignore[assignment]
        self.actions = Recent(  # type: ignore[assignment]
            self.actions, window, key=lambda a: (a[1].kind.value, a[2].ok, a[1].source)
        )

    @hookimpl
    def on_state_change(
        self, host: HostView, ticket: int, old: DefensiveState, new: DefensiveState, reason: str
    ) -> None:
        self.states.append((host.clock.now(), ticket, old, new, reason))

    @hookimpl
    def on_action(self, host: HostView, action: Action, result: ActionResult) -> None:
        reported = getattr(host, "reported", None)
        if reported is not None and reported(action):
            return  # carried out elsewhere (a DTMS server's): not this run's action
        self.actions.append((host.clock.now(), action, result))
        ticket = result.new_ticket
        if result.ok and ticket is not None and ticket != action.ticket:
            if len(self.opened) >= OPENED_KEPT:  # a live run's: the oldest go first
                del self.opened[next(iter(self.opened))]
            self.opened[ticket] = action.ticket


def held_defensive(
    reports: Mapping[str, Mapping[str, Any]], key: str = "held_defensive"
) -> dict[str, int]:
    """Per ticket (a JSON key), how often the plugins held back from a trade because it
    was defensive: the ``held_defensive`` of their run reports, summed (``key``
    ``held_not_own_state``: those of the holds while the trade's own state was not)."""
    held: Counter[str] = Counter()
    for report in reports.values():
        counts = report.get(key)
        if isinstance(counts, Mapping):
            held.update({str(t): int(n) for t, n in counts.items() if n})
    return dict(sorted(held.items(), key=lambda item: int(item[0])))


def max_drawdown(start_balance: float, closed: Sequence[Trade]) -> tuple[float, float]:
    """Largest peak-to-trough fall of the realised balance, in money and, each measured
    on its own, in percent of its peak: an account that grew between two falls has its
    deepest fall in money later than its deepest in percent. The deals of one time
    (the closes of one bar on several symbols) count as one: the balance between them
    never stood, and counted one by one in the order the broker booked them (the order
    of the data files) a peak between a gain and a loss of the same bar made the
    drawdown depend on that order (:mod:`.close_times`, the equity chart's rule too)."""
    peak = start_balance
    worst = worst_pct = 0.0
    for _, equity in balance_after_each_close_time(start_balance, closed):
        peak = max(peak, equity)
        fall = peak - equity
        worst = max(worst, fall)
        if peak > 0:
            worst_pct = max(worst_pct, fall / peak * 100)
    return round(worst, 2), round(worst_pct, 3)


def summarize(
    *,
    stats: LoopStats,
    recorder: RunRecorder,
    closed: Sequence[Trade],
    open_positions: Sequence[Trade] | None,
    start_balance: float,
    balance: float | None,
    extra: Mapping[str, Any] | None = None,
    trades: Sequence[Outcome] | None = None,
) -> dict[str, Any]:
    """The figures of one run, as ``summary.json`` holds them (the per-trade figures:
    :func:`hostapp.outcomes.metrics`, of ``trades`` when the caller has them already).
    ``open_positions`` and ``balance`` are ``None`` when the broker could not say at the
    end (a live terminal gone, or on another account): the figures made of them are then
    ``None`` (null in JSON, "unknown" in the table), never a 0 that reads as a result."""
    known = open_positions is not None
    held = list(open_positions or ())
    if trades is None:
        trades = outcomes(stats.entries, stats.closes, closed, held)
    reached = reached_by_state(recorder.states)
    actions: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    kinds = counted(recorder.actions, lambda a: (a[1].kind.value, a[2].ok, a[1].source))
    for (kind, ok, source), n in kinds.items():
        (actions if ok else failed)[kind] += n
        if ok:  # the host names the plugin whose hook acted: none, outside every hook
            by_source[source or OUTSIDE_HOOKS][kind] += n
    pnl = None if balance is None else round(balance - start_balance, 2)
    dd, dd_pct = max_drawdown(start_balance, closed)
    summary: dict[str, Any] = dict(extra or {})
    summary.update(
        bars=stats.bars,
        cycles=stats.cycles,
        interrupted=stats.interrupted,
        trades=appended(stats.entries),
        open_at_end=sum(1 for t in held if parent_ticket(t) == t.ticket) if known else None,
        positions_open_at_end=len(held) if known else None,
        positions_at_end=positions_at_end(
            held, {**{t.ticket: None for _, t, _ in stats.entries}, **recorder.opened}
        )
        if known
        else None,
        **metrics(trades),
        states_reached=reached,
        actions=dict(sorted(actions.items())),
        actions_failed=dict(sorted(failed.items())),
        actions_failed_why=failed_why(recorder.actions),
        actions_by_source={k: dict(sorted(v.items())) for k, v in sorted(by_source.items())},
        closes_by_reason=dict(sorted(counted(stats.closes, lambda c: c[2]).items())),
        exits_held_defensive=held_defensive(summary.get("plugin_reports", {})),
        exits_held_not_own_state=held_defensive(
            summary.get("plugin_reports", {}), "held_not_own_state"
        ),
        orders_proposed=stats.orders_proposed,
        orders_vetoed=sum(stats.orders_vetoed.values()),
        orders_vetoed_by=vetoed_by(stats),
        orders_rejected=stats.orders_rejected,
        orders_netted=dict(sorted(stats.netted.items())),
        entries_veto_overridden=stats.entries_veto_overridden,
        entries_veto_overridden_by=dict(sorted(stats.entries_veto_overridden_by.items())),
        pnl=pnl,
        floating_pnl=round(float(sum(t.profit for t in held)), 2) if known else None,
        start_balance=round(start_balance, 2),
        end_balance=None if balance is None else round(balance, 2),
        max_drawdown=dd,
        max_drawdown_pct=dd_pct,
    )
    if isinstance(stats.closes, RecentCloses) and appended(stats.entries) > len(stats.entries):
        summary["closed_trades"] = stats.closes.trades_closed  # a total, as "trades" is
        summary["figures_cover"] = len(stats.entries)  # the newest entries the rest cover
    return summary


def vetoed_by(stats: LoopStats) -> dict[str, int]:
    """The entries vetoed, by the plugin that vetoed them (``Veto.plugin``, from the
    loop's missed entries, counted in full in a live run too): what an A/B counts as the
    compared plugin's own vetoes (:func:`hostapp.compare.activity`), not every plugin's."""
    missed = counted(stats.missed, lambda m: m[3])
    return dict(sorted((who, n) for (why, who), n in missed.items() if why == "vetoed"))


def failed_why(actions: Sequence[tuple[datetime, Action, ActionResult]]) -> dict[str, Any]:
    """The failed actions among those recorded (a live run keeps the newest), by result
    code, the most frequent first, with the first one's words: a defence that never
    acted (every hedge refused for want of margin) says why in the summary."""
    why: dict[str, dict[str, Any]] = {}
    for _, action, result in actions:
        if result.ok:
            continue
        code = str(getattr(result.code, "value", result.code))
        entry = why.setdefault(
            code, {"count": 0, "first": f"{action.kind.value}: {result.message}"}
        )
        entry["count"] += 1
    return dict(sorted(why.items(), key=lambda item: -item[1]["count"]))


def positions_at_end(
    open_positions: Sequence[Trade], opened: Mapping[int, int | None]
) -> list[dict[str, Any]]:
    """Every position open at the end, as ``summary.json`` names it: whether this run
    opened it (``opened``: a strategy's entry, or an action's new position), the trade it
    was opened for (the action's ticket; else the one its comment names, for a position
    the run did not record, such as an order of unknown outcome that executed later) and
    whether that trade is still open. A position whose trade closed is left to itself."""
    tickets = {t.ticket for t in open_positions}
    rows = []
    for t in sorted(open_positions, key=lambda t: t.ticket):
        parent = opened.get(t.ticket) if t.ticket in opened else None
        if parent is None and parent_ticket(t) != t.ticket:
            parent = parent_ticket(t)
        rows.append(
            {
                "ticket": t.ticket,
                "symbol": t.symbol,
                "direction": t.direction,
                "volume": t.volume,
                "comment": t.comment,
                "opened_by_run": t.ticket in opened,
                "for_trade": parent,
                "for_trade_open": None if parent is None else parent in tickets,
            }
        )
    return rows


# -- text ---------------------------------------------------------------------------------


_PERCENT = frozenset({"win_rate"})
_R = frozenset({"avg_r", "avg_win_r", "avg_loss_r"})


def _fmt(value: Any, key: str = "") -> str:
    """Money with 2 decimals, R with 2 and a sign, rates as percent, counts as is."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if key in _PERCENT and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if key in _R and isinstance(value, int | float):
        return f"{value:+.2f}R"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items() if v) or "none"
    return str(value)


#: what a table shows for a figure of no trade (:func:`~.outcomes.of_no_trade`), as the
#: A/B's table shows one that has no value
NO_FIGURE = "–"

#: the table's rows: (summary key, label). ``closes_by_reason`` counts every position that
#: closed, a trade's hedges and re-adds as well as the trade: its row says so, or a run
#: read "trades closed 1" beside "closes by reason action 2". summary.json's key keeps
#: its name and its count of positions (the carried-over note, :mod:`.run_notes`, counts
#: positions into it)
SUMMARY_ROWS = (
    ("trades", "trades opened"),
    ("closed_trades", "trades closed"),
    ("open_at_end", "trades still open at the end"),
    ("positions_open_at_end", "positions open at the end"),
    ("win_rate", "win rate"),
    ("avg_r", "average R"),
    ("avg_win_r", "average win (R)"),
    ("avg_loss_r", "average loss (R)"),
    ("profit_factor", "profit factor"),
    ("expectancy", "expectancy / closed trade"),
    ("states_reached", "trades moved into each DTMS state"),
    ("actions", "actions by kind"),
    ("actions_failed", "actions failed by kind"),
    ("closes_by_reason", "position closes by reason (hedges too)"),
    ("pnl", "P&L (realised)"),
    ("floating_pnl", "P&L (open positions)"),
    ("max_drawdown", "max drawdown (realised)"),
    ("max_drawdown_pct", "max drawdown % (realised)"),
)


#: the rows of :data:`SUMMARY_ROWS` that are money, in the account's currency (the
#: summary's ``currency``, which the table writes after them)
MONEY_ROWS = frozenset({"pnl", "floating_pnl", "max_drawdown", "expectancy"})


def _money(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: the figures :func:`summarize` leaves ``None`` when the broker could not say at the end
UNKNOWN_AT_END = frozenset({"open_at_end", "positions_open_at_end", "pnl", "floating_pnl"})


def summary_table(summary: Mapping[str, Any]) -> str:
    """A two-column table of one run, then the sentences the plugins' ``run_report`` asked
    to show (``note``: a part that could not do its job says so here, in words) and the
    host's own (``host_notes``: what it had to guess)."""
    width = max(len(label) for _, label in SUMMARY_ROWS)
    lines = [
        f"WARNING ({name}): {report['warning']}"
        for name, report in sorted(summary.get("plugin_reports", {}).items())
        if isinstance(report, Mapping) and report.get("warning")
    ]
    dry = summary.get("ran_dry")
    if dry:
        lines.insert(
            0, f"WARNING: the account {dry_words(dry)}: the figures cover only the bars before"
        )
    blank = of_no_trade(summary)
    for key, label in SUMMARY_ROWS:
        if key == "actions_failed" and not summary.get(key):
            continue  # said only when there are any
        value = _fmt(summary.get(key, ""), key) if key not in blank else NO_FIGURE
        if key in UNKNOWN_AT_END and key in summary and summary[key] is None:
            value = "unknown"  # the broker did not answer at the end (summarize)
        elif key == "profit_factor" and value in ("None", ""):  # no losing trade: no ratio
            value = NO_FIGURE if not summary.get("closed_trades") else f"{NO_FIGURE} (no loss)"
        elif key in MONEY_ROWS and summary.get("currency") and _money(summary.get(key)):
            value += f" {summary['currency']}"  # the account's: no amount without it
        if key == "states_reached" and summary.get("defenders") == []:
            value = "no defending plugin running"
        lines.append(f"{label:<{width}}  {value}")
    notes = (open_positions_note(summary), failed_actions_note(summary))
    lines.extend(f"note: {text}" for text in notes if text)
    for name, report in sorted(summary.get("plugin_reports", {}).items()):
        text = report.get("note") if isinstance(report, Mapping) else None
        if text:
            lines.append(f"note ({name}): {text}")
    lines.extend(f"note: {text}" for text in summary.get("host_notes", []))
    cover = summary.get("figures_cover")
    if cover:
        lines.append(
            f"note: the win rate, the R figures, the profit factor, the expectancy, the "
            f"longest losing streak and the hours held are those of the newest {cover:,} "
            f"trades of {summary.get('trades', 0):,}; the counts are totals"
        )
    bare = summary.get("trades_without_r")
    if bare:
        lines.append(
            f"note: {bare} closed trades had no R (no stop, or one at the entry): they count "
            "in the win rate, profit factor and expectancy, not in the R figures"
        )
    return "\n".join(lines)
