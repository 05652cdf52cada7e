"""The closes a killed live run reported nowhere: between its last interim report and the
kill (the report is rewritten within 5 s of a close, :mod:`hostapp.live_interim`), a
trade may close for good. It is in the paper account's history and its balance, in no
``trades.csv`` and no summary, and the next run's start balance differs from the kept
report's end by its result with no word. The next start names them, with their results.

A live run notes, before it trades, where the account's history stood
(``account_history_mark``: the id of its last deal, in every report of the run), and its
interim reports name the positions open at its start that closed since
(``carried_closed``: no row of ``trades.csv`` has them). The missing closes are the
account's deals after the mark of a trade the kept ``trades.csv`` does not show closed,
not carried and not open now (the next run reports those), the deals of positions opened
for a trade (a hedge's, a re-add's: ``trades.csv`` folds them into their trade) left out.
A run killed before its first report was written has its report written at once, at its
start (:mod:`hostapp.live_interim`). A kept report without a mark (an older version's)
is read by its rows: the deals of its tickets and of later ones (a paper account numbers
its positions in order).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .brokers.paper_account_reads import read_only
from .order_comments import reserved


def history_mark(account: str | Path) -> int | None:
    """The id of the paper account's last deal (0: none yet); None when it cannot be read."""
    read = read_only(account, ("SELECT COALESCE(MAX(id), 0) FROM history", ()))
    return None if read is None else int(read[0][0][0])


def unreported_closes(
    account: str | Path, kept_trades: Path, kept_summary: Mapping[str, Any] | None = None
) -> dict[int, float]:
    """Per ticket, the result the account booked for a trade the kept ``trades.csv`` and
    ``kept_summary`` of a killed run do not show closed (module docstring); empty when
    it cannot tell (an unreadable account; without a mark, no rows)."""
    try:
        with kept_trades.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, csv.Error, UnicodeDecodeError):
        rows = []
    kept = kept_summary or {}
    mark = kept.get("account_history_mark")
    carried = kept.get("carried_closed")
    shown = {int(r["ticket"]) for r in rows if r.get("close_reason") not in (None, "open")}
    shown |= {t for t in carried if isinstance(t, int)} if isinstance(carried, list) else set()
    if isinstance(mark, int) and not isinstance(mark, bool):
        deals_after = ("SELECT ticket, profit, comment FROM history WHERE id > ?", (mark,))
    else:
        tickets = [int(r["ticket"]) for r in rows if (r.get("ticket") or "").isdigit()]
        if not tickets:
            return {}
        deals_after = (
            "SELECT ticket, profit, comment FROM history WHERE ticket >= ?",
            (min(tickets),),
        )
    read = read_only(account, deals_after, ("SELECT ticket FROM positions", ()))
    if read is None:
        return {}
    deals, still_open = read
    open_now = {int(t) for (t,) in still_open}  # carried over: the next run reports them
    missing: dict[int, float] = defaultdict(float)
    for ticket, profit, comment in deals:
        if int(ticket) not in shown and int(ticket) not in open_now and not reserved(comment):
            missing[int(ticket)] += float(profit)
    return {t: round(p, 2) for t, p in sorted(missing.items())}


def gap_line(missing: dict[int, float], kept: str) -> str | None:
    """The start's line naming ``missing`` (:func:`unreported_closes`), or None."""
    if not missing:
        return None
    shown = ", ".join(f"{t} ({p:+,.2f})" for t, p in list(missing.items())[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    n = len(missing)
    return (
        f"{n} trade{'s' if n > 1 else ''} closed after the run before's last report and "
        f"{'are' if n > 1 else 'is'} in no report, only in the account's history and "
        f"balance: ticket {shown}{more} (total {sum(missing.values()):+,.2f}; {kept} "
        "ends before them)"
    )
