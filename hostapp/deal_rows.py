"""``deals.csv``: the account's closing deals of a simulated run, one row each, so the
figures made of them can be recomputed from the report folder alone.

``trades.csv`` puts a trade's whole result at its last close; the drawdown counts each
close when it happened, a partial close or a hedge's too (README, "max drawdown"), which
a reader could only rebuild from the log. Here every deal the broker booked: the position
(a hedge's and a re-add's under their own tickets, their comments saying whose), its lots,
its prices and times, and its profit in the account's currency.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from hookspecs import Trade

from .close_times import close_order
from .report_files import saved_csv

#: the file's name in a report folder, as ``summary.json``'s ``deals_csv`` names it
DEALS_CSV = "deals.csv"

DEAL_COLUMNS = (
    "comparison",
    "run",
    "ticket",
    "symbol",
    "direction",
    "volume",
    "opened_at",
    "entry_price",
    "closed_at",
    "close_price",
    "profit",
    "comment",
)


def deal_rows(comparison: str, run: str, closed: Sequence[Trade]) -> list[dict[str, Any]]:
    """``deals.csv`` rows of one run's closed deals, in the order they closed (those of
    one time as they opened, then by symbol and ticket: never by the order of the files)."""
    ordered = sorted(closed, key=close_order)  # the order of the figures' trades too
    return [
        {
            "comparison": comparison,
            "run": run,
            "ticket": d.ticket,
            "symbol": d.symbol,
            "direction": d.direction,
            "volume": d.volume,
            "opened_at": d.opened_at.isoformat(),
            "entry_price": d.entry_price,
            "closed_at": d.closed_at.isoformat() if d.closed_at else "",
            "close_price": d.close_price if d.close_price is not None else "",
            "profit": d.profit,
            "comment": d.comment,
        }
        for d in ordered
    ]


def save_deals_csv(
    folder: Path, rows: Sequence[Mapping[str, Any]], summary: MutableMapping[str, Any]
) -> list[str]:
    """``rows`` written whole as ``folder``'s ``deals.csv`` and named in ``summary``
    (``deals_csv``: null when it could not be written, so the summary names no file the
    folder lacks); the lines saying why it could not be. A single run's report and an
    A/B's both write it so (docs/architecture.md: every simulated report has it)."""
    lost = saved_csv(folder / DEALS_CSV, DEAL_COLUMNS, rows)
    summary["deals_csv"] = None if lost else DEALS_CSV
    return lost
