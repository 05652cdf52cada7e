"""The closes a killed live run reported nowhere: between its last interim report and the
kill (the report is rewritten within 5 s of a close, :mod:`hostapp.live_interim`), a
trade may close for good. It is in the paper account's history and its balance, in no
``trades.csv`` and no summary, and the next run's start balance differs from the kept
report's end by its result with no word. The next start names them, with their results.

The kept report's rows say which trades it covered: the account's closing deals of its
tickets and of later ones (a paper account numbers its positions in order) that it does
not show closed are the missing ones, the deals of positions opened for a trade (a
hedge's, a re-add's: ``trades.csv`` folds them into their trade) left out.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from .brokers.paper_account_reads import read_only
from .order_comments import reserved


def unreported_closes(account: str | Path, kept_trades: Path) -> dict[int, float]:
    """Per ticket, the result the account booked for a trade the kept ``trades.csv`` of a
    killed run does not show closed; empty when it cannot tell (no rows, no file)."""
    try:
        with kept_trades.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, csv.Error, UnicodeDecodeError):
        return {}
    tickets = [int(r["ticket"]) for r in rows if (r.get("ticket") or "").isdigit()]
    if not tickets:
        return {}
    shown = {int(r["ticket"]) for r in rows if r.get("close_reason") not in (None, "open")}
    read = read_only(
        account,
        ("SELECT ticket, profit, comment FROM history WHERE ticket >= ?", (min(tickets),)),
        ("SELECT ticket FROM positions", ()),
    )
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
