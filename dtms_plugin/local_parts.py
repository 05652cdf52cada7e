"""What a partial close realised, and when: the local strategy's measure of it for the
daily loss rail (docs/dtms.md §7), which counts each part of a trade's result on the UTC
day it was realised, not on the day the trade closes.

Why the balance: the broker books a closing deal's result (its profit, with its
commission and swap) to the balance as it fills, and says nothing else of it until the
whole position closed (``on_trade_closed`` then gives the profit of all its deals; an
``ActionResult`` carries no profit). Read just before and just after the close, the
balance moved by that deal's result. A read that fails leaves the part unmeasured: its
money is then counted with the trade's close, as before.
"""

from __future__ import annotations

import logging
from datetime import datetime

from hookspecs import Action, ActionKind, ActionResult, BrokerError, HostView

from .engine import JournalStatus, TradeRecord, realised_part


def balance_before(host: HostView, action: Action, log: logging.Logger) -> float | None:
    """The balance before ``action`` is sent, when it is a partial close (``None`` for
    any other action, or when the broker cannot say)."""
    if action.kind is not ActionKind.PARTIAL_CLOSE:
        return None
    return _balance(host, log)


def with_partial(
    host: HostView,
    rec: TradeRecord,
    action: Action,
    result: ActionResult,
    before: float | None,
    now: datetime,
    log: logging.Logger,
) -> TradeRecord:
    """``rec`` with the result of its partial close (``action``, done) as a part realised
    at ``now``: the balance's move across the close."""
    if before is None:
        return rec
    entry = rec.entry(action.key)
    if entry is None or entry.status is not JournalStatus.DONE or not result.ok:
        return rec
    after = _balance(host, log)
    if after is None:
        return rec
    return realised_part(rec, now, round(after - before, 2))


def _balance(host: HostView, log: logging.Logger) -> float | None:
    try:
        return host.broker.account().balance
    except BrokerError as exc:
        log.warning("DTMS: a partial close's result unmeasured (the balance unread): %s", exc)
        return None
