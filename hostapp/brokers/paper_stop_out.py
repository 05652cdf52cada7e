"""The paper account's stop-out: at a bar's close, equity at or below zero closes every
open position at its symbol's quote, as a broker's margin stop-out would.

The paper account keeps no margin, so zero equity is its stop-out level: the account is
wiped out there, and every order after it is refused for want of money
(:meth:`~.paper_orders.PaperOrders.open`). Without the stop-out a bust account held its
losing positions on, its balance sank below zero, and the run's "max drawdown %" read
over 100 % with nothing said (a long EURUSD replay ended at a balance of −72.13).

hookspecs' ``CloseReason`` has no word for a stop-out (and hookspecs is the contract, not
changed for the paper broker): the plugins hear ``external``, as they do of a MetaTrader
stop-out (docs/mt5.md), the deal is booked as ``stop_out``, and the run's summary says
it in a note (:attr:`StopOut.note`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hookspecs import CloseReason, Trade

from .paper_ledger import PaperLedger

#: what the plugins hear of a position the stop-out closed (hookspecs has no stop-out)
STOP_OUT_REASON: CloseReason = "external"


@dataclass
class StopOut:
    """When the account was first wiped out (equity at or below zero at a bar's close),
    its equity then, how many positions the stop-out closed in the run and how many bars
    came after it.
    ``start_balance``: the account's balance when the run began; at or below zero, an
    earlier run on its account file wiped it out, not this one."""

    when: datetime | None = None
    equity: float = 0.0
    positions: int = 0
    start_balance: float = 1.0
    #: the bars the broker was given after ``when`` (every symbol's): never traded
    bars_after: int = 0

    @property
    def note(self) -> str | None:
        """The run summary's sentence: the account wiped out, and what followed."""
        if self.when is None:
            return None
        closed = ""
        if self.positions:
            n = self.positions
            closed = (
                f", and the paper broker stopped out {n:,} position{'s' if n > 1 else ''} "
                "(closed at the quote of the bar's close: the paper account has no margin, "
                "so zero equity is its stop-out level; the plugins heard 'external', "
                "hookspecs having no close reason for a stop-out)"
            )
        if self.start_balance <= 0:  # a live run on an account file an earlier run emptied
            return (
                "the paper account was already wiped out when the run began: its balance "
                f"was {self.start_balance:,.2f} (an earlier run on its account file){closed}; "
                "every order was refused for want of money: give the run another "
                "[host.paper] account_file, or delete this one to start afresh"
            )
        return (
            f"the paper account was wiped out: its equity was {self.equity:,.2f} at the "
            f"close of the bar ending {self.when:%Y-%m-%d %H:%M} UTC{closed}; every order "
            "after it was refused for want of money, and a balance below zero is why the "
            "max drawdown % can read over 100 %"
        )


class PaperStopOut(PaperLedger):
    """The stop-out check of :class:`~hostapp.brokers.paper.PaperBroker`'s bars."""

    stop_out: StopOut

    def _stop_out(self, when: datetime) -> list[tuple[Trade, CloseReason]]:
        """Close every position when the equity at ``when`` (a bar's close, every quote
        as the account has it) is at or below zero; the closes, as the bars' are given
        to the loop. Called inside the bar's write transaction."""
        store = self._store
        equity = store.balance() + self._floating()  # as an order's check reads it
        if equity > 0:
            return []
        if self.stop_out.when is None:
            self.stop_out.when, self.stop_out.equity = when, round(equity, 2)
        closed: list[tuple[Trade, CloseReason]] = []
        for pos in store.positions():
            quote = store.quote(pos.symbol)
            if quote is None:  # never priced: nothing to close it at
                continue
            price = quote.bid if pos.direction == "buy" else quote.ask
            deal = self._book(pos, pos.volume, price, when, "stop_out")
            closed.append((self._position_closed(deal), STOP_OUT_REASON))
        self.stop_out.positions += len(closed)
        return closed
