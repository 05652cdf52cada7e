"""The closes a killed live run reported nowhere: between its last interim report and the
kill (the report is rewritten within 5 s of a close, :mod:`hostapp.live_interim`), a
trade may close for good. It is in the paper account's history and its balance, in no
``trades.csv`` and no summary, and the next run's start balance differs from the kept
report's end by its result with no word. The next start names them, with their results.

A live run notes, before it trades, where the account's history stood
(``account_history_mark``: the account's login and the id of its last deal, in every
report of the run), and its interim reports name the positions open at its start that
closed since (``carried_closed``: no row of ``trades.csv`` has them). The account's deals
after the mark are summed by trade, those of positions opened for a trade (a hedge's, a
re-add's) with it, as ``trades.csv`` folds them: a trade the kept ``trades.csv`` shows
closed, a carried one it counted and one open now (the next run reports it) are left
out; of a trade it shows open, what its row had realised already (a partial close) is
taken off. A run killed before its first report was written has its report written at
once, at its start (:mod:`hostapp.live_interim`). A mark of another account (the
account file replaced, the report folder kept) names nothing. A kept report without a
mark (an older version's) is read by its rows: the deals of its tickets and of later
ones (a paper account numbers its positions in order).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .brokers.paper_account_reads import read_only
from .outcomes import defended_ticket


def history_mark(account: str | Path) -> dict[str, int] | None:
    """Where the paper account's history stands: its login and the id of its last deal
    (0: none yet); None when it cannot be read."""
    read = read_only(
        account,
        ("SELECT value FROM meta WHERE key = 'login'", ()),
        ("SELECT COALESCE(MAX(id), 0) FROM history", ()),
    )
    if read is None or not read[0]:
        return None
    try:
        return {"login": int(read[0][0][0]), "last_deal": int(read[1][0][0])}
    except (TypeError, ValueError):  # a login edited into no number: no mark to keep
        return None


def unreported_closes(
    account: str | Path, kept_trades: Path, kept_summary: Mapping[str, Any] | None = None
) -> dict[int, float]:
    """Per trade, the result the account booked for it that the kept ``trades.csv`` and
    ``kept_summary`` of a killed run do not show (module docstring); empty when it cannot
    tell (an unreadable account, another account's mark; without a mark, no rows)."""
    try:
        with kept_trades.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, csv.Error, UnicodeDecodeError):
        rows = []
    kept = kept_summary or {}
    carried = kept.get("carried_closed")
    shown = {_ticket(r) for r in rows if r.get("close_reason") not in (None, "open")}
    shown |= {t for t in carried if isinstance(t, int)} if isinstance(carried, list) else set()
    realised = {
        _ticket(r): _money(r.get("profit")) for r in rows if r.get("close_reason") == "open"
    }
    mark = kept.get("account_history_mark")
    if _whole(mark):  # the mark's first form, its last deal alone: no login to check
        mark = {"last_deal": mark}
    if isinstance(mark, Mapping):
        at = history_mark(account)
        login = mark.get("login", at["login"] if at else None)
        if at is None or login != at["login"] or not _whole(mark.get("last_deal")):
            return {}  # another account's report (or edited): its deals are not these
        deals_after = (
            "SELECT ticket, profit, comment FROM history WHERE id > ?",
            (mark["last_deal"],),
        )
    else:
        tickets = [_ticket(r) for r in rows if (r.get("ticket") or "").isdigit()]
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
    entries = shown | realised.keys()  # a row's ticket is its own trade, whatever its comment
    by_trade: dict[int, float] = defaultdict(float)
    for ticket, profit, comment in deals:
        ticket = int(ticket)
        parent = ticket if ticket in entries else defended_ticket(comment) or ticket
        by_trade[parent] += float(profit)
    missing = {
        t: round(total - realised.get(t, 0.0), 2)
        for t, total in by_trade.items()
        if t not in shown and t not in open_now
    }
    return {t: p for t, p in sorted(missing.items()) if p or t not in realised}


def _ticket(row: Mapping[str, Any]) -> int:
    text = row.get("ticket") or ""
    return int(text) if text.isdigit() else -1


def _money(text: object) -> float:
    try:
        return float(text) if isinstance(text, str) and text else 0.0
    except ValueError:
        return 0.0


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
