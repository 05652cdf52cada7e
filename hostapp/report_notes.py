"""The notes a run's table writes under its rows (:func:`hostapp.report.summary_table`):
the positions open at the end, each named, and why actions failed.

Split from :mod:`hostapp.report`, which makes the figures: these only put into words what
:func:`~hostapp.report.summarize` already keeps in the summary (``positions_at_end``,
``actions_failed_why``), and never change a figure of ``summary.json``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: Positions a note names one by one; past it, the rest are counted.
NAMED_POSITIONS = 10


def _named(items: Sequence[str]) -> str:
    more = len(items) - NAMED_POSITIONS
    return ", ".join(items[:NAMED_POSITIONS]) + (f" and {more} more" if more > 0 else "")


def open_positions_note(summary: Mapping[str, Any]) -> str | None:
    """The positions open at the end, each named, and which of them were opened for a
    trade that has closed (left to themselves, they still carry risk) or were not opened
    by this run as far as it knows: a trader closes or adopts them by hand."""
    rows = summary.get("positions_at_end") or []
    if not rows:
        return None
    each = [
        f"{r['ticket']} {r['direction']} {r['volume']:g} {r['symbol']}"
        + (f" ({r['comment']})" if r.get("comment") else "")
        for r in rows
    ]
    n = len(rows)
    text = f"{n} position{'s' if n > 1 else ''} open at the end: {_named(each)}"
    orphans = [
        f"{r['ticket']} (for {r['for_trade']})" for r in rows if r["for_trade_open"] is False
    ]
    if orphans:
        text += f"; opened for a trade that has closed: {_named(orphans)}"
    foreign = [str(r["ticket"]) for r in rows if not r["opened_by_run"]]
    if foreign:
        text += (
            f"; not opened by this run as far as it knows (open before it started, opened "
            f"by hand or by another program, or an order of unknown outcome that executed "
            f"later): {_named(foreign)}"
        )
    return text


def failed_actions_note(summary: Mapping[str, Any]) -> str | None:
    """Why actions failed, by result code with the first message of each (the table's
    row says how many of each kind)."""
    why = summary.get("actions_failed_why") or {}
    if not summary.get("actions_failed") or not why:
        return None
    each = "; ".join(f"{code} {w['count']:,} (the first: {w['first']})" for code, w in why.items())
    return f"actions failed by result: {each}"
