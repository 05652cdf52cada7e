"""What a plugin's say over entries did in an A/B's full run, apart from its trade
management (README.md, "The A/B replay"): the baseline's trades the full run did not
take, split by why, and the full run's own trades the baseline never took.

A vetoed entry is the plugin's doing; an order the broker refused is not (an account
gone bust refuses every order for want of money, whoever manages the trades), and the
two were one count, their R one sum, before: the row read as what the vetoes did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .outcomes import Outcome, pair

#: an entry the full run proposed and did not open (``LoopStats.missed``)
Missed = tuple[datetime, str, str, tuple[str, str]]


def entry_effect(
    without: Sequence[Outcome], full: Sequence[Outcome], missed: Sequence[Missed], vetoed: int
) -> dict[str, Any]:
    """The baseline's (``without``) trades the full run did not take and the R they made
    in the baseline, split by why (:func:`not_taken_why`), and the full run's own trades
    the baseline never took, with the R they made in it. Entries match by time, symbol
    and side: with sizing by risk the two runs' volumes part as soon as their balances
    do."""
    pairs, _ = pair(without, full, same_volume=False)
    taken = {id(p.without) for p in pairs}
    skipped = [t for t in without if id(t) not in taken]
    rs = [t.r for t in skipped if t.r is not None]
    own = {id(p.with_) for p in pairs}
    new_rs = [t.r for t in full if id(t) not in own and t.r is not None]
    return {
        "not_taken": len(skipped),
        "not_taken_r": round(sum(rs), 4),
        "not_taken_avg_r": round(sum(rs) / len(rs), 4) if rs else None,
        "not_taken_why": not_taken_why(skipped, missed),
        "new_trades": len(full) - len(pairs),
        "new_trades_r": round(sum(new_rs), 4),  # closed ones' (an open trade has no R yet)
        "vetoed": vetoed,
    }


def not_taken_why(skipped: Sequence[Outcome], missed: Sequence[Missed]) -> list[dict[str, Any]]:
    """The baseline's trades not taken, by why the full run did not open them (its
    ``missed`` entries, matched by time, symbol and side): ``why`` is ``vetoed`` (``by``
    the plugin), ``refused`` (``by`` the broker's result code), ``netted`` (``by`` what the
    order did to a netting account's position instead) or ``not_proposed`` (the
    strategy's state differed there: an earlier trade still open); each with how many
    and their R in the baseline, the most frequent first."""
    causes: dict[tuple[datetime, str, str], list[tuple[str, str]]] = {}
    for when, symbol, direction, reason in missed:
        causes.setdefault((when, symbol, str(direction)), []).append(reason)
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for t in skipped:
        found = causes.get((t.opened_at, t.symbol, str(t.direction)))
        cause = found.pop(0) if found else ("not_proposed", "")
        groups.setdefault(cause, []).append(t)
    out = []
    for (why, by), trades in sorted(groups.items(), key=lambda g: -len(g[1])):
        rs = [t.r for t in trades if t.r is not None]
        out.append({"why": why, "by": by, "trades": len(trades), "r": round(sum(rs), 4)})
    return out


def cause_label(cause: Mapping[str, Any]) -> str:
    """Why some baseline trades were not taken, as the A/B table's row says it."""
    if cause["why"] == "vetoed":
        return f"vetoed by {cause['by'] or 'a plugin'}"
    if cause["why"] == "refused":
        return f"refused by the broker: {cause['by']}"
    if cause["why"] == "netted":
        return f"netted into the open position: {cause['by']}"
    return "not proposed in the full run"
