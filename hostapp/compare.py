"""The A/B of one plugin: what a run with it changes against the same run without it.

Two comparisons, both from three replays of the same bars (README, "The A/B replay"):

* **same entries**: the run without the plugin goes first; its entries (time, symbol,
  side, volume, stop, target) are then opened, exactly, in a run with the plugin
  (:class:`hostapp.loop.TradingLoop` ``entries``), so only trade management differs,
  and the trades are paired entry by entry (:func:`hostapp.outcomes.pair`);
* **full**: the run with the plugin as it would trade, vetoes of entries included.

This module turns finished runs into the report's figures, ``trades.csv`` and the
side-by-side table. It knows no plugin by name: the plugin under test is a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hookspecs import OrderRequest, Trade

from .compare_closed import closed_in_both, closed_in_one_run
from .compare_entries import cause_label, entry_effect
from .compare_held import held_pairs
from .loop import LoopStats
from .outcomes import (
    Outcome,
    balance_curve,
    of_no_trade,
    pair,
    paired_metrics,
)
from .report import RECORDER_NAME, RunRecorder
from .trade_rows import trade_rows, write_trade_rows


@dataclass
class RunResult:
    """One finished replay: its label, the loop's stats, the broker's closed positions,
    its trades and its summary (``summary.json``'s figures of this run)."""

    label: str
    stats: LoopStats
    closed: list[Trade]
    trades: list[Outcome]
    summary: dict[str, Any]
    start_balance: float
    start: datetime
    #: the state changes and actions the run's recorder heard, for the price charts
    recorder: RunRecorder = field(default_factory=RunRecorder)
    until: datetime | None = None  # the replay time the run reached

    @property
    def interrupted(self) -> bool:
        return self.stats.interrupted

    def curve(self) -> list[tuple[datetime, float]]:
        return balance_curve(self.start_balance, self.closed)


def entry_script(run: RunResult) -> dict[tuple[datetime, str], list[OrderRequest]]:
    """The entries of ``run`` as orders to open again at the same cycle and symbol."""
    script: dict[tuple[datetime, str], list[OrderRequest]] = {}
    for when, trade, source in run.stats.entries:
        order = OrderRequest(
            symbol=trade.symbol,
            direction=trade.direction,
            volume=trade.volume,
            stop_loss=trade.stop_loss,
            take_profit=trade.take_profit,
            comment=trade.comment,
            source=source,
        )
        script.setdefault((when, trade.symbol), []).append(order)
    return script


def activity(run: RunResult, plugin: str) -> int | None:
    """How much ``plugin`` did in ``run``: the more of its own ``run_report``'s count
    (``activity``) and what the host saw of it: actions it took (``actions_by_source``,
    whose names the host sets) and entries it vetoed itself (``orders_vetoed_by``, and in
    a same-entries run, which opens them all the same, ``entries_veto_overridden_by``:
    another plugin's vetoes are not its doing). ``None`` when it did not run at all."""
    reports = run.summary.get("plugin_reports", {})
    if plugin not in run.summary.get("plugins", []) and _tripped(run, plugin) is None:
        return None  # a plugin its breaker switched off ran until then: counted below
    summary = run.summary
    acted = sum(summary.get("actions_by_source", {}).get(plugin, {}).values())
    vetoed = summary.get("orders_vetoed_by", {}).get(plugin, 0)
    seen = acted + vetoed + summary.get("entries_veto_overridden_by", {}).get(plugin, 0)
    reported = reports.get(plugin, {}).get("activity")
    # a report of 0 does not hide what the host saw it do: a plugin's own count may
    # leave out work of a kind it does not count as its job
    return max(reported, seen) if isinstance(reported, int) else seen


def _tripped(run: RunResult, plugin: str) -> str | None:
    """Why ``plugin``'s breaker switched it off in ``run`` (the summary's ``tripped``), or
    None when it did not."""
    for entry in run.summary.get("tripped", []):
        if isinstance(entry, dict) and entry.get("plugin") == plugin:
            return str(entry.get("why", "it failed too often"))
    return None


#: The figures of a run that say what it traded: one that differs, and the runs differ.
RESULTS = ("trades", "closed_trades", "open_at_end", "pnl", "floating_pnl", "end_balance")


def _changed(run: RunResult, baseline: RunResult, plugin: str) -> bool:
    """Did ``run`` trade otherwise than ``baseline``, which ran the same plugins but
    ``plugin`` (not an ``--against`` baseline, whose own plugin may be the cause)?"""
    own = set(run.summary.get("plugins", [])) - {plugin}
    if own != set(baseline.summary.get("plugins", [])) - {plugin}:
        return False
    return any(run.summary.get(key) != baseline.summary.get(key) for key in RESULTS)


def idle_reason(
    plugin: str, runs: Sequence[RunResult | None], baseline: RunResult | None = None
) -> str | None:
    """Why ``plugin`` did nothing in any of ``runs`` (its own note, else whether any of
    them or the ``baseline`` opened a trade), or ``None`` when it acted in one of them:
    the comparison and the sweep call such runs void in the same words. A run whose
    results differ from the ``baseline``'s, when the compared plugin is all that tells
    them apart, is never idle: the plugin changed them, though nothing the host counts
    said so (an action of no kind it records, a report without ``activity``)."""
    ran = [r for r in runs if r is not None]
    if any(activity(r, plugin) for r in ran):
        return None
    if baseline is not None and any(_changed(r, baseline, plugin) for r in ran):
        return None
    switched_off = [why for r in ran if (why := _tripped(r, plugin)) is not None]
    if switched_off:  # not idle: failing, which "took no action" would hide
        return f"its breaker switched it off: {switched_off[0]}"
    reports = (r.summary.get("plugin_reports", {}).get(plugin, {}) for r in ran)
    said = [n for report in reports if (n := report.get("note"))]
    if said:
        return str(said[0])
    every = [*ran, *([baseline] if baseline is not None else [])]
    trades = sum(int(r.summary.get("trades", 0)) for r in every)
    return "no run opened a trade" if not trades else "it took no action and vetoed nothing"


def build_report(
    plugin: str,
    without: RunResult,
    same: RunResult,
    full: RunResult | None,
    against: str | None = None,
) -> dict[str, Any]:
    """``summary.json`` of a comparison: ``same_entries`` and ``full``, each with
    ``with`` and ``without`` (the baseline: no plugin, or ``against``), the trade-by-trade
    ``paired`` figures, and under ``full.entries`` what vetoing entries did apart from
    managing trades."""
    pairs, unpaired = pair(without.trades, same.trades)
    runs = [without, same] + ([full] if full is not None else [])
    every = set.intersection(*(set(r.summary.get("plugins", [])) for r in runs))
    report: dict[str, Any] = {
        "plugin": plugin,
        "against": against,
        # the plugins the comparison does not tell apart: on in every run (the host's own
        # recorder is not one of them)
        "in_every_run": sorted(every - {plugin, against, RECORDER_NAME}),
        # the money figures' currency: every run's account is one (paper) account's
        "currency": without.summary.get("currency"),
        "same_entries": {
            "with": same.summary,
            "without": without.summary,
            "paired": {
                **paired_metrics(pairs, unpaired),
                **closed_in_one_run(pairs),
                **held_pairs(pairs, same.summary.get("exits_held_defensive") or {}),
            },
        },
    }
    if full is not None:
        report["full"] = {
            "with": full.summary,
            "without": without.summary,
            "entries": entry_effect(
                without.trades, full.trades, full.stats.missed, full.summary.get("orders_vetoed", 0)
            ),
        }
    return report


def write_trades_csv(
    path: Path, without: RunResult, same: RunResult, full: RunResult | None
) -> Path:
    """One row per trade of every run; same-entries rows carry their pair number, so the
    paired figures can be recomputed from the file alone."""
    pairs, _ = pair(without.trades, same.trades)
    pair_without = {p.without.ticket: i for i, p in enumerate(pairs, 1)}
    pair_with = {p.with_.ticket: i for i, p in enumerate(pairs, 1)}
    rows = trade_rows("same_entries", "without", without.trades, pair_without)
    rows += trade_rows("same_entries", "with", same.trades, pair_with)
    if full is not None:
        rows += trade_rows("full", "with", full.trades, {})
    return write_trade_rows(path, rows)


# -- the table ------------------------------------------------------------------------------

ROWS: tuple[tuple[str, str, str], ...] = (
    ("trades", "trades", "n"),
    ("closed_trades", "trades closed", "n"),
    ("open_at_end", "still open at the end", "n"),
    ("win_rate", "win rate", "%"),
    ("avg_r", "average R", "R"),
    ("avg_win_r", "average win", "R"),
    ("avg_loss_r", "average loss", "R"),
    ("profit_factor", "profit factor", "x"),
    ("expectancy", "expectancy / closed trade", "$"),
    ("pnl", "P&L (realised)", "$"),
    ("floating_pnl", "P&L (open positions)", "$"),
    ("max_drawdown", "max drawdown (realised)", "$"),
    ("max_drawdown_pct", "max drawdown % (realised)", "pct"),
    ("longest_losing_streak", "longest losing streak", "n"),
    ("avg_hours_held", "average hours held", "h"),
    ("orders_vetoed", "entries vetoed", "n"),
)
PAIRED_ROWS: tuple[tuple[str, str, str], ...] = (
    ("pairs", "entries paired", "n"),
    ("unpaired", "entries unpaired", "n"),  # the run with the plugin did not take them
    ("winners_r_kept", "winners' R kept", "x"),
    ("winners_r_change", "  R change on winners", "R"),
    ("losers_r_saved", "losers' R saved", "R"),
    ("net_r_change", "net R change, all pairs", "R"),
    ("trades_changed", "trades changed", "n"),
    ("trades_better", "trades made better", "n"),
    ("trades_worse", "trades made worse", "n"),
)


def fmt(value: Any, kind: str) -> str:
    """One cell: money with 2 decimals, R signed, rates and drawdowns in percent."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if kind == "%":
        return f"{value * 100:.1f}%"
    if kind == "pct":
        return f"{value:.2f}%"
    if kind == "R":
        return f"{value:+.2f}R"
    if kind == "x":
        return f"{value:.2f}"
    if kind == "$":
        return f"{value:,.2f}"
    if kind == "h":
        return f"{value:.1f}"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def comparison_table(report: Mapping[str, Any]) -> Any:
    """A rich table: the baseline (no plugin, or the ``against`` one), the plugin on the
    same entries, and the plugin trading freely; then the trade-by-trade figures, and what
    the say over entries did apart from managing trades."""
    from rich.table import Table

    plugin = report["plugin"]
    baseline = report.get("against") or f"without {plugin}"
    same = report["same_entries"]
    full = report.get("full")
    also = report.get("in_every_run")
    against = report.get("against")
    runs_of = f"with {against}" if against else baseline  # "…, with atr_trailing and with dtms"
    title = f"A/B of {plugin}: {_the_bars(same['without'])}, {runs_of} and with {plugin}"
    table = Table(
        title=title + (f" ({', '.join(also)} on in every run)" if also else ""),
        title_justify="left",
    )
    table.add_column("")
    table.add_column(baseline, justify="right")
    table.add_column(f"with {plugin}\n(same entries)", justify="right")
    if full is not None:
        table.add_column(f"with {plugin}\n(full: may veto)", justify="right")
    runs = [same["without"], same["with"]] + ([full["with"]] if full is not None else [])
    no_trade = [of_no_trade(run) for run in runs]
    currency = report.get("currency") or same["without"].get("currency")
    for key, label, kind in ROWS:
        cells = (None if key in n else run.get(key) for run, n in zip(runs, no_trade, strict=True))
        if kind == "$" and currency:  # money: an amount says its currency
            label = f"{label[:-1]}, {currency})" if label.endswith(")") else f"{label} ({currency})"
        table.add_row(label, *(fmt(value, kind) for value in cells))
    table.add_section()
    paired = same["paired"]
    blank = [""] * (len(runs) - 2)
    for key, label, kind in PAIRED_ROWS:
        table.add_row(label, "", fmt(paired.get(key), kind), *blank)
        if key != "pairs" or "pairs_closed" not in paired:
            continue
        closed, counted = closed_in_both(paired)
        if counted < paired.get("pairs", 0):
            # the figures below count these alone: "trades changed 0" of 1 pair in 4
            table.add_row("  closed in both runs", "", fmt(closed, "n"), *blank)
            if counted < closed:  # opened without a stop, no R to count
                table.add_row("    with an R (counted below)", "", fmt(counted, "n"), *blank)
    if full is not None:
        entries = full["entries"]
        table.add_section()
        table.add_row("baseline trades not taken", "", "", fmt(entries["not_taken"], "n"))
        table.add_row("  their R in the baseline", "", "", fmt(entries["not_taken_r"], "R"))
        for cause in entries.get("not_taken_why", []):
            table.add_row(f"  {cause_label(cause)}", "", "", fmt(cause["trades"], "n"))
            table.add_row("    their R in the baseline", "", "", fmt(cause["r"], "R"))
        table.add_row("trades the baseline had not", "", "", fmt(entries["new_trades"], "n"))
        if entries["new_trades"] and "new_trades_r" in entries:  # not in older summaries
            table.add_row("  their R in this run", "", "", fmt(entries["new_trades_r"], "R"))
    return table


def _the_bars(run: Mapping[str, Any]) -> str:
    """What the runs were played on, said once over the table: which timeframe the files
    were read as is a guess from their bar gaps, and a trader checks it first."""
    base, timeframe = run.get("base_timeframe"), run.get("timeframe")
    symbols = ", ".join(run.get("symbols") or [])
    if not base:
        return "the same bars"
    text = f"the same {base} bars"
    if symbols:
        text += f" of {symbols}"
    if timeframe and timeframe != base:
        text += f" (traded on {timeframe})"
    return text


def did_nothing(plugin: str, runs: tuple[RunResult, RunResult, RunResult | None]) -> str | None:
    """Why the comparison is void (the plugin under test did nothing in any run with it),
    or ``None``."""
    without, same, full = runs
    why = idle_reason(plugin, (same, full), without)
    if why is None:
        return None
    return f"{plugin} did nothing in the runs with it, so the comparison shows nothing: {why}"
