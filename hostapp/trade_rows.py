"""``trades.csv``: one row per trade of a run (:class:`~hostapp.outcomes.Outcome`), the one
layout of a plain run's report, a live run's and an A/B's (README, "trades.csv")."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from .outcomes import Outcome
from .report_files import write_whole

TRADE_COLUMNS = (
    "comparison",
    "run",
    "pair",
    "ticket",
    "symbol",
    "direction",
    "volume",
    "opened_at",
    "closed_at",
    "hours_held",
    "entry_price",
    "initial_stop",
    "take_profit",
    "exit_price",
    "close_reason",
    "profit",
    "r",
    "floating_profit",
    "floating_r",
    "states",
    "actions",
)


def trade_rows(
    comparison: str, run: str, trades: Sequence[Outcome], pair_of: Mapping[int, int]
) -> list[dict[str, Any]]:
    """``trades.csv`` rows of one run; ``pair_of`` maps a ticket to its pair number. A
    trade open at the end is marked so (``close_reason`` ``open``, no ``closed_at``): its
    ``profit`` is what it realised so far, ``floating_profit`` what its open positions
    float at (the rows' sum is the table's "P&L (open positions)") and ``floating_r``
    the R it stands at; ``r`` stays empty, as the paired figures count closed trades."""
    rows = []
    for t in trades:
        held = t.hours_held
        rows.append(
            {
                "comparison": comparison,
                "run": run,
                "pair": pair_of.get(t.ticket, ""),
                "ticket": t.ticket,
                "symbol": t.symbol,
                "direction": t.direction,
                "volume": t.volume,
                "opened_at": t.opened_at.isoformat(),
                "closed_at": t.closed_at.isoformat() if t.closed_at else "",
                "hours_held": round(held, 4) if held is not None else "",
                "entry_price": t.entry_price,
                "initial_stop": t.initial_stop if t.initial_stop is not None else "",
                "take_profit": t.take_profit if t.take_profit is not None else "",
                "exit_price": t.exit_price if t.exit_price is not None else "",
                "close_reason": t.close_reason,
                "profit": t.profit,
                "r": repr(t.r) if t.r is not None else "",
                "floating_profit": t.floating if t.floating is not None else "",
                "floating_r": repr(t.floating_r) if t.floating_r is not None else "",
                "states": t.states,
                "actions": t.actions,
            }
        )
    return rows


def write_trade_rows(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """``trades.csv``: ``rows`` (:func:`trade_rows`) under :data:`TRADE_COLUMNS`, the one
    layout of a plain run's report and an A/B's."""

    def write(out: TextIO) -> None:
        writer = csv.DictWriter(out, fieldnames=TRADE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)

    write_whole(path, write)
    return path
