"""A fake ``MetaTrader5`` API that enforces the trade server's rules.

It is written from MetaTrader's documented behaviour, independently of the adapter (no
import from ``hostapp``), so an adapter that breaks a rule fails here as it would against a
terminal: constants and retcodes carry the real values; requests with missing, unknown or
wrongly typed fields are refused; any argument that is not a plain Python value raises (the
mt5linux client sends arguments as their ``repr``, so a numpy float or an enum cannot cross);
a request's volume must sit on ``volume_step`` within min/max (what a partial close
leaves is not checked, and a position's whole volume always closes); prices on the tick
grid; stops obey the stops level and the side of price; positions inside the freeze level
are frozen; the filling type must suit the symbol's execution mode and ``filling_mode``
bitmask (else
10030); Instant and Request execution requote beyond ``deviation``, Market and Exchange
execution fill at the market price, ``slippage`` points worse when set; netting accounts
net an opposite deal. Every execution leaves an order ticket and a deal in the history
(``history_deals_get``; ``ticket=`` asks for an order's deals), as the server does, deals
numbered apart from orders, and the history may lag. A closed market (``market_open``)
refuses every request, stop changes too, with 10018; a symbol with bid and ask 0 has no
quote yet (its tick is all zeros). ``after_send`` lets another program act on the account
between a send and the caller's next call. Faults are scripted:
a retcode instead of execution, execution followed by 10012 or ``None`` (a timeout that
actually executed), an order that lands ``delay`` seconds later (visible in ``orders_get``
meanwhile), or a partial fill. Asked for (each off by default): stops and targets the price
reaches close their position with a deal of reason SL/TP (``trigger_levels``), a hedging
account refuses opposite positions with 10046 (``hedge_prohibited``), a position's
identifier differs from its ticket (``add_position(identifier=)``), the rollover charges a
swap by re-opening a position under a new ticket, its identifier kept (``reopen``),
``positions_get()`` answers nothing while positions are open (``empty_positions_get``).
A RETURN order the book fills only in part leaves its rest working, to fill later or be
cancelled with ``TRADE_ACTION_REMOVE`` (:mod:`.working`). ``mt5linux_module`` stands in
for the mt5linux package: each client over its own connection, closed for good when the
bridge drops, and an answer the bridge can lose after the terminal acted (:mod:`.linux`).
Time moves only through :meth:`FakeMT5.advance`, which tests pass as the adapter's
``sleep``.
"""

from __future__ import annotations

from .linux import Bridge, RpycConnection, mt5linux_module
from .model import FakePosition, FakeSymbol, Fault, InFlight
from .server import as_done
from .shapes import CONSTANTS, RETCODES, TIMEFRAMES, check_plain
from .terminal import FakeMT5

__all__ = [
    "CONSTANTS",
    "RETCODES",
    "TIMEFRAMES",
    "Bridge",
    "FakeMT5",
    "FakePosition",
    "FakeSymbol",
    "Fault",
    "InFlight",
    "RpycConnection",
    "as_done",
    "check_plain",
    "mt5linux_module",
]
