"""An order whose outcome ``order_send`` could not say, looked for on the server and never
sent again (docs/mt5.md, "What happens when the terminal does not answer").

A timeout, a lost connection or 10008 on a market deal leaves the deal's fate open: it
may have executed, may still wait on the server, or may never have arrived. Sending it
again could open a second position, so :class:`Awaiting` looks for it in the server's
records (:mod:`.mt5_resolve` says how a deal is recognised) until ``resolve_seconds``
have passed, and when it stays unknown reports it and flags it for attention. Apart from
:class:`~.mt5_orders.OrderSender`, whose half this is, because it is the one part of
sending that waits and keeps memory across operations: the deals already accounted for,
the fills read from the positions before the history showed them, and the operations
still unknown, whose deals may land late and must not answer for a later one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hookspecs import ActionResult, BrokerError, ResultCode

from .mt5_resolve import (
    HISTORY_MARGIN,
    Fill,
    Footprint,
    claim_deals,
    find_deals,
    find_in_positions,
    still_waiting,
)
from .mt5_retcodes import UNREAD
from .mt5_settings import Mt5Settings

#: The sender's logger (:mod:`.mt5_orders`): all that sending an order says, under one name.
log = logging.getLogger("hostapp.brokers.mt5_orders")

#: Seconds between two looks at the server's records while an outcome is unknown.
POLL_SECONDS = 0.5
#: Fills read from the positions whose deals are still looked for in the history, and
#: operations of unknown outcome whose deals may still land.
MAX_UNCLAIMED = 20


class Awaiting:
    """The server-side search of :class:`~.mt5_orders.OrderSender`, which sets every
    attribute declared here."""

    api: Any
    settings: Mt5Settings
    _sleep: Callable[[float], None]
    _server_now: Callable[[], int]
    #: Deals already accounted for: none may answer for a later operation.
    seen_deals: set[int]
    #: Fills read from the positions whose deals the history did not show yet.
    unclaimed: list[tuple[Footprint, Fill]]
    #: Deal operations whose outcome stayed unknown: their deals may land later, and
    #: must not be taken for a later operation's (:func:`~.mt5_resolve.find_deals`).
    pending: list[Footprint]
    #: Operations whose outcome stayed unknown, with how many times each did: someone
    #: must look at the terminal.
    unresolved: dict[str, int]
    #: What identifies each of them on the server (its last time), for :meth:`landed`.
    unresolved_by: dict[str, tuple[Footprint, int | None, bool]]

    def _await(
        self,
        label: str,
        settle: Callable[[Fill, str], ActionResult],
        hedging: bool,
        fp: Footprint,
        order: int | None,
        message: str,
    ) -> ActionResult:
        """Look for the deal of operation ``label`` in the server's records until
        ``resolve_seconds`` have passed; never send it again. Deals are the evidence;
        positions stand in while the history lags; an order still waiting keeps the
        outcome open. A fill found is ``settle``d as the operation's answer would have
        been; ``hedging``: the account's margin mode (how positions answer)."""
        waited = 0.0
        trouble = ""
        while True:
            try:
                self._claim()
                now = self._server_now()
                others = [p for p in self.pending if p.since >= now - HISTORY_MARGIN]
                fill = find_deals(self.api, fp, order, self.seen_deals, now, hedging, others)
                if fill is None:
                    fill = find_in_positions(self.api, fp, hedging, others, order)
                    if fill is not None:
                        self.unclaimed.append((fp, fill))
                        del self.unclaimed[:-MAX_UNCLAIMED]  # a history that never shows them
                if fill is not None:
                    self.seen_deals.update(fill.deals)
                    return annotated(settle(fill, message), "; found on the server")
                waiting = still_waiting(self.api, fp, order)
                trouble = ""
            except UNREAD as exc:  # the bridge lost: no news
                waiting, trouble = True, f"; the records could not be re-read ({_said(exc)})"
            if waited >= self.settings.resolve_seconds:
                break
            step = min(POLL_SECONDS, self.settings.resolve_seconds - waited)
            self._sleep(step)
            waited += step
        state = "still waiting on the server" if waiting else "no deal, order or position"
        self.pending.append(fp)
        del self.pending[:-MAX_UNCLAIMED]
        times = self.unresolved[label] = self.unresolved.get(label, 0) + 1
        self.unresolved_by[label] = (fp, order, hedging)
        if times == 1:  # a repeat (the same close asked every cycle) is counted only
            log.error("%s: outcome unknown after %.1f s; not re-sent", label, waited)
        return ActionResult.failure(
            ResultCode.UNKNOWN_OUTCOME,
            f"{message}{trouble}; {state} after {waited:g} s: not sent again, it may still "
            "execute; check the terminal (flagged for attention)",
        )

    def landed(self, label: str) -> str:
        """What the server's history shows of operation ``label`` (its outcome unknown)
        since: "executed since (lots, deals)" once its deals landed, else "" (nothing
        yet, or the history could not be read). The run's summary lists the operations
        to check; one that filled late was listed as if nothing had been learnt of it."""
        known = self.unresolved_by.get(label)
        if known is None:
            return ""
        fp, order, hedging = known
        try:
            now = self._server_now()
            others = [p for p in self.pending if p is not fp and p.since >= now - HISTORY_MARGIN]
            fill = find_deals(self.api, fp, order, self.seen_deals, now, hedging, others)
        except UNREAD:
            return ""
        if fill is None:
            return ""
        deals = ", ".join(map(str, fill.deals))
        return f"executed since ({fill.volume:g} lots, deal{'s' * (len(fill.deals) > 1)} {deals})"

    def _claim(self) -> None:
        """Mark the deals of fills read from the positions as accounted for, once the
        history shows them, so they never answer for this operation."""
        for fp, fill in list(self.unclaimed):
            deals = claim_deals(self.api, fp, fill, self.seen_deals)
            if deals:
                self.seen_deals.update(deals)
                self.unclaimed.remove((fp, fill))


def _said(exc: Exception) -> str:
    """A BrokerError's own words; a transport error's with its type (EOFError's alone
    say little: "stream has been closed")."""
    return str(exc) if isinstance(exc, BrokerError) else f"{type(exc).__name__}: {exc}"


def annotated(result: ActionResult, suffix: str) -> ActionResult:
    """``result`` with ``suffix`` added to its message (how its outcome was learnt)."""
    return replace(result, message=result.message + suffix)
